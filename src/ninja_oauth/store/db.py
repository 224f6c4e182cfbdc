"""The database as one object: reads on the event loop, writes on one writer path per process,
and the policy that decides how a request's writes are committed (``Store.run``).

SQLite (WAL, ``synchronous=NORMAL``) allows one writer at a time across all processes: each
process funnels its writes through one thread, and processes take turns on a file lock
(writer.py). Reads are single indexed lookups of a few microseconds, so on SQLite they run on
the event loop directly (reads.py). On PostgreSQL, reads use psycopg's async driver and writes a
small thread pool; every racing state change is one atomic statement there. A request whose
only writes are new rows runs on the event loop on SQLite and hands its rows to a group commit
(group_commit.py).

The parts, one job each: engine.py (engines, SQLite pragmas, each thread's own driver
connections), statements.py (``Sql``), unit_of_work.py (the ambient unit of work and write
transaction), writer.py (the file lock and the writer threads), group_commit.py,
checkpointer.py (the background WAL checkpointer), reads.py and sqlite_kept.py (the rows kept
while a data_versions counter stands still). ``Store`` composes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.checkpointer import Checkpointer
from ninja_oauth.store.engine import ThreadConnections, create_engines, sqlite_file, write_engine
from ninja_oauth.store.errors import StoreUnavailable, database_unavailable
from ninja_oauth.store.group_commit import GroupCommit
from ninja_oauth.store.reads import LoopReads
from ninja_oauth.store.sqlite_kept import StaleRead
from ninja_oauth.store.statements import Sql, Write
from ninja_oauth.store.unit_of_work import NeedsRead, NeedsWriter, Transactions, read_key
from ninja_oauth.store.writer import FileLock, WriterPath

if TYPE_CHECKING:
    from ninja_oauth.store.pg_group_commit import PgGroupCommit

T = TypeVar("T")

# The hot reads a deferred unit may make on PostgreSQL's event loop before it is sent to the
# writer path instead (each one reruns it).
_MAX_LOOP_READS = 3


class _Prefetched(dict[tuple[Any, ...], Any]):
    """A deferred unit's rows on PostgreSQL (``read_key`` to row): those read for it, and
    otherwise those that the loop keeps (pg_changes.py), so that a unit whose reads are all
    kept runs once, not again after a read."""

    def __init__(self, kept: Callable[[Sql, dict[str, Any]], Any]) -> None:
        super().__init__()
        self._kept = kept

    def __missing__(self, key: tuple[Any, ...]) -> Any:
        row = self._kept(key[0], dict(key[1:]))
        if row is None:
            raise KeyError(key)
        self[key] = row  # the unit's runs see one row, whatever the loop keeps meanwhile
        return row


class Store:
    """The database: engines, the writer path, and the current unit of work."""

    # The parts' own methods, bound to the instance in __init__: the hot paths (fetchone and
    # insert on every token request, fetchone_async on every bearer check) take no extra call
    # through this facade.
    unit_of_work: Callable[[], AbstractContextManager[None]]
    transaction: Callable[[], AbstractContextManager[Connection]]
    reading: Callable[[], AbstractContextManager[Connection]]
    fetchone: Callable[[Sql, dict[str, Any]], Any]
    insert: Callable[[Sql, dict[str, Any]], None]
    fetchone_async: Callable[[Sql, dict[str, Any]], Coroutine[Any, Any, Any]]
    fetchall_async: Callable[[Sql, dict[str, Any]], Coroutine[Any, Any, list[Any]]]
    # The store's internals behind ``run`` (as is NeedsWriter): nothing
    # outside the store needs them; the store's tests do.
    deferred: Callable[[], AbstractContextManager[list[Write]]]
    commit_deferred: Callable[[list[Write]], Coroutine[Any, Any, None]]

    def __init__(self, url: str, *, writer_threads: int | None = None) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        path = sqlite_file(url)
        engine, async_engine = create_engines(url)
        self.engine: Engine = engine
        self.async_engine: AsyncEngine | None = async_engine
        self._lock = FileLock(path.with_name(path.name + ".write-lock") if path else None)
        self._connections = ThreadConnections(path)
        # SQLite has one writer at a time across all processes: one writer thread.
        threads = 1 if self.dialect == "sqlite" else writer_threads or 8
        self._writer = WriterPath(write_engine(engine), threads)
        self._checkpointer = Checkpointer(path, self._lock)
        # Hot reads on each thread's own driver connection to a SQLite file; None elsewhere
        # (PostgreSQL, or an in-memory SQLite database, whose one connection is the engine's).
        reader = self._connections.reader if path is not None else None
        self._transactions = Transactions(
            dialect=self.dialect,
            engine=engine,
            writer=self._writer,
            lock=self._lock,
            reader=reader,
            defers=path is not None or self.dialect == "postgresql",
        )
        self._pg_group_commit: PgGroupCommit | None = None
        if self.dialect == "postgresql":
            # Imported here: psycopg is about 10 MB per process that a SQLite server never uses.
            from ninja_oauth.store.pg_group_commit import PgGroupCommit

            self._pg_group_commit = PgGroupCommit(url)
        self._group_commit = GroupCommit(
            lock=self._lock,
            writer=self._writer,
            connections=self._connections,
            checkpointer=self._checkpointer,
        )
        self._reads = LoopReads(
            url=url,
            dialect=self.dialect,
            engine=engine,
            async_engine=self.async_engine,
            reader=reader,
        )
        self.unit_of_work = self._transactions.unit_of_work
        self.transaction = self._transactions.transaction
        self.reading = self._transactions.reading
        self.fetchone = self._transactions.fetchone
        self.insert = self._transactions.insert
        self.fetchone_async = self._reads.fetchone_async
        self.fetchall_async = self._reads.fetchall_async
        self.deferred = self._transactions.deferred
        self.commit_deferred = self._group_commit.commit

    async def run(self, work: Callable[[], T], writes: Writes) -> T:
        """Run one request's ``work`` and commit what it wrote, as ``writes`` allows.

        ``APPENDS`` on a SQLite file or PostgreSQL: on the calling event loop as a deferred
        unit, its rows joining the group commit (group_commit.py, pg_group_commit.py); returns
        once they are committed. A write of another kind on the way (``NeedsWriter``: nothing
        was written) reruns it as ``CHANGES``. ``CHANGES``, and ``APPENDS`` where nothing can
        be deferred (an in-memory SQLite, a write transaction open on this thread): whole on
        the writer path, as one unit of work.
        A database that cannot answer now raises ``StoreUnavailable`` (store/errors.py)."""
        if writes is Writes.APPENDS and self._transactions.defers:
            try:
                if self._pg_group_commit is not None:
                    return await self._on_the_loop(work, self._pg_group_commit)
                return await self._on_the_sqlite_loop(work)
            except NeedsWriter:  # raised by work: nothing was written
                pass
            except Exception as exc:
                if database_unavailable(exc):
                    raise StoreUnavailable from exc
                raise
        try:
            return await self._writer.run(functools.partial(self._in_one_unit, work))
        finally:
            # PostgreSQL: what this loop kept may predate the write (store/pg_changes.py).
            self._reads.forget()

    async def _on_the_sqlite_loop(self, work: Callable[[], T]) -> T:
        """SQLite's ``APPENDS``: ``work`` as a deferred unit on the event loop, its rows joining
        the group commit. A unit served a kept row that proves stale at its commit wrote
        nothing: it runs once more, on rows read anew (sqlite_kept.py); were that one found
        stale too (another thread kept a row meanwhile), the writer path takes it."""
        for _ in range(2):
            with self._transactions.deferred() as rows:
                result = work()
            try:
                await self._group_commit.commit(rows)
            except StaleRead:
                self._transactions.versioned.forget()
                continue
            return result
        raise NeedsWriter

    async def _on_the_loop(self, work: Callable[[], T], group: PgGroupCommit) -> T:
        """PostgreSQL's ``APPENDS``: ``work`` as a deferred unit on the event loop. Each hot read
        it makes is made first with psycopg's async driver (``NeedsRead``), then ``work`` runs
        again with the row at hand: a client_credentials token reads once (its app and the
        throttle's blocks, in one statement), before most of the grant's work. After a few
        reads it goes to the writer path instead (``NeedsWriter``, as any other write)."""
        prefetched = _Prefetched(self._reads.kept)
        for _ in range(_MAX_LOOP_READS + 1):
            try:
                with self._transactions.deferred(prefetched) as rows:
                    result = work()
            except NeedsRead as need:
                row = await self._reads.fetchone_async(need.stmt, need.params)
                prefetched[read_key(need.stmt, need.params)] = row
                continue
            await group.commit(rows)
            return result
        raise NeedsWriter

    def _in_one_unit(self, work: Callable[[], T], unit: bool = True) -> T:
        """On a writer thread: ``work`` in one unit of work (without one if ``unit`` is False),
        a lost or unreachable database raised as ``StoreUnavailable``."""
        try:
            if not unit:
                return work()
            # One transaction per request: code redemption and its token insert commit
            # together, and a replay's revocation or a failure count commits with its error.
            with self._transactions.unit_of_work():
                return work()
        except Exception as exc:
            if database_unavailable(exc):
                # This thread's kept connection may be the one lost: the next write opens a
                # new one (the pool's are checked before use: engine.py).
                self._writer.discard_connection()
                raise StoreUnavailable from exc
            raise

    async def read(self, fn: Callable[[Connection], T], *, long: bool = False) -> T:
        """Run a short read: on the loop for SQLite, through psycopg's async driver otherwise;
        a ``long`` one in a worker thread (store/reads.py)."""
        try:
            return await self._reads.read(fn, long=long)
        except Exception as exc:
            if database_unavailable(exc):
                raise StoreUnavailable from exc
            raise

    async def read_in_thread(self, work: Callable[[], T]) -> T:
        """Run a read that may take long (the console's lists, the audit export) in a worker
        thread on its own connection: never on the event loop, where the token and bearer paths
        run, nor on the writer path."""
        try:
            return await anyio.to_thread.run_sync(work)
        except Exception as exc:
            if database_unavailable(exc):
                raise StoreUnavailable from exc
            raise

    async def write(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on this process's writer path; ``fn`` opens ``transaction()`` as needed."""
        try:
            return await self._writer.run(functools.partial(self._in_one_unit, fn, False))
        finally:
            self._reads.forget()

    def close(self) -> None:
        self._checkpointer.close()
        # Writes still queued or running (a purge started by an app that has shut down, a
        # group commit handed to the writer) finish before their connections are closed under
        # them, and the requests waiting on a batch are answered.
        self._writer.close()
        self._connections.close()
        self._reads.close()
        if self._pg_group_commit is not None:
            self._pg_group_commit.close()
        self.engine.dispose()
        self._lock.close()

    async def aclose(self) -> None:
        await self._reads.aclose()
        if self._pg_group_commit is not None:
            await self._pg_group_commit.aclose()
        if self.async_engine is not None:
            await self.async_engine.dispose()
        self.close()
