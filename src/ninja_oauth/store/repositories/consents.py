"""ConsentRepository: what each user has granted each app (remembered consent)."""

from __future__ import annotations

from sqlalchemy import and_, insert, select, update

from ninja_oauth.oauth.scopes import join_scope
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import consents


class SqlConsents:
    def __init__(self, store: Store) -> None:
        self._store = store

    def granted(self, user_id: int, client_id: str) -> set[str]:
        with self._store.reading() as conn:
            scope = conn.execute(
                select(consents.c.scope).where(
                    and_(consents.c.user_id == user_id, consents.c.client_id == client_id)
                )
            ).scalar()
        return set(scope.split()) if scope else set()

    def remember(self, user_id: int, client_id: str, scopes: set[str], now: int) -> None:
        """Store the union of what was granted before and now (DESIGN §6)."""
        where = and_(consents.c.user_id == user_id, consents.c.client_id == client_id)
        with self._store.transaction() as conn:
            current = conn.execute(select(consents.c.scope).where(where)).scalar()
            if current is None:
                conn.execute(
                    insert(consents).values(
                        user_id=user_id,
                        client_id=client_id,
                        scope=join_scope(scopes),
                        updated_at=now,
                    )
                )
            else:
                union = set(current.split()) | scopes
                conn.execute(
                    update(consents).where(where).values(scope=join_scope(union), updated_at=now)
                )
