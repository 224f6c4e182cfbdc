"""Fixtures of the Public API tests: a migrated database with the demo data, the Public API app
as the server builds it, and real bearer tokens stored the way the token endpoint stores them."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert
from starlette.applications import Starlette

from ninja_oauth.api import PublicApi, build_public_api
from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.tables import apps, tokens, users
from ninja_oauth.web.root import Root

NOW = 1_750_000_000  # the demo data's clock: the same rows in every run
KEY = b"k" * 40
APP_ID = "test-integration"
# The server's public base URL (Settings.issuer): the API's links are built on it.
ISSUER = "https://ninja-oauth.example.test"
ADMIN_ID = 1
EVERY_SCOPE = "monitoring management control"

MintToken = Callable[..., str]


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once, demo data loaded once; each test gets its own copy of the file."""
    path = tmp_path_factory.mktemp("template") / "api.db"
    url = f"sqlite:///{path}"
    migrate(url)
    store = Store(url)
    try:
        assert load_demo_api_data(store, now=NOW) is True
        with store.transaction() as conn:
            conn.execute(
                insert(apps).values(
                    client_id=APP_ID,
                    name="Integration under test",
                    platform="api_services",
                    secret_digest=None,
                    redirect_uris="[]",
                    scopes="monitoring management control",
                    grant_types="client_credentials",
                    created_at=NOW,
                )
            )
            conn.execute(
                insert(users),
                [
                    {
                        "email": email,
                        "password_hash": "$argon2id$never-shown",
                        "is_admin": admin,
                        "created_at": NOW,
                    }
                    for email, admin in (("admin@example.test", True), ("tech@example.test", False))
                ],
            )
    finally:
        store.close()  # the last connection's close checkpoints the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def store(template_db: Path, tmp_path: Path) -> Iterator[Store]:
    path = tmp_path / "api.db"
    shutil.copyfile(template_db, path)
    the_store = Store(f"sqlite:///{path}")
    yield the_store
    the_store.close()


def build_app(store: Store) -> PublicApi:
    """The Public API as the server builds it (web/__init__.py serves it under /v2/)."""
    return build_public_api(store, SecretHasher(KEY), ISSUER)


@pytest.fixture(scope="session")
def shared_api() -> Iterator[PublicApi]:
    # Building the routes costs more than a test's own work, so one app serves every test and
    # each test points it at its own copy of the database.
    placeholder = Store("sqlite://")
    yield build_app(placeholder)
    placeholder.close()


@pytest.fixture
def app(shared_api: PublicApi, store: Store) -> FastAPI:
    shared_api.app.state.store = store
    return shared_api.app


@pytest.fixture
def client(app: FastAPI, shared_api: PublicApi) -> Iterator[TestClient]:
    # Through the server's front door (web/root.py), as the server serves /v2: a GET goes to
    # the table of reads, every other request to the app.
    assert shared_api.app is app
    with TestClient(front_door(shared_api)) as test_client:
        yield test_client


def front_door(api: PublicApi) -> Root:
    """The server's front door with the Public API alone behind it (no protocol, no site)."""
    return Root(posted={}, api=api.app, api_reads=api.reads, site=Starlette())


def mint(
    store: Store,
    scope: str,
    *,
    user_id: int | None = None,
    expires_in: int = 3600,
    legacy: bool = False,
) -> str:
    """A real opaque token, stored by its key as the token endpoint stores it; ``legacy``: in
    the format issued before tokens led with their time (43 characters, plain digest)."""
    token = secrets.token_urlsafe(32) if legacy else s.new_access_token()
    issued = int(time.time())
    with store.transaction() as conn:
        conn.execute(
            insert(tokens).values(
                access_digest=SecretHasher(KEY).access_key(token),
                client_id=APP_ID,
                user_id=user_id,
                scope=scope,
                grant_id=secrets.token_hex(16),
                grant_type="client_credentials" if user_id is None else "authorization_code",
                issued_at=issued,
                access_expires_at=issued + expires_in,
            )
        )
    return token


@pytest.fixture
def token(store: Store) -> MintToken:
    def factory(scope: str = "monitoring", *, user_id: int | None = None, **kw: int | bool) -> str:
        return mint(store, scope, user_id=user_id, **kw)  # type: ignore[arg-type]

    return factory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def monitoring(token: MintToken) -> dict[str, str]:
    return bearer(token("monitoring"))


@pytest.fixture
def management(token: MintToken) -> dict[str, str]:
    return bearer(token("management"))


@pytest.fixture
def everything(token: MintToken) -> dict[str, str]:
    return bearer(token("monitoring management control", user_id=ADMIN_ID))


class PgApi(NamedTuple):
    store: Store
    client: TestClient
    headers: dict[str, str]  # a bearer token of every scope, without a user


@pytest.fixture(scope="module")
def pg_api(pg_database_url: str) -> Iterator[PgApi]:
    """The Public API on a fresh PostgreSQL database of the module's own: the demo data, the
    app under test and its admin (``ADMIN_ID``), as on SQLite. One client for the module: the
    async engine's connections belong to its event loop."""
    migrate(pg_database_url)
    store = Store(pg_database_url)
    assert load_demo_api_data(store, now=NOW) is True
    with store.transaction() as conn:
        conn.execute(
            insert(apps).values(
                client_id=APP_ID, name="PG", platform="api_services", redirect_uris="[]",
                scopes=EVERY_SCOPE, grant_types="client_credentials", created_at=NOW,
            )
        )  # fmt: skip
        conn.execute(
            insert(users).values(
                email="admin@example.test", password_hash="x", is_admin=True, created_at=NOW
            )
        )
    headers = bearer(mint(store, EVERY_SCOPE))
    with TestClient(front_door(build_app(store))) as client:
        yield PgApi(store, client, headers)
        assert client.portal is not None
        client.portal.call(store.aclose)
    store.close()
