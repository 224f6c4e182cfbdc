"""Engines and the two ways in: reads on the event loop, writes on one writer path per process.

SQLite (WAL, ``synchronous=NORMAL``) allows one writer at a time across all processes. Instead of
letting workers race for its lock (its busy handler sleeps and retries, which multiplies p99),
each process funnels writes through one thread, and processes take turns on an ``flock`` beside
the database file, which wakes a waiter the moment the lock is free. Reads are single indexed
lookups of a few microseconds, so on SQLite they run on the event loop directly: a threadpool hop
would cost more than the read. On PostgreSQL, reads use psycopg's async driver and writes a small
thread pool; every racing state change is one atomic statement there.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

T = TypeVar("T")
_WRITER_PREFIX = "ninja-writer"


class Sql:
    """A hot statement written once with :named parameters, run on the driver's cursor.

    SQLAlchemy Core costs 150-300 us per statement on the token and bearer paths (building,
    cache-key computation, result wrapping), the driver 5-15 us (bench/README.md). The handful
    of statements on those paths use this; everything else uses Core.
    """

    __slots__ = ("_pg", "_sqlite")

    def __init__(self, text: str) -> None:
        self._sqlite = text
        self._pg = re.sub(r"(?<!:):(\w+)", r"%(\1)s", text)

    def text(self, dialect: str) -> str:
        return self._pg if dialect == "postgresql" else self._sqlite


def _fetchone(dbapi: Any, text: str, params: dict[str, Any]) -> Any:
    cursor = dbapi.cursor()
    try:
        cursor.execute(text, params)
        return cursor.fetchone()
    finally:
        cursor.close()


def _fetchall(dbapi: Any, text: str, params: dict[str, Any]) -> list[Any]:
    cursor = dbapi.cursor()
    try:
        cursor.execute(text, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is lazy).
        dbapi_conn.isolation_level = None
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
            "BEGIN IMMEDIATE" if conn.get_execution_options().get("ninja_write") else "BEGIN"
        )


class Store:
    """The database: engines, the writer path, and the current unit of work."""

    def __init__(self, url: str, *, writer_threads: int | None = None) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        self._lock_file: Path | None = None
        self._lock_fd: int | None = None
        self._thread_lock = threading.Lock()
        # The current write transaction of each thread, per Store (two stores never mix).
        self._local = threading.local()
        self._raw_connections: list[sqlite3.Connection] = []
        self._raw_lock = threading.Lock()
        self._writer_connections: list[Connection] = []
        if self.dialect == "sqlite":
            path = _sqlite_file(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._lock_file = path.with_name(path.name + ".write-lock")
                engine = create_engine(
                    url,
                    connect_args={"check_same_thread": False},
                    pool_size=8,
                    max_overflow=8,
                    hide_parameters=True,
                )
            else:
                from sqlalchemy.pool import StaticPool

                engine = create_engine(
                    url,
                    connect_args={"check_same_thread": False},
                    poolclass=StaticPool,
                    hide_parameters=True,
                )
            _configure_sqlite(engine)
            self.async_engine: AsyncEngine | None = None
            threads = 1
        else:
            # hide_parameters: a database error logged with its statement never shows values.
            engine = create_engine(
                url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
            )
            self.async_engine = create_async_engine(
                url, pool_size=10, max_overflow=10, hide_parameters=True
            )
            threads = writer_threads or 8
        self.engine = engine
        self._write_engine = engine.execution_options(ninja_write=True)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=_WRITER_PREFIX)

    # -- units of work ---------------------------------------------------------------------

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """One request's writes: the write transaction opens at the first write (so reads
        before it never hold the write lock) and commits when the unit ends, errors included;
        only an unexpected exception rolls it back."""
        if getattr(self._local, "uow", None) is not None:
            yield
            return
        stack = contextlib.ExitStack()
        self._local.uow = stack
        try:
            with stack:
                yield
        finally:
            self._local.uow = None
            self._local.conn = None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction; nested calls on the same thread join the outer one, and inside
        a unit of work the transaction stays open until the unit ends."""
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        uow: contextlib.ExitStack | None = getattr(self._local, "uow", None)
        with contextlib.ExitStack() as own:
            conn = self._writer_connection(own)
            own.enter_context(self._exclusive())
            own.enter_context(conn.begin())
            self._local.conn = conn
            own.callback(setattr, self._local, "conn", None)
            if uow is not None:
                # Opened: from now on the unit of work owns the lock and the transaction (if
                # opening failed, ``own`` has already released what it took).
                uow.push(own.pop_all())
            yield conn

    def _writer_connection(self, stack: contextlib.ExitStack) -> Connection:
        """The writer path's threads keep their connection open (a pool checkout and reset per
        token costs more than the INSERT itself); other threads borrow one from the pool."""
        if not threading.current_thread().name.startswith(_WRITER_PREFIX):
            return stack.enter_context(self._write_engine.connect())
        conn: Connection | None = getattr(self._local, "writer", None)
        if conn is None or conn.closed or conn.invalidated:
            conn = self._write_engine.connect()
            self._local.writer = conn
            with self._raw_lock:
                self._writer_connections.append(conn)
        return conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (or the current write transaction's, if there is one)."""
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self.engine.connect() as conn:
            yield conn

    # -- the hot statements, on the driver's cursor ----------------------------------------

    def fetchone(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """One row of a hot read (inside the current write transaction if there is one)."""
        current: Connection | None = getattr(self._local, "conn", None)
        if current is not None:
            return _fetchone(current.connection.dbapi_connection, stmt.text(self.dialect), params)
        if self.dialect == "sqlite":
            return _fetchone(self._raw_reader(), stmt.text(self.dialect), params)
        with self.engine.connect() as conn:
            return _fetchone(conn.connection.dbapi_connection, stmt.text(self.dialect), params)

    def execute(self, stmt: Sql, params: dict[str, Any]) -> int:
        """Run a hot write in the current (or a new) write transaction; the row count."""
        with self.transaction() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(stmt.text(self.dialect), params)
                return int(cursor.rowcount)
            finally:
                cursor.close()

    async def fetchone_async(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """A hot read from the event loop: SQLite directly (microseconds), PostgreSQL through
        psycopg's async driver."""
        if self.async_engine is None:
            return _fetchone(self._raw_reader(), stmt.text(self.dialect), params)
        text = stmt.text(self.dialect)
        async with self.async_engine.connect() as aconn:
            return await aconn.run_sync(
                lambda conn: _fetchone(conn.connection.dbapi_connection, text, params)
            )

    async def fetchall_async(self, stmt: Sql, params: dict[str, Any]) -> list[Any]:
        """Every row of a hot read from the event loop, as fetchone_async reads one (the
        driver's tuples: JSON columns come back as text on SQLite, decoded on PostgreSQL)."""
        if self.async_engine is None:
            return _fetchall(self._raw_reader(), stmt.text(self.dialect), params)
        text = stmt.text(self.dialect)
        async with self.async_engine.connect() as aconn:
            return await aconn.run_sync(
                lambda conn: _fetchall(conn.connection.dbapi_connection, text, params)
            )

    def _raw_reader(self) -> sqlite3.Connection:
        """This thread's own autocommit SQLite connection for hot reads (no pool checkout,
        no BEGIN/ROLLBACK around a single SELECT)."""
        raw: sqlite3.Connection | None = getattr(self._local, "raw", None)
        if raw is None:
            raw = sqlite3.connect(
                str(_sqlite_file(self.url)), isolation_level=None, check_same_thread=False
            )
            raw.execute("PRAGMA busy_timeout=10000")
            raw.execute("PRAGMA query_only=ON")
            self._local.raw = raw
            with self._raw_lock:
                self._raw_connections.append(raw)
        return raw

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._lock_file is None:
            yield
            return
        with self._thread_lock:
            if self._lock_fd is None:
                import os

                self._lock_fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    # -- async entry points for the web layer ----------------------------------------------

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run a short read: on the loop for SQLite, through psycopg's async driver otherwise."""
        if self.async_engine is None:
            with self.engine.connect() as conn:
                return fn(conn)
        async with self.async_engine.connect() as aconn:
            return await aconn.run_sync(fn)

    async def write(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on this process's writer path; ``fn`` opens ``transaction()`` as needed."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn)

    def close(self) -> None:
        self._executor.shutdown(wait=False)
        for raw in self._raw_connections:
            raw.close()
        self._raw_connections.clear()
        for writer in self._writer_connections:
            with contextlib.suppress(Exception):
                writer.close()
        self._writer_connections.clear()
        self.engine.dispose()
        if self._lock_fd is not None:
            import os

            os.close(self._lock_fd)
            self._lock_fd = None

    async def aclose(self) -> None:
        if self.async_engine is not None:
            await self.async_engine.dispose()
        self.close()


def null_pool_engine(url: str) -> Engine:
    """An engine for one-off work (migrations) that leaves no pooled connection behind."""
    return create_engine(url, poolclass=NullPool)
