"""Fixtures of the store tests: one migrated database per module and store (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from ninja_oauth.oauth.domain import App, User
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.repositories import build_repositories


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[Store]:
    migrate(database_url)
    opened = Store(database_url)
    try:
        yield opened
    finally:
        opened.close()


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
