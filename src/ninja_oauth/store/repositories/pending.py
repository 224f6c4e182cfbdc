"""Authorize requests waiting for login or consent, bound to one browser (DESIGN §6).

Anyone may start one (an anonymous GET of the authorize endpoint), so what they can hold is
bounded (issue 12, finding 1): a request's parameters are capped in size, each browser keeps
only its newest few (older ones are dropped, as if abandoned), an address with its share
waiting is refused new ones until the oldest expires, and expired rows go in small batches
through the ``expires_at`` index, never in a scan of the table.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from ninja_oauth.limits import PendingLimits
from ninja_oauth.oauth.throttling import limited_address
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import pending_authorizations as pending

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Long enough to log in, short enough that an abandoned request does not linger.
PENDING_TTL = 600
# Expired rows deleted by one new request (the periodic purge takes the rest, in batches too).
EXPIRED_BATCH = 50


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    params: dict[str, str]
    decision: str | None
    user_id: int | None


def delete_expired(conn: Connection, now: int, batch: int) -> int:
    """At most ``batch`` expired rows, found through the index."""
    oldest = select(pending.c.id).where(pending.c.expires_at <= now).limit(batch)
    return int(conn.execute(delete(pending).where(pending.c.id.in_(oldest))).rowcount)


class SqlPending:
    def __init__(self, store: Store, limits: PendingLimits | None = None) -> None:
        self._store = store
        self.limits = limits or PendingLimits()

    def too_large(self, params: dict[str, str]) -> bool:
        return len(json.dumps(params)) > self.limits.max_bytes

    def create(self, binding: str, params: dict[str, str], now: int, address: str) -> str:
        """Keep ``params`` (see ``too_large``: the caller refuses those first). Raises
        AddressFull when the caller's address (``limited_address``: an IPv6 one by its /64)
        already has its share waiting."""
        request_id = secrets.token_urlsafe(24)
        key = limited_address(address)[:64]
        with self._store.transaction() as conn:
            delete_expired(conn, now, EXPIRED_BATCH)
            _refuse_when_full(conn, key, now, self.limits.per_address)
            conn.execute(
                insert(pending).values(
                    id=request_id,
                    session_binding=binding,
                    params=json.dumps(params),
                    expires_at=now + PENDING_TTL,
                    address=key,
                    created_ms=time.time_ns() // 1_000_000,
                )
            )
            # A browser's own oldest requests make way for its new ones.
            _keep_newest(conn, binding, request_id, self.limits.per_browser)
        return request_id

    def get(self, request_id: str, binding: str, now: int) -> Pending | None:
        if not _REQUEST_ID.fullmatch(request_id):  # not one we issued (see create)
            return None
        with self._store.reading() as conn:
            row = conn.execute(
                select(pending).where(
                    and_(
                        pending.c.id == request_id,
                        pending.c.session_binding == binding,
                        pending.c.expires_at > now,
                    )
                )
            ).first()
        if row is None:
            return None
        return Pending(row.id, json.loads(row.params), row.decision, row.user_id)

    def decide(self, request_id: str, binding: str, decision: str, user_id: int) -> bool:
        if not _REQUEST_ID.fullmatch(request_id):
            return False
        with self._store.transaction() as conn:
            result = conn.execute(
                update(pending)
                .where(and_(pending.c.id == request_id, pending.c.session_binding == binding))
                .values(decision=decision, user_id=user_id)
            )
        return bool(result.rowcount)

    def rebind(self, old_binding: str, new_binding: str) -> None:
        """The browser's id changed (sign-in): its pending requests follow it."""
        with self._store.transaction() as conn:
            conn.execute(
                update(pending)
                .where(pending.c.session_binding == old_binding)
                .values(session_binding=new_binding)
            )

    def finish(self, request_id: str) -> bool:
        """Delete the request; False if another tab already finished it (single use)."""
        with self._store.transaction() as conn:
            result = conn.execute(delete(pending).where(pending.c.id == request_id))
        return bool(result.rowcount)


def _keep_newest(conn: Connection, binding: str, newest: str, cap: int) -> None:
    """Drop all but the ``cap`` newest requests of one browser (``newest`` always stays)."""
    older = (
        select(pending.c.id)
        .where(and_(pending.c.session_binding == binding, pending.c.id != newest))
        .order_by(pending.c.created_ms.desc(), pending.c.expires_at.desc())
        .offset(cap - 1)
    )
    conn.execute(delete(pending).where(pending.c.id.in_(older)))


class AddressFull(Exception):
    """An address has as many sign-in requests waiting as it may; ``retry_after`` seconds until
    the oldest of them expires."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many sign-in requests waiting from this address")
        self.retry_after = retry_after


def _refuse_when_full(conn: Connection, key: str, now: int, cap: int) -> None:
    """Refused rather than evicted: evicting the oldest would let one caller behind a shared
    address (a NAT, a proxy) cancel everyone else's sign-in in progress."""
    count, oldest = conn.execute(
        select(func.count(), func.min(pending.c.expires_at)).where(pending.c.address == key)
    ).one()
    if count >= cap:
        raise AddressFull(max(1, int(oldest) - now))
