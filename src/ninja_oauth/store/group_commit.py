"""The SQLite group commit of deferred units' rows.

A request whose only writes are new rows (a client_credentials token) can run on the event loop
on SQLite (a deferred unit, unit_of_work.py) and hand its rows to the group commit: the rows of
every request that reached that point in the same turn of the loop are inserted in one
transaction. The loop writes them itself only when that cannot wait: the write locks are free
at once (never waited for), and its commits do not wait for the disk (WAL with
``synchronous=NORMAL`` syncs at checkpoints, which this store runs in a background thread,
checkpointer.py; the one sync a loop's commit can meet is of the WAL's 32-byte header, when it
happens to be the first write after a completed checkpoint). Otherwise the batch goes to the
writer path, which waits its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from typing import Any

from ninja_oauth.store.checkpointer import Checkpointer
from ninja_oauth.store.engine import ThreadConnections
from ninja_oauth.store.sqlite_kept import CHECK, StaleRead, unchanged
from ninja_oauth.store.statements import Write
from ninja_oauth.store.writer import FileLock, WriterPath

# A deferred unit's rows and the future its request awaits.
Unit = tuple[list[Write], "asyncio.Future[None]"]

# When the write locks are taken (mostly by another process's batch, for tens of microseconds),
# the loop tries again on each of its turns for FLUSH_SPIN seconds (other requests run
# meanwhile), then every millisecond, and after FLUSH_PATIENCE hands the batch to the writer
# path, which waits for the locks. Handing it over at once would cost more: under load a thread
# waits for the GIL up to the interpreter's switch interval (5 ms), holding the locks if it has
# them, which stalls every other process's writes as well.
FLUSH_SPIN = 0.0005
FLUSH_PATIENCE = 0.05


class _PerThread(threading.local):
    # A class-level default: see unit_of_work._PerThread.
    batch: _Batch | None = None  # the group commit being formed on this thread's loop


class GroupCommit:
    """Batches deferred units per event loop and writes each batch in one transaction."""

    def __init__(
        self,
        *,
        lock: FileLock,
        writer: WriterPath,
        connections: ThreadConnections,
        checkpointer: Checkpointer,
    ) -> None:
        self._lock = lock
        self._writer = writer
        self._connections = connections
        self._start_checkpointer = checkpointer.start
        self._local = _PerThread()

    async def commit(self, writes: list[Write]) -> None:
        """Insert a deferred unit's rows with the group commit; returns once they are
        committed (raises what the insert or the commit raised)."""
        if not writes:
            return
        if all(stmt is CHECK for stmt, _ in writes):
            # A unit served kept rows that writes nothing: its checks, on a read.
            if not unchanged(self._connections.reader(), writes, {}):
                raise StaleRead
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
                self._writer.submit(self._insert_on_writer, batch.units)
        except Exception as exc:  # no connection, a shut-down executor...: fail, never hang
            self._close_batch(batch)
            settle([(unit, exc) for unit in batch.units])

    def _close_batch(self, batch: _Batch) -> None:
        """No more units join ``batch``: the next one starts a new batch."""
        if self._local.batch is batch:
            self._local.batch = None

    def _insert_now(self, batch: list[Unit]) -> bool:
        """Write the batch on this thread if that cannot wait (see the module docstring);
        False, with nothing done, if it would have to."""
        if not self._lock.acquire_now():
            return False
        try:
            driver = self._loop_writer()
            try:
                driver.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:  # locked by a writer outside this store
                return False
            outcomes = self._insert_batch(driver, batch)
        finally:
            self._lock.release()
        settle(outcomes)
        return True

    def _insert_on_writer(self, batch: list[Unit]) -> None:
        """The writer path's side: wait for the locks, write, wake the requests (with the
        error, if the locks or the write failed)."""
        outcomes: list[tuple[Unit, BaseException | None]]
        try:
            with contextlib.ExitStack() as stack:
                driver = self._writer.connection(stack).connection.dbapi_connection
                assert driver is not None
                stack.enter_context(self._lock.held())
                driver.execute("BEGIN IMMEDIATE")
                outcomes = self._insert_batch(driver, batch)
        except Exception as exc:
            outcomes = [(unit, exc) for unit in batch]
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Unit, BaseException | None]]] = {}
        for unit, failure in outcomes:
            by_loop.setdefault(unit[1].get_loop(), []).append((unit, failure))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: its requests are gone
                loop.call_soon_threadsafe(settle, settled)

    def _insert_batch(
        self, driver: Any, batch: list[Unit]
    ) -> list[tuple[Unit, BaseException | None]]:
        """Insert every unit (a unit of several rows under a savepoint, so that a failed unit
        leaves the others' rows) in the transaction just begun on ``driver``, and commit once.
        On the driver directly: SQLAlchemy's transaction machinery costs more than the inserts.
        A failed commit fails every unit."""
        cursor = driver.cursor()
        seen: dict[str, int] = {}  # the counters that the units' checks read
        try:
            outcomes = [(unit, _insert_unit(cursor, unit[0], seen)) for unit in batch]
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

    def _loop_writer(self) -> sqlite3.Connection:
        """This thread's connection for the group commit: never waits for a lock
        (busy_timeout 0) and never checkpoints (no disk sync on the event loop)."""
        return self._connections.get(
            "loop_writer",
            ("synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=0", "wal_autocheckpoint=0"),
        )


def _insert_unit(cursor: Any, writes: list[Write], seen: dict[str, int]) -> BaseException | None:
    """Insert a unit's rows, unless one of its checks finds a kept row stale (sqlite_kept.py):
    the checks come first, in the batch's write transaction."""
    checks = [write for write in writes if write[0] is CHECK]
    if checks:
        if not unchanged(cursor, checks, seen):
            return StaleRead()
        writes = [write for write in writes if write[0] is not CHECK]
    if not all(stmt.appends for stmt, _ in writes):
        # Another write than a token row may move a counter (a pass granted fires 0012's
        # trigger): the next unit's checks read the counters again.
        seen.clear()
    several = len(writes) > 1
    if several:
        cursor.execute("SAVEPOINT unit")
    try:
        for stmt, params in writes:
            # The group commit runs on SQLite only.
            cursor.execute(stmt.text("sqlite"), params)
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


class _Batch:
    """The units queued on one event loop for the next group commit."""

    __slots__ = ("loop", "units")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.units: list[Unit] = []


def settle(outcomes: list[tuple[Unit, BaseException | None]]) -> None:
    """On the event loop: wake the requests of a written batch."""
    for (_, future), failure in outcomes:
        if future.done():  # its request was cancelled meanwhile
            continue
        if failure is None:
            future.set_result(None)
        else:
            future.set_exception(failure)
