"""Fixtures of the store tests: one migrated database per module and store (SQLite, PostgreSQL)."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from ninja_oauth.oauth.domain import App, NewToken, User
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.tables import tokens
from tests.support.stores import migrated_store


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[Store]:
    with migrated_store(database_url) as opened:
        yield opened


@pytest.fixture(scope="module")
def repos(store: Store) -> Repositories:
    return build_repositories(store)


def new_app(platform: Platform = Platform.WEB, **overrides: object) -> App:
    values: dict[str, object] = {
        "client_id": "app-" + uuid.uuid4().hex[:16],
        "name": "Store test app",
        "platform": platform,
        "redirect_uris": ("https://client.example/callback", "http://127.0.0.1/cb"),
        "scopes": ("monitoring", "management"),
        "grant_types": ("authorization_code", "refresh_token"),
        "secret_digest": "d" * 64,
        "created_at": 1_700_000_000,
    }
    values.update(overrides)
    return App(**values)  # type: ignore[arg-type]


@pytest.fixture
def app(repos: Repositories) -> App:
    """A registered Web app (the test module's ``repos`` decides the store)."""
    registered = new_app()
    repos.apps.add(registered)
    return registered


@pytest.fixture
def register(repos: Repositories) -> Callable[..., App]:
    """Add an app with a fresh client_id (factory)."""

    def make(platform: Platform = Platform.WEB, **overrides: object) -> App:
        app = new_app(platform, **overrides)
        repos.apps.add(app)
        return app

    return make


@pytest.fixture
def user(repos: Repositories) -> User:
    return repos.users.add(f"user-{uuid.uuid4().hex[:12]}@example.com", "argon2-hash", False)


def new_token(app: App, access_digest: str | None = None, now: int | None = None) -> NewToken:
    """A client_credentials token row of ``app``, as the token endpoint saves it."""
    issued = int(time.time()) if now is None else now
    return NewToken(
        access_digest=access_digest or secrets.token_hex(32),
        refresh_digest=None,
        client_id=app.client_id,
        user_id=None,
        scope="monitoring",
        refresh_scope=None,
        grant_id=secrets.token_hex(16),
        grant_type="client_credentials",
        issued_at=issued,
        access_expires_at=issued + 3600,
        refresh_expires_at=None,
    )


def copies(store: Store, access_digest: str) -> int:
    """How many token rows have this access digest."""
    with store.reading() as conn:
        query = select(func.count()).where(tokens.c.access_digest == access_digest)
        return int(conn.execute(query).scalar_one())


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
def file_store(db_path: Path) -> Iterator[Store]:
    """A migrated SQLite file of its own: the store of the group commit and of deferred work."""
    with migrated_store(f"sqlite:///{db_path}") as opened:
        yield opened


@pytest.fixture
def batches(file_store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every batch the group commit writes."""
    written: list[int] = []
    insert_batch = file_store._group_commit._insert_batch

    def counting(driver: Any, batch: list[Any]) -> Any:
        written.append(len(batch))
        return insert_batch(driver, batch)

    monkeypatch.setattr(file_store._group_commit, "_insert_batch", counting)
    return written
