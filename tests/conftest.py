"""Shared fixtures: databases (SQLite and PostgreSQL) and live `ninja-oauth serve` processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests.support.server import LiveServer, postgres_available, start_server

PG_ADMIN_URL = os.environ.get(
    "NINJA_OAUTH_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI") == "true"


def require_postgres() -> None:
    """On CI, PostgreSQL tests must run: a missing server fails them instead of skipping."""
    if postgres_available(PG_ADMIN_URL):
        return
    if IN_CI:
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL} (required on CI)")
    pytest.skip("PostgreSQL is not reachable (set NINJA_OAUTH_TEST_DATABASE_URL)")


@pytest.fixture(scope="module")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test module, dropped afterwards."""
    require_postgres()
    import psycopg

    name = "ninja_oauth_t_" + uuid.uuid4().hex[:12]
    dsn = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Every store-backed test module runs on both stores."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'ninja-oauth.db'}"
    url: str = request.getfixturevalue("pg_database_url")
    return url


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server on SQLite only, for modules whose subject is not the store."""
    tmp = tmp_path_factory.mktemp("server")
    live = start_server(f"sqlite:///{tmp / 'ninja-oauth.db'}", tmp)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server started with `serve --demo` on a fresh SQLite database, one per module."""
    tmp = tmp_path_factory.mktemp("demo")
    live = start_server(f"sqlite:///{tmp / 'ninja-oauth.db'}", tmp, demo=True)
    try:
        yield live
    finally:
        live.stop()
