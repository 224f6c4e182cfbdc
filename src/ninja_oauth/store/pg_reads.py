"""The hot reads on PostgreSQL: psycopg's async connections, in autocommit, kept per event loop.

A bearer check is one indexed read. Through SQLAlchemy's async engine it cost a worker about
four times the read itself (bench/README.md, issue 13): the pool's checkout and return, a
greenlet per statement, and a transaction around a single SELECT (BEGIN, the read, ROLLBACK:
three round trips, and the rollback empties psycopg's cache of prepared statements, so every
read was parsed and planned again). Here each read is one round trip on a connection in
autocommit, prepared once per connection, awaited on the loop with no thread and no greenlet.

psycopg_pool's AsyncConnectionPool would also keep connections, but it is bound to one event
loop by background tasks, while a store outlives loops (the CLI, the tests); what the hot path
needs is a stack of idle connections per loop, which is what this is. Core reads
(``Store.read``) still use SQLAlchemy's async engine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import make_url

from ninja_oauth.store.engine import connection_lost
from ninja_oauth.store.pg_changes import KeptRows

# Connections per loop (a worker has one): at most MAX_OPEN at once, reads beyond that wait
# their turn; after a burst, KEEP_IDLE stay open.
MAX_OPEN = 10
KEEP_IDLE = 8
# A connection is replaced once it is this old (seconds), as psycopg_pool's ``max_lifetime``
# does by default: the generic plans it keeps were made for the tables as they were then (a
# plan made while a table was nearly empty may scan it), and a proxy or a failover can spread
# the new connections.
MAX_LIFETIME = 3600.0

# When each hot connection (these and the group commit's) was opened (``time.monotonic()``).
_OPENED_AT: WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = WeakKeyDictionary()


async def connect(info: str) -> psycopg.AsyncConnection[Any]:
    """A hot connection: autocommit, its opening time kept for ``unusable``."""
    conn = await psycopg.AsyncConnection.connect(info, autocommit=True)
    _OPENED_AT[conn] = time.monotonic()
    return conn


def unusable(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether an idle hot connection must be replaced before use: closed by the server while
    idle (a poll of its socket, no round trip), or past its lifetime."""
    opened_at = _OPENED_AT.get(conn, 0.0)
    return connection_lost(conn) or time.monotonic() - opened_at >= MAX_LIFETIME


def conninfo(url: str) -> str:
    """libpq's connection string for a SQLAlchemy PostgreSQL URL, with the store's connect
    timeout, and generic plans for the prepared statements of these connections: each is the
    same index lookup whatever its values, and left to choose, PostgreSQL planned a keyed
    statement (``unnest`` of the keys) again at every execution, which doubled its cost."""
    parsed = make_url(url)
    # The driver's own arguments for the URL, as SQLAlchemy's psycopg dialect makes them.
    _, params = parsed.get_dialect()().create_connect_args(parsed)
    params.setdefault("connect_timeout", 5)
    given = params.get("options")
    params["options"] = f"{given} {_GENERIC}" if given else _GENERIC
    return make_conninfo("", **params)


_GENERIC = "-c plan_cache_mode=force_generic_plan"


