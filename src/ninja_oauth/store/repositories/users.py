"""UserRepository: accounts with argon2id password hashes (hashing lives in ``web``/CLI)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, select, update

from ninja_oauth.oauth.domain import User
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import users


def _user(row: Any) -> User:
    return User(row.id, row.email, bool(row.is_admin), row.disabled_at is not None)


class SqlUsers:
    def __init__(self, store: Store) -> None:
        self._store = store

    def get(self, user_id: int) -> User | None:
        with self._store.reading() as conn:
            row = conn.execute(
                select(users.c.id, users.c.email, users.c.is_admin, users.c.disabled_at).where(
                    users.c.id == user_id
                )
            ).first()
        return _user(row) if row else None

    def find_by_email(self, email: str) -> tuple[User, str] | None:
        if len(email) > 320 or "\x00" in email:  # no such account can exist (see apps.get)
            return None
        with self._store.reading() as conn:
            row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
        if row is None:
            return None
        return _user(row), row.password_hash

    def add(self, email: str, password_hash: str, is_admin: bool) -> User:
        with self._store.transaction() as conn:
            user_id = conn.execute(
                insert(users)
                .values(
                    email=email.strip().lower(),
                    password_hash=password_hash,
                    is_admin=is_admin,
                    created_at=int(time.time()),
                )
                .returning(users.c.id)
            ).scalar_one()
        return User(user_id, email.strip().lower(), is_admin)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
