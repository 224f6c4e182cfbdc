"""Signed-in browsers (``browser_sessions``): the cookie carries a random token, the store only
its keyed digest and whose it is. Deleting a row signs that browser out at once."""

from __future__ import annotations

import secrets

from sqlalchemy import and_, delete, insert, select

from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import browser_sessions as sessions

_PURPOSE = "browser-session"


class SqlBrowserSessions:
    def __init__(self, store: Store, hasher: SecretHasher, lifetime: int) -> None:
        self._store = store
        self._hasher = hasher
        self.lifetime = lifetime

    def _digest(self, token: str, area: str) -> str:
        # The area is in the digest's purpose: a token of one area (the sign-in pages, the
        # console, the account pages) finds no session in another.
        return self._hasher.digest(token, f"{_PURPOSE}:{area}" if area else _PURPOSE)

    def start(self, user_id: int, now: int, area: str = "") -> str:
        """A new signed-in session for ``user_id`` in ``area`` ("" for the sign-in pages);
        its token, for the cookie only."""
        token = secrets.token_urlsafe(32)
        with self._store.transaction() as conn:
            conn.execute(
                insert(sessions).values(
                    id_digest=self._digest(token, area),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + self.lifetime,
                )
            )
        return token

    def user_id(self, token: str | None, now: int, area: str = "") -> int | None:
        """Who is signed in with ``token`` in ``area``, if that session still exists and has
        not expired."""
        if not token:
            return None
        with self._store.reading() as conn:
            found = conn.execute(
                select(sessions.c.user_id).where(
                    and_(
                        sessions.c.id_digest == self._digest(token, area),
                        sessions.c.expires_at > now,
                    )
                )
            ).scalar()
        return int(found) if found is not None else None

    def end(self, token: str | None, area: str = "") -> None:
        if token:
            with self._store.transaction() as conn:
                conn.execute(
                    delete(sessions).where(sessions.c.id_digest == self._digest(token, area))
                )
