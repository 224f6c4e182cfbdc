"""Fixtures of the Public API tests: a migrated database with the demo data, the API mounted
in a small app and reached through its lane as the server reaches it, and real bearer tokens
stored the way the token endpoint stores them."""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ninja_oauth.api import build_api_router
from ninja_oauth.api.errors import install_api_error_handlers
from ninja_oauth.api.guard import BearerError
from ninja_oauth.api.lane import ApiLane
from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.tables import apps, tokens, users

NOW = 1_750_000_000  # the demo data's clock: the same rows in every run
KEY = b"k" * 40
APP_ID = "test-integration"
ADMIN_ID = 1

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


async def _bearer_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BearerError)
    body = {"error": exc.error or "", "error_description": exc.description or ""}
    return JSONResponse(
        body, status_code=exc.status, headers={"WWW-Authenticate": exc.www_authenticate()}
    )


async def _http_error(_request: Request, exc: Exception) -> Response:
    # As web/errors.py renders them: e.g. a body that cannot be decoded, an unknown /v2 path.
    assert isinstance(exc, HTTPException)
    error = "not_found" if exc.status_code == 404 else "invalid_request"
    return JSONResponse(
        {"error": error, "error_description": str(exc.detail)}, status_code=exc.status_code
    )


def build_app(store: Store) -> FastAPI:
    """What create_app (web/__init__.py) does for /v2, without the OAuth routes and pages."""
    app = FastAPI(title="ninja-oauth Public API v2 (test app)")
    app.state.store = store
    app.state.hasher = SecretHasher(KEY)
    app.include_router(build_api_router())
    install_api_error_handlers(app)
    app.add_exception_handler(BearerError, _bearer_error)
    app.add_exception_handler(HTTPException, _http_error)
    return app


@pytest.fixture(scope="session")
def shared_app() -> Iterator[FastAPI]:
    # Building the routes costs more than a test's own work, so one app serves every test and
    # each test points it at its own copy of the database.
    placeholder = Store("sqlite://")
    yield build_app(placeholder)
    placeholder.close()


@pytest.fixture(scope="session")
def shared_lane(shared_app: FastAPI) -> ApiLane:
    return ApiLane(shared_app)


@pytest.fixture
def app(shared_app: FastAPI, store: Store) -> FastAPI:
    shared_app.state.store = store
    return shared_app


@pytest.fixture
def client(app: FastAPI, shared_lane: ApiLane) -> Iterator[TestClient]:
    # Through the lane, as the server serves /v2 (web/__init__.py): it answers the reads and
    # hands everything else to the app. test_lane.py compares the two ways.
    with TestClient(shared_lane) as test_client:
        yield test_client


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
