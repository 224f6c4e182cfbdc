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
from typing import Any
from weakref import WeakKeyDictionary

import psycopg
from sqlalchemy.engine import make_url

from ninja_oauth.store.engine import connection_lost

# Connections per loop (a worker has one): at most MAX_OPEN at once, reads beyond that wait
# their turn; after a burst, KEEP_IDLE stay open.
MAX_OPEN = 10
KEEP_IDLE = 8


def conninfo(url: str) -> str:
    """libpq's URI for a SQLAlchemy PostgreSQL URL, with the store's connect timeout."""
    parsed = make_url(url).set(drivername="postgresql")
    if "connect_timeout" not in parsed.query:
        parsed = parsed.update_query_dict({"connect_timeout": "5"})
    return parsed.render_as_string(hide_password=False)


class LoopConnections:
    """Idle autocommit connections per event loop, for one-statement reads."""

    def __init__(self, url: str) -> None:
        self._conninfo = conninfo(url)
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Loop] = WeakKeyDictionary()

    async def fetch(self, text: str, params: dict[str, Any], *, every: bool) -> Any:
        """The first row (or, ``every``, all the rows) of ``text``. A connection lost under the
        statement is closed with every idle one of its loop (the server restarted: they are
        lost too), and the error raised."""
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _Loop()
        async with state.open:
            return await self._fetch(state.idle, text, params, every)

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
            if connection_lost(conn):  # closed by the server while idle: a poll, no round trip
                await conn.close()
                conn = None
        if conn is None:
            conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            cursor = await conn.execute(text, params, prepare=True)
            rows = await (cursor.fetchall() if every else cursor.fetchone())
        except Exception:
            if conn.broken:
                await conn.close()
                await self.aclose()
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
        while state is not None and state.idle:
            await state.idle.pop().close()

    def close(self) -> None:
        """Close every loop's idle connections, from outside any loop (the store's close)."""
        for state in list(self._loops.values()):
            for conn in state.idle:
                conn.pgconn.finish()
            state.idle.clear()


class _Loop:
    """One event loop's connections: the idle ones, and the bound on those open at once."""

    __slots__ = ("idle", "open")

    def __init__(self) -> None:
        self.idle: list[psycopg.AsyncConnection[Any]] = []
        self.open = asyncio.Semaphore(MAX_OPEN)
