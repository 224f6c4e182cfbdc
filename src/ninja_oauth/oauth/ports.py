"""The storage the protocol core needs, as narrow ports named by intent (STYLE §3).

``store/repositories`` implements them with SQLAlchemy; core tests use in-memory fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from ninja_oauth.oauth.domain import (
    AccessGrant,
    App,
    AuthorizationCode,
    NewToken,
    RefreshRecord,
    TokenInfo,
    User,
)
from ninja_oauth.oauth.profiles import Profile


class Writes(Enum):
    """What a request's work writes when it succeeds, as its grant or endpoint declares it; the
    store decides from this how to run and commit it (``Store.run``).

    ``APPENDS``: at most new rows (a client_credentials token; nothing at all for an
    introspection), so the store may run it beside other requests and commit their rows
    together. A write of another kind reached on the way (a failed authentication's count)
    makes the store run the work again as ``CHANGES``; nothing was written before that.
    ``CHANGES``: it may change existing rows (redeem a code, rotate a refresh token, revoke):
    one transaction, run where writes are serialized."""

    APPENDS = "appends"
    CHANGES = "changes"


@dataclass(frozen=True, slots=True)
class Consumed:
    code: AuthorizationCode


@dataclass(frozen=True, slots=True)
class AlreadyUsed:
    """The code or refresh token was redeemed before: a replay. ``code``: the used code as it
    was issued, when read to be checked before anything is done (``peek``)."""

    grant_id: str
    client_id: str
    code: AuthorizationCode | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Missing:
    pass


@dataclass(frozen=True, slots=True)
class Rotated:
    record: RefreshRecord


@dataclass(frozen=True, slots=True)
class RefreshFamily:
    """What a refresh token's row says before it is rotated: its family's scope, and whether
    it was used already (presented again, a reuse)."""

    scope: str
    used: bool


@dataclass(frozen=True, slots=True)
class ClientBlocks:
    """The throttle rows read before a client authentication (DESIGN §6), in Unix seconds; 0
    where there is no row."""

    key_until: int = 0  # the block on the (client, address) key ends
    address_until: int = 0  # the block on the address ends
    passed_at: int = 0  # the (client, address) pair last proved the client's secret
    pass_until: int = 0  # that proof exempts the pair from the address's block until then


class AppRepository(Protocol):
    def get(self, client_id: str) -> App | None: ...
    def get_guarded(
        self, client_id: str | None, block_keys: tuple[str, str], pass_key: str
    ) -> tuple[ClientBlocks, App | None]:
        """In one read, what the token endpoint reads first on every request: the blocks and
        the pass of the caller (ThrottleRepository.client_blocks), and the app ``client_id``
        names (None if unknown or not given)."""
        ...

    def add(self, app: App) -> None: ...
    def set_secret_digest(self, client_id: str, digest: str) -> bool: ...
    def set_profile(self, client_id: str, profile: Profile | None) -> bool:
        """The app's own profile (None: the server's); False if there is no such app."""
        ...

    def update(self, app: App) -> bool:
        """Its name, redirect URIs, scopes and grants as ``app`` has them; False if gone."""
        ...

    def delete(self, client_id: str) -> bool: ...
    def list(self) -> list[App]: ...


class UserRepository(Protocol):
    def get(self, user_id: int) -> User | None: ...
    def find_by_email(self, email: str) -> tuple[User, str] | None: ...
    def add(self, email: str, password_hash: str, is_admin: bool) -> User: ...
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...


class CodeRepository(Protocol):
    def save(self, code_digest: str, code: AuthorizationCode) -> None: ...
    def peek(self, code_digest: str, client_id: str) -> Consumed | AlreadyUsed | Missing:
        """The code as it stands, changing nothing (``Consumed`` here: not yet redeemed)."""
        ...

    def consume(
        self, code_digest: str, client_id: str, now: int
    ) -> Consumed | AlreadyUsed | Missing: ...


class TokenRepository(Protocol):
    def save(self, token: NewToken) -> None: ...
    def rotate(
        self, refresh_digest: str, client_id: str, now: int
    ) -> Rotated | AlreadyUsed | Missing: ...
    def refresh_family(self, refresh_digest: str, client_id: str) -> RefreshFamily | None: ...
    def revoke_family(self, client_id: str, grant_id: str, now: int) -> int: ...
    def find_access(self, access_digest: str) -> AccessGrant | None: ...
    def find(
        self, access_digest: str, refresh_digest: str, now: int, hint: str | None
    ) -> TokenInfo | None: ...
    def revoke(self, info: TokenInfo, now: int) -> None: ...


class ConsentRepository(Protocol):
    def granted(self, user_id: int, client_id: str, lock: bool = False) -> set[str]: ...
    def remember(self, user_id: int, client_id: str, scopes: set[str], now: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Counted:
    """A counted attempt: the key's failures with it, its block before it and after it (Unix
    seconds; 0 for none)."""

    failures: int
    blocked_before: int
    blocked_until: int


class ThrottleRepository(Protocol):
    def blocked_for(self, keys: list[str], now: int) -> int:
        """Seconds until the longest block among ``keys`` ends; 0 when none is blocked."""
        ...

    def client_blocks(self, block_keys: tuple[str, str], pass_key: str) -> ClientBlocks:
        """The blocks on the (client, address) key and the address key, and the pair's pass."""
        ...

    def record_failure(self, key: str, limit: int, window: int, block: int, now: int) -> int:
        """Count one failure (atomically); the key's failures in the window, this one included."""
        ...

    def record_attempt(self, key: str, limit: int, window: int, block: int, now: int) -> Counted:
        """``record_failure``, and what the key's block was before it and is after it."""
        ...

    def grant_pass(self, pass_key: str, now: int, until: int) -> None:
        """Record that a (client, address) pair proved the client's secret at ``now``, valid
        ``until`` (a new row or a renewed one; nothing the request's answer depends on)."""
        ...

    def forget(self, key: str) -> None: ...
    def forgive_one(self, key: str, attempt: Counted | None = None) -> None:
        """Take one failure back; with ``attempt``, also the block it set, unless another
        failure has set the key's block since."""
        ...


class AuditLog(Protocol):
    def record(
        self,
        event: str,
        *,
        client_id: str | None = None,
        user_id: int | None = None,
        actor: str | None = None,
        address: str | None = None,
        **detail: object,
    ) -> None:
        """One event; ``actor`` is who did it (an email, ``cli``, ``client:<id>``), ``address``
        from where. ``detail`` never holds a secret."""
        ...


@dataclass(frozen=True, slots=True)
class Repositories:
    apps: AppRepository
    users: UserRepository
    codes: CodeRepository
    tokens: TokenRepository
    consents: ConsentRepository
    throttle: ThrottleRepository
    audit: AuditLog
