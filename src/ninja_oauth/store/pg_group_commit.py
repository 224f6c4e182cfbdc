"""The PostgreSQL group commit of deferred units' rows, on the event loop.

A request whose only writes are new rows (a client_credentials token) runs on the event loop
on PostgreSQL as it does on SQLite (a deferred unit, unit_of_work.py): its reads are made with
psycopg's async connections before it runs (``NeedsRead``, db.py), its rows are handed here.
The rows of every request that reached that point while the previous batch was committing are
inserted in one transaction, BEGIN to COMMIT sent in one round trip (psycopg's pipeline mode),
and committed once: one WAL flush for the batch, with ``synchronous_commit`` on, so each
request is answered only once its row is durable. One batch at a time per event loop, on the
loop's own connection: the loop serves other requests while a batch commits, and the next batch
grows meanwhile.

A batch refused as a whole (a unit's row breaks a constraint: its app was deleted meanwhile) is
rolled back and its units written one transaction each, so each request gets its own outcome.
A connection lost under a batch fails the batch's units (the callers answer 503) and is
replaced by the next batch.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg.pq import TransactionStatus

from ninja_oauth.store.group_commit import Unit, settle
from ninja_oauth.store.pg_reads import connect, conninfo, unusable
from ninja_oauth.store.statements import Sql, Write


class PgGroupCommit:
    """Batches deferred units per event loop and commits each batch in one transaction."""

    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url)
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = WeakKeyDictionary()

    async def commit(self, writes: list[Write]) -> None:
        """Insert a deferred unit's rows with the next batch; returns once they are committed
        (raises what the insert or the commit raised)."""
        if not writes:
            return
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
        future: asyncio.Future[None] = loop.create_future()
        state.pending.append((writes, future))
        if state.flusher is None:
            state.flusher = loop.create_task(self._flush(state))
        await future

    async def _flush(self, state: _Loop) -> None:
        """Commit batch after batch until no unit waits."""
        try:
            while state.pending:
                # The requests that are ready now reach their commit in this turn: they join.
                await asyncio.sleep(0)
                batch, state.pending = state.pending, []
                settle(await self._write(state, batch))
        finally:
            state.flusher = None

    async def _write(
        self, state: _Loop, batch: list[Unit]
    ) -> list[tuple[Unit, BaseException | None]]:
        try:
            conn = await state.connection(self._conninfo)
            try:
                await _insert(conn, [writes for writes, _ in batch])
                return [(unit, None) for unit in batch]
            except (psycopg.IntegrityError, psycopg.DataError):
                if len(batch) == 1:
                    raise
            # Some unit's row was refused: each unit in a transaction of its own.
            outcomes: list[tuple[Unit, BaseException | None]] = []
            for unit in batch:
                try:
                    await _insert(conn, [unit[0]])
                    outcomes.append((unit, None))
                except (psycopg.IntegrityError, psycopg.DataError) as exc:
                    outcomes.append((unit, exc))
            return outcomes
        except Exception as exc:  # a lost connection, a shut-down server...: fail, never hang
            await state.drop_if_broken()
            return [(unit, exc) for unit in batch]

    async def aclose(self) -> None:
        state = self._loops.pop(asyncio.get_running_loop(), None)
        if state is not None and state.conn is not None:
            await state.conn.close()

    def close(self) -> None:
        """Close every loop's connection, from outside any loop (the store's close)."""
        for state in list(self._loops.values()):
            if state.conn is not None:
                state.conn.pgconn.finish()
        self._loops.clear()


async def _insert(conn: psycopg.AsyncConnection[Any], units: list[list[Write]]) -> None:
    """The units' statements in one transaction, committed once. Rows of an ``appends``
    statement go in one statement of as many rows (``_combined``); when that leaves a single
    statement, it runs alone on the autocommit connection, its own transaction: one message,
    no BEGIN or COMMIT to send (a batch of client_credentials tokens). Otherwise all are sent
    in one round trip: BEGIN and COMMIT are statements of the pipeline (psycopg's
    ``transaction()`` would send each in a round trip of its own). A failed statement aborts
    the pipeline's rest, COMMIT included; the transaction is then rolled back."""
    statements = _combined([write for writes in units for write in writes])
    if len(statements) == 1:
        text, params = statements[0]
        await conn.execute(text, params)
        return
    try:
        async with conn.pipeline():
            cursor = conn.cursor()
            await cursor.execute("BEGIN")
            for text, params in statements:
                await cursor.execute(text, params)
            await cursor.execute("COMMIT")
    except psycopg.Error:
        if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        raise


def _combined(writes: list[Write]) -> list[tuple[str, dict[str, Any]]]:
    """``writes`` as the statements to run, in their order: the rows of each ``appends``
    statement in one statement (``Sql.rows``), where its first row was; the others as they
    are."""
    order: list[tuple[Sql, list[dict[str, Any]]]] = []
    appended: dict[Sql, list[dict[str, Any]]] = {}
    for stmt, params in writes:
        if stmt in appended:
            appended[stmt].append(params)
            continue
        rows = [params]
        if stmt.appends:
            appended[stmt] = rows
        order.append((stmt, rows))
    return [
        (stmt.text("postgresql"), rows[0])
        if len(rows) == 1 or stmt.rows is None
        else (stmt.rows, {"rows": json.dumps(rows)})
        for stmt, rows in order
    ]


class _Loop:
    """One event loop's batches: the units waiting, the task committing, its connection."""

    __slots__ = ("conn", "flusher", "pending")

    def __init__(self) -> None:
        self.pending: list[Unit] = []
        self.flusher: asyncio.Task[None] | None = None
        self.conn: psycopg.AsyncConnection[Any] | None = None

    async def connection(self, info: str) -> psycopg.AsyncConnection[Any]:
        """The loop's connection; one the server closed while idle (a restart), or past its
        lifetime, is replaced before use, so no batch meets it (``pg_reads.unusable``)."""
        if self.conn is not None and unusable(self.conn):
            await self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = await connect(info)
        return self.conn

    async def drop_if_broken(self) -> None:
        if self.conn is not None and (self.conn.broken or self.conn.closed):
            await self.conn.close()
            self.conn = None
