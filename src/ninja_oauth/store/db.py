"""Engines and the two ways in: reads on the event loop, writes on one writer path per process.

SQLite (WAL, ``synchronous=NORMAL``) allows one writer at a time across all processes. Instead of
letting workers race for its lock (its busy handler sleeps and retries, which multiplies p99),
each process funnels writes through one thread, and processes take turns on an ``flock`` beside
the database file, which wakes a waiter the moment the lock is free. Reads are single indexed
lookups of a few microseconds, so on SQLite they run on the event loop directly: a threadpool hop
would cost more than the read. On PostgreSQL, reads use psycopg's async driver and writes a small
thread pool; every racing state change is one atomic statement there.

A request whose only writes are new rows (a client_credentials token) can run on the event loop
on SQLite (``deferred``) and hand its rows to a group commit (``commit_deferred``): the rows of
every request that reached that point in the same turn of the loop are inserted in one
transaction. The loop writes them itself only when that cannot wait: the write locks are free
at once (never waited for), and its commits do not wait for the disk (WAL with
``synchronous=NORMAL`` syncs at checkpoints, which this store runs in a background thread; the
one sync a loop's commit can meet is of the WAL's 32-byte header, when it happens to be the
first write after a completed checkpoint). Otherwise the batch goes to the writer path, which
waits its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import sqlite3
import threading
import time
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

# A statement and its parameters, as collected by a deferred unit of work.
Write = tuple["Sql", dict[str, Any]]
# A deferred unit's rows and the future its request awaits.
Unit = tuple[list[Write], "asyncio.Future[None]"]

# The background checkpointer: how often it copies the WAL into the database, and the WAL
# length (in 4 KiB pages) past which it holds the writers back for a moment to start the WAL
# over. Without that the WAL would only grow under a steady load: it starts over only when a
# writer finds no reader on it, and some worker is always reading.
CHECKPOINT_EVERY = 0.25
CHECKPOINT_RESTART_PAGES = 8000
RESTART_WAIT_MS = 20

# When the write locks are taken (mostly by another process's batch, for tens of microseconds),
# the loop tries again on each of its turns for FLUSH_SPIN seconds (other requests run
# meanwhile), then every millisecond, and after FLUSH_PATIENCE hands the batch to the writer
# path, which waits for the locks. Handing it over at once would cost more: under load a thread
# waits for the GIL up to the interpreter's switch interval (5 ms), holding the locks if it has
# them, which stalls every other process's writes as well.
FLUSH_SPIN = 0.0005
FLUSH_PATIENCE = 0.05


class NeedsWriter(Exception):
    """Raised inside a deferred unit of work by a write that cannot wait for the group commit
    (one whose outcome the request depends on): the caller reruns the request on the writer
    path. Nothing has been written when it is raised."""


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


class _PerThread(threading.local):
    """A Store's state on one thread. Class-level defaults: ``getattr(local, name, None)`` on an
    unset name raises and formats an AttributeError inside, which cost several microseconds
    per token request on the hot path."""

    uow: contextlib.ExitStack | None = None  # the current unit of work
    conn: Connection | None = None  # its write transaction, once opened
    deferred: list[Write] | None = None  # the rows of the current deferred unit
    batch: _Batch | None = None  # the group commit being formed on this thread's loop
    writer: Connection | None = None  # a writer-path thread's own connection

    def __init__(self) -> None:
        self.opened: dict[str, sqlite3.Connection] = {}  # the thread's own driver connections


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
        self._local = _PerThread()
        self._raw_connections: list[sqlite3.Connection] = []
        self._raw_lock = threading.Lock()
        self._writer_connections: list[Connection] = []
        self._sqlite_path = _sqlite_file(url) if self.dialect == "sqlite" else None
        self._checkpointer: threading.Thread | None = None
        self._closing = threading.Event()
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
        if self._local.uow is not None:
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

    # -- deferred units and the group commit (SQLite) ---------------------------------------

    @property
    def defers_writes(self) -> bool:
        """Whether ``deferred`` is available: on a SQLite file."""
        return self._lock_file is not None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[list[Write]]:
        """A unit of work run on the calling thread (the event loop) whose only writes are new
        rows: reads go to the database directly, ``insert`` collects its row into the yielded
        list instead of writing it, and any other write raises ``NeedsWriter``. The caller
        hands the list to ``commit_deferred`` and answers only once that returns."""
        if not self.defers_writes or self._local.conn is not None:
            raise NeedsWriter
        writes: list[Write] = []
        self._local.deferred = writes
        try:
            yield writes
        finally:
            self._local.deferred = None

    async def commit_deferred(self, writes: list[Write]) -> None:
        """Insert a deferred unit's rows with the group commit; returns once they are
        committed (raises what the insert or the commit raised)."""
        if not writes:
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        batch: _Batch | None = self._local.batch
        if batch is None or batch.loop is not loop:
            # The first unit of this turn of the loop: the batch is written once the requests
            # that are ready now have run up to this point too (a unit that comes while a
            # flush waits for the lock joins its batch). A batch of another, closed loop is
            # left behind: its requests went with it.
            batch = self._local.batch = _Batch(loop)
            loop.call_soon(self._flush, batch, time.monotonic())
        batch.units.append((writes, future))
        self._start_checkpointer()
        await future

    def _flush(self, batch: _Batch, since: float) -> None:
        """Write the batch now if the locks are free; else try again a little later without
        blocking the loop (another process's batch holds them for tens of microseconds), and
        after a while leave it to the writer path, which waits. Whatever fails, every request
        of the batch is answered."""
        try:
            if self._insert_now(batch.units):
                self._close_batch(batch)
                return
            waited = time.monotonic() - since
            if waited < FLUSH_SPIN:
                batch.loop.call_soon(self._flush, batch, since)
            elif waited < FLUSH_PATIENCE:  # e.g. a restarting checkpoint: a few milliseconds
                batch.loop.call_later(0.001, self._flush, batch, since)
            else:
                self._close_batch(batch)
                self._executor.submit(self._insert_on_writer, batch.units)
        except Exception as exc:  # no connection, a shut-down executor...: fail, never hang
            self._close_batch(batch)
            _settle([(unit, exc) for unit in batch.units])

    def _close_batch(self, batch: _Batch) -> None:
        """No more units join ``batch``: the next one starts a new batch."""
        if self._local.batch is batch:
            self._local.batch = None

    def _insert_now(self, batch: list[Unit]) -> bool:
        """Write the batch on this thread if that cannot wait (see the module docstring);
        False, with nothing done, if it would have to."""
        if not self._thread_lock.acquire(blocking=False):
            return False
        try:
            fd = self._lock_descriptor()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            try:
                driver = self._loop_writer()
                try:
                    driver.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError:  # locked by a writer outside this store
                    return False
                outcomes = self._insert_batch(driver, batch)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()
        _settle(outcomes)
        return True

    def _insert_on_writer(self, batch: list[Unit]) -> None:
        """The writer path's side: wait for the locks, write, wake the requests (with the
        error, if the locks or the write failed)."""
        outcomes: list[tuple[Unit, BaseException | None]]
        try:
            with contextlib.ExitStack() as stack:
                driver = self._writer_connection(stack).connection.dbapi_connection
                assert driver is not None
                stack.enter_context(self._exclusive())
                driver.execute("BEGIN IMMEDIATE")
                outcomes = self._insert_batch(driver, batch)
        except Exception as exc:
            outcomes = [(unit, exc) for unit in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Unit, BaseException | None]]] = {}
        for unit, failure in outcomes:
            by_loop.setdefault(unit[1].get_loop(), []).append((unit, failure))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(_settle, settled)

    def _insert_batch(
        self, driver: Any, batch: list[Unit]
    ) -> list[tuple[Unit, BaseException | None]]:
        """Insert every unit (a unit of several rows under a savepoint, so that a failed unit
        leaves the others' rows) in the transaction just begun on ``driver``, and commit once.
        On the driver directly: SQLAlchemy's transaction machinery costs more than the inserts.
        A failed commit fails every unit."""
        cursor = driver.cursor()
        try:
            outcomes = [(unit, self._insert_unit(cursor, unit[0])) for unit in batch]
            cursor.execute("COMMIT")
        except BaseException as exc:
            if driver.in_transaction:
                driver.rollback()
            if not isinstance(exc, Exception):
                raise
            outcomes = [(unit, exc) for unit in batch]
        finally:
            cursor.close()
        return outcomes

    def _insert_unit(self, cursor: Any, writes: list[Write]) -> BaseException | None:
        several = len(writes) > 1
        if several:
            cursor.execute("SAVEPOINT unit")
        try:
            for stmt, params in writes:
                cursor.execute(stmt.text(self.dialect), params)
        except (sqlite3.IntegrityError, sqlite3.DataError) as exc:
            # This unit's rows only: one statement undoes itself (SQLite's statement
            # atomicity), several roll back to the savepoint.
            if several:
                cursor.execute("ROLLBACK TO unit")
                cursor.execute("RELEASE unit")
            return exc
        if several:
            cursor.execute("RELEASE unit")
        return None

    def _loop_writer(self) -> sqlite3.Connection:
        """This thread's connection for the group commit: never waits for a lock
        (busy_timeout 0) and never checkpoints (no disk sync on the event loop)."""
        return self._thread_connection(
            "loop_writer",
            ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=0", "wal_autocheckpoint=0"),
        )

    def _start_checkpointer(self) -> None:
        if self._checkpointer is None:
            with self._raw_lock:
                if self._checkpointer is None:
                    self._checkpointer = threading.Thread(
                        target=self._checkpoint_loop, name="ninja-checkpoint", daemon=True
                    )
                    self._checkpointer.start()

    def _checkpoint_loop(self) -> None:
        """Copy the WAL back into the database off the event loop (the loop's writes never
        checkpoint). Errors are tried again on the next pass; the WAL stays valid meanwhile."""
        conn: sqlite3.Connection | None = None
        try:
            while not self._closing.wait(CHECKPOINT_EVERY):
                try:
                    if conn is None:
                        conn = sqlite3.connect(str(self._sqlite_path), isolation_level=None)
                        conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                    self._checkpoint(conn)
                except (sqlite3.Error, OSError):
                    continue
        finally:
            if conn is not None:
                conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """A passive checkpoint runs beside the writers and does the bulk of the copying. A
        long WAL that it copied whole is then restarted, holding this store's writers back
        for a moment (their loops try again meanwhile); a reader still on the WAL makes the
        restart give up after RESTART_WAIT_MS, to be tried on a later pass. The first write
        into a restarted WAL syncs its new header to disk: it is made here too, not by a
        request on the event loop."""
        _, pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if pages <= CHECKPOINT_RESTART_PAGES or copied < pages:
            return
        with self._exclusive():
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            if not busy:
                # Rewriting the header's user_version with its value is a one-page write.
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                conn.execute(f"PRAGMA user_version={version}")

    # -- write transactions --------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction; nested calls on the same thread join the outer one, and inside
        a unit of work the transaction stays open until the unit ends."""
        if self._local.deferred is not None:
            raise NeedsWriter
        current: Connection | None = self._local.conn
        if current is not None:
            yield current
            return
        uow: contextlib.ExitStack | None = self._local.uow
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
        conn: Connection | None = self._local.writer
        if conn is None or conn.closed or conn.invalidated:
            conn = self._write_engine.connect()
            self._local.writer = conn
            with self._raw_lock:
                self._writer_connections.append(conn)
        return conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (or the current write transaction's, if there is one)."""
        current: Connection | None = self._local.conn
        if current is not None:
            yield current
            return
        with self.engine.connect() as conn:
            yield conn

    # -- the hot statements, on the driver's cursor ----------------------------------------

    def fetchone(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """One row of a hot read (inside the current write transaction if there is one)."""
        current: Connection | None = self._local.conn
        if current is not None:
            return _fetchone(current.connection.dbapi_connection, stmt.text(self.dialect), params)
        if self.dialect == "sqlite":
            return _fetchone(self._raw_reader(), stmt.text(self.dialect), params)
        with self.engine.connect() as conn:
            return _fetchone(conn.connection.dbapi_connection, stmt.text(self.dialect), params)

    def insert(self, stmt: Sql, params: dict[str, Any]) -> None:
        """Add a row: now, in the current (or a new) write transaction, or, in a deferred unit
        of work, with the group commit."""
        deferred: list[Write] | None = self._local.deferred
        if deferred is not None:
            deferred.append((stmt, params))
            return
        with self.transaction() as conn:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            try:
                cursor.execute(stmt.text(self.dialect), params)
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
        return self._thread_connection("raw", ("busy_timeout=10000", "query_only=ON"))

    def _thread_connection(self, name: str, pragmas: tuple[str, ...]) -> sqlite3.Connection:
        """This thread's autocommit driver connection called ``name``, opened once with
        ``pragmas`` and closed with the store."""
        conn: sqlite3.Connection | None = self._local.opened.get(name)
        if conn is None:
            conn = sqlite3.connect(
                str(self._sqlite_path), isolation_level=None, check_same_thread=False
            )
            for pragma in pragmas:
                conn.execute("PRAGMA " + pragma)
            self._local.opened[name] = conn
            with self._raw_lock:
                self._raw_connections.append(conn)
        return conn

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        if self._lock_file is None:
            yield
            return
        with self._thread_lock:
            fd = self._lock_descriptor()
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock_descriptor(self) -> int:
        """The lock file, opened once (under ``_thread_lock``)."""
        if self._lock_fd is None:
            assert self._lock_file is not None
            self._lock_fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        return self._lock_fd

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
        self._closing.set()
        if self._checkpointer is not None:
            self._checkpointer.join()  # a pass takes milliseconds (RESTART_WAIT_MS at most waiting)
        # Writes still queued or running (a purge started by an app that has shut down, a
        # group commit handed to the writer) finish before their connections are closed under
        # them, and the requests waiting on a batch are answered.
        self._executor.shutdown(wait=True)
        for raw in self._raw_connections:
            raw.close()
        self._raw_connections.clear()
        for writer in self._writer_connections:
            with contextlib.suppress(Exception):
                writer.close()
        self._writer_connections.clear()
        self.engine.dispose()
        with self._thread_lock:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None

    async def aclose(self) -> None:
        if self.async_engine is not None:
            await self.async_engine.dispose()
        self.close()


class _Batch:
    """The units queued on one event loop for the next group commit."""

    __slots__ = ("loop", "units")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.units: list[Unit] = []


def _settle(outcomes: list[tuple[Unit, BaseException | None]]) -> None:
    """On the event loop: wake the requests of a written batch."""
    for (_, future), failure in outcomes:
        if future.done():  # its request was cancelled meanwhile
            continue
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)


def null_pool_engine(url: str) -> Engine:
    """An engine for one-off work (migrations) that leaves no pooled connection behind."""
    return create_engine(url, poolclass=NullPool)
