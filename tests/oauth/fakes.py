"""In-memory fakes of every port in ``oauth/ports.py`` (fosite's ``storage/memory.go`` idea).

They keep the store's semantics, not just its shape: ``codes.consume`` and ``tokens.rotate`` are
single-use under a lock, ``revoke_family`` counts what it revoked, consents are a union, and the
throttle counts failures in a window and blocks with a doubling delay, as
``store/repositories`` do with SQL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from typing import Any

from ninja_oauth.oauth.domain import (
    AccessGrant,
    App,
    AuthorizationCode,
    NewToken,
    RefreshRecord,
    TokenInfo,
    User,
)
from ninja_oauth.oauth.ports import (
    AlreadyUsed,
    ClientBlocks,
    Consumed,
    Counted,
    Missing,
    RefreshFamily,
    Repositories,
    Rotated,
)
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.scopes import join_scope

MAX_BLOCK = 3600


class FakeClock:
    """Integer Unix seconds that only move when a test says so."""

    def __init__(self, now: int = 1_700_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += seconds


class FakeApps:
    def __init__(self) -> None:
        self.rows: dict[str, App] = {}
        self.throttle: FakeThrottle | None = None  # for get_guarded, set by FakeRepositories

    def get(self, client_id: str) -> App | None:
        return self.rows.get(client_id)

    def get_guarded(
        self, client_id: str | None, block_keys: tuple[str, str], pass_key: str
    ) -> tuple[ClientBlocks, App | None]:
        blocks = self.throttle.client_blocks(block_keys, pass_key) if self.throttle else None
        return blocks or ClientBlocks(), self.rows.get(client_id) if client_id else None

    def add(self, app: App) -> None:
        if app.client_id in self.rows:
            raise ValueError(f"duplicate client_id {app.client_id!r}")
        self.rows[app.client_id] = app

    def set_secret_digest(self, client_id: str, digest: str) -> bool:
        app = self.rows.get(client_id)
        if app is None:
            return False
        self.rows[client_id] = replace(app, secret_digest=digest)
        return True

    def set_profile(self, client_id: str, profile: Profile | None) -> bool:
        app = self.rows.get(client_id)
        if app is None:
            return False
        self.rows[client_id] = replace(app, profile=profile)
        return True

    def update(self, app: App) -> bool:
        if app.client_id not in self.rows:
            return False
        self.rows[app.client_id] = app
        return True

    def delete(self, client_id: str) -> bool:
        return self.rows.pop(client_id, None) is not None

    def list(self) -> list[App]:
        return list(self.rows.values())


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[int, tuple[User, str]] = {}

    def get(self, user_id: int) -> User | None:
        row = self.rows.get(user_id)
        return row[0] if row else None

    def find_by_email(self, email: str) -> tuple[User, str] | None:
        wanted = email.strip().lower()
        for user, password_hash in self.rows.values():
            if user.email == wanted:
                return user, password_hash
        return None

    def add(self, email: str, password_hash: str, is_admin: bool) -> User:
        user = User(len(self.rows) + 1, email.strip().lower(), is_admin)
        self.rows[user.id] = (user, password_hash)
        return user

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        user, _ = self.rows[user_id]
        self.rows[user_id] = (user, password_hash)


@dataclass
class _CodeRow:
    code: AuthorizationCode
    consumed_at: int | None = None


class FakeCodes:
    def __init__(self) -> None:
        self.rows: dict[str, _CodeRow] = {}
        self._lock = threading.Lock()

    def save(self, code_digest: str, code: AuthorizationCode) -> None:
        self.rows[code_digest] = _CodeRow(code)

    def peek(self, code_digest: str, client_id: str) -> Consumed | AlreadyUsed | Missing:
        with self._lock:
            return self._state(code_digest, client_id)

    def consume(
        self, code_digest: str, client_id: str, now: int
    ) -> Consumed | AlreadyUsed | Missing:
        with self._lock:
            found = self._state(code_digest, client_id)
            if isinstance(found, Consumed):
                self.rows[code_digest].consumed_at = now
            return found

    def _state(self, code_digest: str, client_id: str) -> Consumed | AlreadyUsed | Missing:
        row = self.rows.get(code_digest)
        if row is None or row.code.client_id != client_id:
            return Missing()
        if row.consumed_at is not None:
            return AlreadyUsed(grant_id=row.code.grant_id, client_id=client_id, code=row.code)
        return Consumed(row.code)


@dataclass
class TokenRow:
    id: int
    token: NewToken
    refresh_used_at: int | None = None
    revoked_at: int | None = None


class FakeTokens:
    def __init__(self) -> None:
        self.rows: list[TokenRow] = []
        self._lock = threading.Lock()

    def save(self, token: NewToken) -> None:
        with self._lock:
            self.rows.append(TokenRow(len(self.rows) + 1, token))

    def _by_refresh(self, refresh_digest: str, client_id: str) -> TokenRow | None:
        for row in self.rows:
            if row.token.refresh_digest == refresh_digest and row.token.client_id == client_id:
                return row
        return None

    def rotate(
        self, refresh_digest: str, client_id: str, now: int
    ) -> Rotated | AlreadyUsed | Missing:
        with self._lock:
            row = self._by_refresh(refresh_digest, client_id)
            if row is None:
                return Missing()
            if row.refresh_used_at is not None:
                return AlreadyUsed(grant_id=row.token.grant_id, client_id=client_id)
            expires = row.token.refresh_expires_at
            if row.revoked_at is not None or expires is None or expires <= now:
                return Missing()
            row.refresh_used_at = now
            t = row.token
            return Rotated(RefreshRecord(t.client_id, t.user_id, t.refresh_scope or "", t.grant_id))

    def refresh_family(self, refresh_digest: str, client_id: str) -> RefreshFamily | None:
        row = self._by_refresh(refresh_digest, client_id)
        if row is None or row.token.refresh_scope is None:
            return None
        return RefreshFamily(row.token.refresh_scope, row.refresh_used_at is not None)

    def revoke_family(self, client_id: str, grant_id: str, now: int) -> int:
        with self._lock:
            count = 0
            for row in self.rows:
                t = row.token
                if (t.client_id, t.grant_id) == (client_id, grant_id) and row.revoked_at is None:
                    row.revoked_at = now
                    count += 1
            return count

    def find_access(self, access_digest: str) -> AccessGrant | None:
        for row in self.rows:
            t = row.token
            if t.access_digest == access_digest:
                if row.revoked_at is not None:
                    return None
                return AccessGrant(
                    row.id, t.client_id, t.user_id, frozenset(t.scope.split()), t.access_expires_at
                )
        return None

    def find(
        self, access_digest: str, refresh_digest: str, now: int, hint: str | None
    ) -> TokenInfo | None:
        # RFC 7009 §2.1 / RFC 7662 §2.1: the hint orders the search, it does not limit it.
        order = ["access_token", "refresh_token"]
        if hint == "refresh_token":
            order.reverse()
        for kind in order:
            for row in self.rows:
                t = row.token
                if kind == "access_token" and t.access_digest == access_digest:
                    active = row.revoked_at is None and t.access_expires_at > now
                    return _info(row, kind, t.scope, t.access_expires_at, active)
                if kind == "refresh_token" and t.refresh_digest == refresh_digest:
                    expires = t.refresh_expires_at or 0
                    active = row.revoked_at is None and row.refresh_used_at is None
                    return _info(
                        row, kind, t.refresh_scope or t.scope, expires, active and expires > now
                    )
        return None

    def revoke(self, info: TokenInfo, now: int) -> None:
        if info.kind == "refresh_token":
            self.revoke_family(info.client_id, info.grant_id, now)
            return
        for row in self.rows:
            if row.id == info.token_id and row.revoked_at is None:
                row.revoked_at = now

    # -- test conveniences ------------------------------------------------------------------

    def family(self, grant_id: str) -> list[TokenRow]:
        return [row for row in self.rows if row.token.grant_id == grant_id]


def _info(row: TokenRow, kind: str, scope: str, expires: int, active: bool) -> TokenInfo:
    t = row.token
    return TokenInfo(
        row.id, kind, t.client_id, t.user_id, scope, t.grant_id, t.issued_at, expires, active
    )


class FakeConsents:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], tuple[str, int]] = {}

    def granted(self, user_id: int, client_id: str, lock: bool = False) -> set[str]:
        row = self.rows.get((user_id, client_id))
        return set(row[0].split()) if row else set()

    def remember(self, user_id: int, client_id: str, scopes: set[str], now: int) -> None:
        union = self.granted(user_id, client_id) | scopes
        self.rows[(user_id, client_id)] = (join_scope(union), now)


@dataclass
class _Counter:
    failures: int
    window_start: int
    blocked_until: int = 0


class FakeThrottle:
    def __init__(self) -> None:
        self.rows: dict[str, _Counter] = {}

    def blocked_for(self, keys: list[str], now: int) -> int:
        until = max((self.rows[k].blocked_until for k in keys if k in self.rows), default=0)
        return max(0, until - now)

    def client_blocks(self, block_keys: tuple[str, str], pass_key: str) -> ClientBlocks:
        first, second = block_keys
        passed = self.rows.get(pass_key)
        return ClientBlocks(
            key_until=self.rows[first].blocked_until if first in self.rows else 0,
            address_until=self.rows[second].blocked_until if second in self.rows else 0,
            passed_at=passed.window_start if passed else 0,
            pass_until=passed.blocked_until if passed else 0,
        )

    def grant_pass(self, pass_key: str, now: int, until: int) -> None:
        # As the store keeps it: the time of the proof and the end of the pass.
        self.rows[pass_key] = _Counter(failures=0, window_start=now, blocked_until=until)

    def record_failure(self, key: str, limit: int, window: int, block: int, now: int) -> int:
        return self.record_attempt(key, limit, window, block, now).failures

    def record_attempt(self, key: str, limit: int, window: int, block: int, now: int) -> Counted:
        row = self.rows.get(key)
        if row is None:
            row = self.rows[key] = _Counter(failures=1, window_start=now)
        elif row.window_start <= now - window and row.blocked_until <= now - window:
            row.failures, row.window_start = 1, now
        else:
            row.failures += 1
        before = row.blocked_until
        if row.failures >= limit:
            row.blocked_until = now + min(block * 2 ** min(row.failures - limit, 12), MAX_BLOCK)
        return Counted(row.failures, before, row.blocked_until)

    def forget(self, key: str) -> None:
        self.rows.pop(key, None)

    def forgive_one(self, key: str, attempt: Counted | None = None) -> None:
        row = self.rows.get(key)
        if row is not None and row.failures > 0:
            row.failures -= 1
            if attempt is not None and row.blocked_until == attempt.blocked_until:
                row.blocked_until = attempt.blocked_before


@dataclass
class FakeAudit:
    events: list[dict[str, Any]] = field(default_factory=list)

    def record(
        self,
        event: str,
        *,
        client_id: str | None = None,
        user_id: int | None = None,
        **detail: object,
    ) -> None:
        self.events.append({"event": event, "client_id": client_id, "user_id": user_id, **detail})

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]


@dataclass(frozen=True)
class FakeRepositories:
    """The fakes with their concrete types, for tests that look inside them."""

    apps: FakeApps = field(default_factory=FakeApps)
    users: FakeUsers = field(default_factory=FakeUsers)
    codes: FakeCodes = field(default_factory=FakeCodes)
    tokens: FakeTokens = field(default_factory=FakeTokens)
    consents: FakeConsents = field(default_factory=FakeConsents)
    throttle: FakeThrottle = field(default_factory=FakeThrottle)
    audit: FakeAudit = field(default_factory=FakeAudit)

    def __post_init__(self) -> None:
        self.apps.throttle = self.throttle

    def as_ports(self) -> Repositories:
        return Repositories(
            apps=self.apps,
            users=self.users,
            codes=self.codes,
            tokens=self.tokens,
            consents=self.consents,
            throttle=self.throttle,
            audit=self.audit,
        )
