"""Reads from the event loop. Reads are single indexed lookups of a few microseconds, so on
SQLite they run on the event loop directly: a threadpool hop would cost more than the read. On
PostgreSQL the hot statements use psycopg's async connections directly (pg_reads.py), and Core
reads SQLAlchemy's async engine, in autocommit."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from sqlalchemy import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from ninja_oauth.store.engine import read_engine
from ninja_oauth.store.errors import StoreUnavailable, database_unavailable
from ninja_oauth.store.statements import Sql, fetch_all, fetch_one

if TYPE_CHECKING:
    from ninja_oauth.store.pg_reads import LoopConnections

T = TypeVar("T")

# A hot read's parameters as one key (its batch's, pg_reads.fetch_keyed; its kept row's): one
# encoder kept, as json.dumps would build one per call with these arguments.
_PARAMS_KEY = json.JSONEncoder(sort_keys=True, separators=(",", ":"))


class LoopReads:
    """The event loop's reads: hot statements on the driver's cursor, and short Core reads."""

    def __init__(
        self,
        *,
        url: str,
        dialect: str,
        engine: Engine,
        async_engine: AsyncEngine | None,
        reader: Callable[[], sqlite3.Connection] | None,
    ) -> None:
        self._dialect = dialect
        self._engine = engine
        self._read_engine = read_engine(engine)  # the long reads, in worker threads
        self._async_engine = async_engine
        self._reader = reader
        self._pg: LoopConnections | None = None
        if dialect == "postgresql":
            # Imported here: psycopg is about 10 MB per process that a SQLite server never uses.
            from ninja_oauth.store.pg_reads import LoopConnections

            self._pg = LoopConnections(url)

    def _in_file_or_server(self) -> bool:
        return self._reader is not None or self._async_engine is not None

    def _read_now(self, fn: Callable[[Connection], T]) -> T:
        with self._read_engine.connect() as conn:
            return fn(conn)

    async def fetchone_async(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """A hot read from the event loop: SQLite directly (microseconds), PostgreSQL through
        psycopg's async driver; a ``keyed`` statement there is read with this loop's other
        reads of it, in one statement. A database that cannot answer now raises
        StoreUnavailable."""
        try:
            if self._reader is not None:
                return fetch_one(self._reader(), stmt.text(self._dialect), params)
            if self._pg is not None and stmt.keyed is not None:
                key = _PARAMS_KEY.encode(params)
                row = await self._pg.fetch_keyed(stmt.keyed, key, stmt.changes, stmt.kept_if)
                return None if row is None else row[1:]
            return await self._elsewhere(fetch_one, stmt, params)
        except Exception as exc:
            if database_unavailable(exc):
                raise StoreUnavailable from exc
            raise

    def kept(self, stmt: Sql, params: dict[str, Any]) -> Any:
        """The row of a hot read that the running loop keeps on PostgreSQL (pg_changes.py),
        without a round trip; None when it keeps none."""
        if self._pg is None or stmt.keyed is None or not stmt.changes:
            return None
        key = _PARAMS_KEY.encode(params)
        row = self._pg.kept(stmt.keyed, key)
        return None if row is None else row[1:]

    async def fetchall_async(self, stmt: Sql, params: dict[str, Any]) -> list[Any]:
        """Every row of a hot read from the event loop, as fetchone_async reads one (the
        driver's tuples: JSON columns come back as text on SQLite, decoded on PostgreSQL)."""
        try:
            if self._reader is not None:
                return fetch_all(self._reader(), stmt.text(self._dialect), params)
            rows: list[Any] = await self._elsewhere(fetch_all, stmt, params)
            return rows
        except Exception as exc:
            if database_unavailable(exc):
                raise StoreUnavailable from exc
            raise

    async def _elsewhere(
        self, fetch: Callable[[Any, str, dict[str, Any]], Any], stmt: Sql, params: dict[str, Any]
    ) -> Any:
        """A hot read without a SQLite file: psycopg's async connections (pg_reads.py), or an
        in-memory SQLite database's one connection."""
        text = stmt.text(self._dialect)
        if self._pg is not None:
            return await self._pg.fetch(text, params, every=fetch is fetch_all)
        with self._engine.connect() as conn:
            return fetch(conn.connection.dbapi_connection, text, params)

    def forget(self) -> None:
        """The running loop committed a write: on PostgreSQL, drop the rows it kept
        (pg_changes.py), so that what it answers next reads the write."""
        if self._pg is not None:
            self._pg.forget()

    async def aclose(self) -> None:
        if self._pg is not None:
            await self._pg.aclose()

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()

    async def read(self, fn: Callable[[Connection], T], *, long: bool = False) -> T:
        """Run a short read: on the loop for SQLite, through psycopg's async driver otherwise.
        A ``long`` one (a page of thousands of rows, a list without a bound) runs in a worker
        thread on a pooled connection instead, on either store: building its rows takes
        milliseconds, which the loop spends answering other requests meanwhile (the hop costs
        tens of microseconds). An in-memory SQLite database has one connection, shared with
        the writer: its reads stay on the loop."""
        if long and self._in_file_or_server():
            return await anyio.to_thread.run_sync(self._read_now, fn)
        if self._async_engine is None:
            with self._engine.connect() as conn:
                return fn(conn)
        async with self._async_engine.connect() as aconn:
            return await aconn.run_sync(fn)
