"""Engines: SQLite with its pragmas and an up-front write lock, psycopg for PostgreSQL; and each
thread's own driver connections to a SQLite file."""

from __future__ import annotations

import select
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool, StaticPool

# The execution option that marks a write transaction: on SQLite it begins IMMEDIATE.
WRITE_OPTION = "ninja_write"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and an in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def create_engines(url: str) -> tuple[Engine, AsyncEngine | None]:
    """The engine, and on PostgreSQL the async engine of the event loop's reads (SQLite's run on
    the loop directly: a read takes microseconds)."""
    if make_url(url).get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False},
                pool_size=8,
                max_overflow=8,
                hide_parameters=True,
            )
        else:
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False},
                poolclass=StaticPool,
                # Its one connection is shared by every thread: a hot read handing it back
                # must not roll back a writer's transaction still open on it.
                pool_reset_on_return=None,
                hide_parameters=True,
            )
        _configure_sqlite(engine)
        return engine, None
    # hide_parameters: a database error logged with its statement never shows values.
    # connect_timeout: an unreachable host fails the request (a 503) instead of holding it.
    connect = {} if "connect_timeout" in make_url(url).query else {"connect_timeout": 5}
    engine = create_engine(
        url, pool_size=10, max_overflow=10, hide_parameters=True, connect_args=connect
    )
    # Autocommit: a read is not wrapped in BEGIN ... ROLLBACK (two more round trips, and the
    # rollback would empty psycopg's cache of prepared statements). At READ COMMITTED each
    # statement sees its own snapshot inside a transaction as well, so nothing else changes.
    async_engine = create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        hide_parameters=True,
        connect_args=connect,
        isolation_level="AUTOCOMMIT",
    )
    # No pre-ping's round trip on checkout (one per token request): a connection the server
    # closed (a restart) is recognised without one, and the pool replaces it.
    event.listen(engine, "checkout", _replace_if_lost)
    event.listen(async_engine.sync_engine, "checkout", _replace_if_lost)
    return engine, async_engine


def connection_lost(driver_connection: Any) -> bool:
    """Whether an idle PostgreSQL connection was closed by the server (a restart, a crash, an
    administrator's kill): it is broken, or its socket has something to read while no
    statement runs (the server's last words, or the end of the stream). A poll of the socket,
    no round trip. False for a SQLite connection."""
    pgconn = getattr(driver_connection, "pgconn", None)
    if pgconn is None:
        return False
    try:
        if driver_connection.closed:
            return True
        poll = select.poll()
        poll.register(pgconn.socket, select.POLLIN)
        return bool(poll.poll(0))
    except Exception:  # no socket any more
        return True


def _replace_if_lost(_dbapi_conn: Any, record: Any, _proxy: Any) -> None:
    if connection_lost(record.driver_connection):
        raise DisconnectionError  # the pool discards it and connects anew


def read_engine(engine: Engine) -> Engine:
    """``engine`` for reads outside a transaction: in autocommit on PostgreSQL, one round trip
    rather than BEGIN, the read and a ROLLBACK that empties psycopg's prepared statements (at
    READ COMMITTED each statement sees its own snapshot either way)."""
    if engine.dialect.name != "postgresql":
        return engine
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def write_engine(engine: Engine) -> Engine:
    """``engine`` for write transactions (see WRITE_OPTION)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def unicode_lower(conn: sqlite3.Connection) -> None:
    """SQLite's own ``lower()`` folds ASCII letters only, so a case-insensitive filter whose
    needle Python lowered ("Ärzte" -> "ärzte") never matched "Ärzte" in a column. Replaced on
    each connection by Python's, as PostgreSQL's folds them (SQLite lets an application
    function take a built-in's name; no index or constraint of this schema uses ``lower``)."""
    conn.create_function("lower", 1, _unicode_lower, deterministic=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is lazy).
        dbapi_conn.isolation_level = None
        unicode_lower(dbapi_conn)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # Durability trade (README): a power loss may drop the last commits; a crash does not.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front: a deferred transaction that upgrades to a write can
        # fail with SQLITE_BUSY without waiting.
        # On the driver directly: this runs for every write transaction.
        driver = conn.connection.driver_connection
        assert driver is not None
        driver.execute(
            "BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE_OPTION) else "BEGIN"
        )


def null_pool_engine(url: str) -> Engine:
    """An engine for one-off work (migrations) that leaves no pooled connection behind."""
    return create_engine(url, poolclass=NullPool)


class _Opened(threading.local):
    def __init__(self) -> None:
        self.opened: dict[str, sqlite3.Connection] = {}


class ThreadConnections:
    """Each thread's own autocommit driver connections to a SQLite file, opened once by name
    and closed with the store (no pool checkout, no BEGIN/ROLLBACK around a single SELECT)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._local = _Opened()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def reader(self) -> sqlite3.Connection:
        """This thread's connection for hot reads."""
        return self.get("raw", ("busy_timeout=10000", "query_only=ON"))

    def get(self, name: str, pragmas: tuple[str, ...]) -> sqlite3.Connection:
        """This thread's autocommit driver connection called ``name``, opened once with
        ``pragmas`` and closed with the store."""
        conn: sqlite3.Connection | None = self._local.opened.get(name)
        if conn is None:
            conn = sqlite3.connect(str(self._path), isolation_level=None, check_same_thread=False)
            unicode_lower(conn)
            for pragma in pragmas:
                conn.execute("PRAGMA " + pragma)
            self._local.opened[name] = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
