"""ConsentRepository: what each user has granted each app (remembered consent)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ninja_oauth.oauth.scopes import join_scope
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import consents


class SqlConsents:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._insert: Any = postgresql.insert if store.dialect == "postgresql" else sqlite.insert

    def granted(self, user_id: int, client_id: str, lock: bool = False) -> set[str]:
        """What the user granted the app. With ``lock``, the row stays locked until the
        transaction ends (PostgreSQL): a code issued on the strength of a remembered consent
        commits before a concurrent revocation of that consent can delete the row and the
        codes it bought (admin/service.py, revoke_consent)."""
        query = select(consents.c.scope).where(
            and_(consents.c.user_id == user_id, consents.c.client_id == client_id)
        )
        if lock:
            with self._store.transaction() as conn:
                scope = conn.execute(query.with_for_update()).scalar()
        else:
            with self._store.reading() as conn:
                scope = conn.execute(query).scalar()
        return set(scope.split()) if scope else set()

    def remember(self, user_id: int, client_id: str, scopes: set[str], now: int) -> None:
        """Store the union of what was granted before and now (DESIGN §6).

        Insert-if-absent, then lock the row and widen it: two approvals arriving at once (two
        tabs, two nodes) neither collide on the unique key nor lose each other's scopes.
        """
        where = and_(consents.c.user_id == user_id, consents.c.client_id == client_id)
        with self._store.transaction() as conn:
            conn.execute(
                self._insert(consents)
                .values(user_id=user_id, client_id=client_id, scope="", updated_at=now)
                .on_conflict_do_nothing(index_elements=["user_id", "client_id"])
            )
            current = conn.execute(select(consents.c.scope).where(where).with_for_update()).scalar()
            union = set((current or "").split()) | scopes
            conn.execute(
                update(consents).where(where).values(scope=join_scope(union), updated_at=now)
            )