class LoopConnections:
    """Idle autocommit connections per event loop, for one-statement reads."""

    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url)
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = WeakKeyDictionary()

    def _state(self) -> _Loop:
        """The running loop's connections, batches and kept rows."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
            state.kept = KeptRows(self._conninfo)
        return state

    def kept(self, text: str, key: str) -> Any:
        """The row kept for ``key`` of the keyed statement ``text`` (None: none kept)."""
        kept = self._state().kept
        return None if kept is None else kept.get(text, key)

    def forget(self) -> None:
        """Drop every row the running loop keeps: it has just committed a write."""
        state = self._loops.get(asyncio.get_running_loop())
        if state is not None and state.kept is not None:
            state.kept.forget()

    async def fetch(self, text: str, params: dict[str, Any], *, every: bool) -> Any:
        """The first row (or, ``every``, all the rows) of ``text``. A connection lost under the
        statement is closed with every idle one of its loop (the server restarted: they are
        lost too), and the error raised."""
        state = self._state()
        async with state.open:
            return await self._fetch(state.idle, text, params, every)

    async def fetch_keyed(
        self,
        text: str,
        key: str,
        changes: tuple[str, ...] = (),
        kept_if: Callable[[Any], bool] | None = None,
    ) -> Any:
        """The row of ``text`` for ``key`` (its first; None if none). ``text`` takes
        ``%(keys)s``, an array, and answers rows that begin with their key (a ``keyed``
        statement, store/statements.py). The keys that this loop's requests ask for while one
        such statement runs are read together by the next: one round trip, one statement for
        all of them (the bearer checks of a worker's concurrent reads, its token requests'
        reads), where each would cost the worker a statement's send, its wait and its parsing
        on its own. With ``changes`` (the tables the row depends on), a row is kept and served
        again until one of them changes (pg_changes.py), if ``kept_if`` of it (without its
        key) allows."""
        state = self._state()
        kept = state.kept
        if changes and kept is not None:
            row = kept.get(text, key)
            if row is not None:
                return row
            generation = kept.generation
            row = await self._read_with_others(state, text, key)
            if row is not None and (kept_if is None or kept_if(row[1:])):
                kept.keep(text, key, row, changes, generation)
            return row
        return await self._read_with_others(state, text, key)

    async def _read_with_others(self, state: _Loop, text: str, key: str) -> Any:
        """``fetch_keyed``'s read: ``key`` joins the next statement of ``text`` on this loop."""
        batch = state.keyed.get(text)
        if batch is None:
            batch = state.keyed[text] = _Keyed()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        batch.waiting.setdefault(key, []).append(future)
        if batch.flusher is None:
            batch.flusher = loop.create_task(self._flush_keyed(state, text, batch))
        return await future

    async def _flush_keyed(self, state: _Loop, text: str, batch: _Keyed) -> None:
        """Read batch after batch of keys until none waits; each request gets its row, or
        the error its key's statement raised."""
        try:
            while batch.waiting:
                # The requests that are ready now reach their read in this turn: they join.
                await asyncio.sleep(0)
                waiting, batch.waiting = batch.waiting, {}
                try:
                    refused = await self._read_keyed(state, text, waiting)
                    if refused is not None:
                        # A value the statement refused: each key alone, so that a key that
                        # breaks the statement fails its own requests only, not those read
                        # with it. (An unreachable or slow server fails them all at once.)
                        for key, futures in refused.items():
                            await self._read_keyed(state, text, {key: futures})
                except BaseException:  # cancelled (the loop closing): no request waits for ever
                    for futures in waiting.values():
                        for future in futures:
                            future.cancel()
                    raise
        finally:
            batch.flusher = None

    async def _read_keyed(
        self, state: _Loop, text: str, waiting: dict[str, list[asyncio.Future[Any]]]
    ) -> dict[str, list[asyncio.Future[Any]]] | None:
        """One statement for the keys of ``waiting``, each request answered with its row or
        the error; but when several keys' statement refused a value (a DataError, which one
        key may cause), their requests are left waiting and returned, to be read one by one."""
        try:
            async with state.open:
                rows = await self._fetch(state.idle, text, {"keys": list(waiting)}, True)
        except Exception as exc:
            if len(waiting) > 1 and isinstance(exc, psycopg.DataError):
                return waiting
            _settle(waiting, {}, exc)
            return None
        first: dict[str, Any] = {}
        for row in rows:
            first.setdefault(row[0], row)
        _settle(waiting, first, None)
        return None

    async def _fetch(
        self,
        idle: list[psycopg.AsyncConnection[Any]],
        text: str,
        params: dict[str, Any],
        every: bool,
    ) -> Any:
        conn = None
        while idle and conn is None:
            conn = idle.pop()
            if unusable(conn):
                await conn.close()
                conn = None
        if conn is None:
            conn = await connect(self._conninfo)
        try:
            cursor = await conn.execute(text, params, prepare=True)
            rows = await (cursor.fetchall() if every else cursor.fetchone())
        except Exception:
            if conn.broken:
                await conn.close()
                await _close_idle(idle)
            elif len(idle) < KEEP_IDLE:  # a failed statement leaves an autocommit one idle
                idle.append(conn)
            raise
        except BaseException:  # cancelled mid-statement: the connection's state is unknown
            await conn.close()
            raise
        if len(idle) < KEEP_IDLE:
            idle.append(conn)
        else:
            await conn.close()
        return rows

    async def aclose(self) -> None:
        """Close the running loop's idle connections."""
        state = self._loops.get(asyncio.get_running_loop())
        if state is not None:
            if state.kept is not None:
                await state.kept.aclose()
            await _close_idle(state.idle)

    def close(self) -> None:
        """Close every loop's idle connections, from outside any loop (the store's close)."""
        for state in list(self._loops.values()):
            if state.kept is not None:
                state.kept.close()
            for conn in state.idle:
                conn.pgconn.finish()
            state.idle.clear()


async def _close_idle(idle: list[psycopg.AsyncConnection[Any]]) -> None:
    while idle:
        await idle.pop().close()


def _settle(
    waiting: dict[str, list[asyncio.Future[Any]]],
    rows: dict[str, Any],
    error: BaseException | None,
) -> None:
    """Answer each waiting request: its key's first row (None if none), or ``error``. A
    request that went away (its future cancelled) is skipped."""
    for key, futures in waiting.items():
        row = rows.get(key)
        for future in futures:
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(row)


class _Keyed:
    """The keys waiting for one keyed statement of a loop, and the task reading them."""

    __slots__ = ("flusher", "waiting")

    def __init__(self) -> None:
        self.waiting: dict[str, list[asyncio.Future[Any]]] = {}
        self.flusher: asyncio.Task[None] | None = None


class _Loop:
    """One event loop's connections: the idle ones, and the bound on those open at once; its
    keyed statements' batches, and the rows it keeps (``kept``, set with the loop's state)."""

    __slots__ = ("idle", "kept", "keyed", "open")

    def __init__(self) -> None:
        self.idle: list[psycopg.AsyncConnection[Any]] = []
        self.open = asyncio.Semaphore(MAX_OPEN)
        self.keyed: dict[str, _Keyed] = {}
        self.kept: KeptRows | None = None
