"""The ambient unit of work: each thread's current write transaction, which the repositories
join without being handed a connection.

A request's writes form one unit of work (``unit_of_work``): its write transaction opens at the
first write and commits when the unit ends. A request whose only writes are new rows can instead
run as a deferred unit (``deferred``) on the event loop: its rows are collected, to be written
by the group commit (group_commit.py), and any other write raises ``NeedsWriter``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Connection, Engine

from ninja_oauth.store.engine import read_engine
from ninja_oauth.store.sqlite_kept import VersionedRows
from ninja_oauth.store.statements import Sql, Write, fetch_one
from ninja_oauth.store.writer import FileLock, WriterPath


class NeedsWriter(Exception):
    """Raised inside a deferred unit of work by a write that cannot wait for the group commit
    (one whose outcome the request depends on): the caller reruns the request on the writer
    path. Nothing has been written when it is raised."""


class NeedsRead(Exception):
    """Raised inside a deferred unit of work on PostgreSQL by a hot read not made yet: the
    caller makes it with psycopg's async driver (never blocking the event loop on the network)
    and runs the unit again, the row then at hand. Nothing has been written when it is
    raised."""

    def __init__(self, stmt: Sql, params: dict[str, Any]) -> None:
        super().__init__("a read to make first")
        self.stmt = stmt
        self.params = params


def read_key(stmt: Sql, params: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a hot read among a unit's prefetched rows."""
    return (stmt, *sorted(params.items()))


class _PerThread(threading.local):
    """A Store's state on one thread. Class-level defaults: ``getattr(local, name, None)`` on an
    unset name raises and formats an AttributeError inside, which cost several microseconds
    per token request on the hot path."""

    uow: contextlib.ExitStack | None = None  # the current unit of work
    conn: Connection | None = None  # its write transaction, once opened
    deferred: list[Write] | None = None  # the rows of the current deferred unit
    # On PostgreSQL, the rows of the hot reads the current deferred unit has made (read_key).
    prefetched: dict[tuple[Any, ...], Any] | None = None


class Transactions:
    """The current unit of work and write transaction of each thread, per Store (two stores
    never mix)."""

    def __init__(
        self,
        *,
        dialect: str,
        engine: Engine,
        writer: WriterPath,
        lock: FileLock,
        reader: Callable[[], sqlite3.Connection] | None,
        defers: bool,
    ) -> None:
        self._dialect = dialect
        self._engine = engine
        self._autocommit = read_engine(engine)  # a hot read outside a transaction
        self._writer_connection = writer.connection
        self._exclusive = lock.held
        self._reader = reader
        self.versioned = VersionedRows()
        self.defers = defers
        self._local = _PerThread()

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

    @contextlib.contextmanager
    def deferred(
        self, prefetched: dict[tuple[Any, ...], Any] | None = None
    ) -> Iterator[list[Write]]:
        """A unit of work run on the calling thread (the event loop) whose only writes are new
        rows: reads go to the database directly (on SQLite), or, given ``prefetched`` (on
        PostgreSQL), are answered from it and raise ``NeedsRead`` for any row not there yet;
        ``insert`` collects its row into the yielded list instead of writing it, and any other
        write raises ``NeedsWriter``. The caller hands the list to the group commit and
        answers only once that returns. Raises ``NeedsWriter`` at once where it cannot defer:
        an in-memory SQLite database, or inside a write transaction."""
        if not self.defers or self._local.conn is not None:
            raise NeedsWriter
        writes: list[Write] = []
        self._local.deferred = writes
        self._local.prefetched = prefetched
        try:
            yield writes
        finally:
            self._local.deferred = None
            self._local.prefetched = None

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

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read-only connection (or the current write transaction's, if there is one)."""
        current: Connection | None = self._local.conn
        if current is not None:
            yield current
            return
        if self._local.prefetched is not None:  # no blocking read on PostgreSQL's event loop
            raise NeedsWriter
        with self._engine.connect() as conn:
            yield conn

    # -- the hot statements, on the driver's cursor ----------------------------------------

    def fetchone(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """One row of a hot read (inside the current write transaction if there is one)."""
        current: Connection | None = self._local.conn
        if current is not None:
            return fetch_one(current.connection.dbapi_connection, stmt.text(self._dialect), params)
        prefetched = self._local.prefetched
        if prefetched is not None:
            try:
                return prefetched[read_key(stmt, params)]
            except KeyError:
                raise NeedsRead(stmt, params) from None
        if self._reader is not None:
            if stmt.versioned_by is not None:
                return self.versioned.fetchone(self._reader(), stmt, params, self._local.deferred)
            return fetch_one(self._reader(), stmt.text(self._dialect), params)
        with self._autocommit.connect() as conn:
            return fetch_one(conn.connection.dbapi_connection, stmt.text(self._dialect), params)

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
                cursor.execute(stmt.text(self._dialect), params)
            finally:
                cursor.close()
