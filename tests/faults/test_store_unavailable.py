"""Which database failures are "the database is unavailable" (a 503, retry shortly) and which
stay bugs (a 500), and how the store raises them: ``StoreUnavailable``, from the driver's or
SQLAlchemy's error, so that the web layer recognises it without importing either."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc

from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.db import Store
from ninja_oauth.store.errors import StoreUnavailable, database_unavailable
from tests.support.stores import migrated_store


def _wrapped(
    orig: BaseException, kind: type[sa_exc.DBAPIError] = sa_exc.OperationalError
) -> Exception:
    return kind("SELECT 1", {}, orig)


def _invalidated() -> Exception:
    return sa_exc.DBAPIError(
        "SELECT 1", {}, psycopg.OperationalError("x"), connection_invalidated=True
    )


@pytest.mark.parametrize(
    ("exc", "unavailable"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.OperationalError("disk I/O error"), True),
        (sqlite3.OperationalError("unable to open database file"), True),
        (sqlite3.OperationalError("no such table: tokens"), False),
        (sqlite3.IntegrityError("UNIQUE constraint failed: tokens.access_digest"), False),
        (psycopg.OperationalError("connection refused"), True),
        (pg_errors.AdminShutdown("terminating connection due to administrator command"), True),
        (pg_errors.CannotConnectNow("the database system is starting up"), True),
        (psycopg.InterfaceError("the connection is closed"), True),
        (pg_errors.UniqueViolation("duplicate key"), False),
        (pg_errors.UndefinedTable("relation does not exist"), False),
        (_wrapped(psycopg.OperationalError("server closed the connection")), True),
        (_wrapped(sqlite3.OperationalError("database is locked")), True),
        (_wrapped(pg_errors.UniqueViolation("duplicate"), sa_exc.IntegrityError), False),
        (_invalidated(), True),
        (sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"), True),
        (ValueError("not a database error"), False),
        (StoreUnavailable(), False),  # already recognised: re-raised as it is
        # OperationalError in psycopg, but the statement's or the data's fault: still a 500.
        (pg_errors.DeadlockDetected("deadlock detected"), False),
        (pg_errors.QueryCanceled("canceling statement due to statement timeout"), False),
        (pg_errors.DiskFull("could not extend file"), False),
        (pg_errors.TooManyConnections("sorry, too many clients already"), True),
        (sqlite3.OperationalError("database or disk is full"), False),
    ],
    ids=[
        "sqlite-locked",
        "sqlite-io",
        "sqlite-cannot-open",
        "sqlite-no-such-table",
        "sqlite-integrity",
        "pg-refused",
        "pg-admin-shutdown",
        "pg-starting-up",
        "pg-connection-closed",
        "pg-unique-violation",
        "pg-undefined-table",
        "sa-wrapped-pg-lost",
        "sa-wrapped-sqlite-locked",
        "sa-integrity",
        "sa-connection-invalidated",
        "sa-pool-timeout",
        "not-a-database-error",
        "store-unavailable",
        "pg-deadlock",
        "pg-statement-timeout",
        "pg-disk-full",
        "pg-too-many-connections",
        "sqlite-disk-full",
    ],
)
def test_database_unavailable_tells_an_outage_from_a_bug(
    exc: BaseException, unavailable: bool
) -> None:
    assert database_unavailable(exc) is unavailable


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with migrated_store(f"sqlite:///{tmp_path / 'unavailable.db'}") as opened:
        yield opened


@pytest.mark.parametrize("writes", [Writes.APPENDS, Writes.CHANGES], ids=["appends", "changes"])
def test_store_run_raises_store_unavailable_from_an_outage_and_a_bug_as_it_is(
    store: Store, writes: Writes
) -> None:
    locked = sqlite3.OperationalError("database is locked")
    bug = sqlite3.OperationalError("no such table: nothing")

    def fails(exc: Exception) -> None:
        raise exc

    with pytest.raises(StoreUnavailable) as raised:
        asyncio.run(store.run(lambda: fails(locked), writes))
    assert raised.value.__cause__ is locked
    assert raised.value.retry_after > 0
    with pytest.raises(sqlite3.OperationalError) as unchanged:
        asyncio.run(store.run(lambda: fails(bug), writes))
    assert unchanged.value is bug
    # The store still works after both.
    assert asyncio.run(store.run(lambda: "done", writes)) == "done"
