"""Authorize requests waiting for login or consent, bound to one browser session (DESIGN §6)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import and_, delete, insert, select, update

from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import pending_authorizations as pending

_REQUEST_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")

# Long enough to log in, short enough that an abandoned request does not linger.
PENDING_TTL = 600


@dataclass(frozen=True, slots=True)
class Pending:
    id: str
    params: dict[str, str]
    decision: str | None
    user_id: int | None


class SqlPending:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, binding: str, params: dict[str, str], now: int) -> str:
        request_id = secrets.token_urlsafe(24)
        with self._store.transaction() as conn:
            conn.execute(pending.delete().where(pending.c.expires_at <= now))
            conn.execute(
                insert(pending).values(
                    id=request_id,
                    session_binding=binding,
                    params=json.dumps(params),
                    expires_at=now + PENDING_TTL,
                )
            )
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

    def finish(self, request_id: str) -> bool:
        """Delete the request; False if another tab already finished it (single use)."""
        with self._store.transaction() as conn:
            result = conn.execute(delete(pending).where(pending.c.id == request_id))
        return bool(result.rowcount)
