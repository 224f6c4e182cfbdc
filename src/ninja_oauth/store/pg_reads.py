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

# Idle connections kept per loop; more are opened under a burst and closed after it.
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
        self._idle: WeakKeyDictionary[asyncio.AbstractEventLoop, list[psycopg.AsyncConnection[Any]]]
        self._idle = WeakKeyDictionary()

    async def fetch(self, text: str, params: dict[str, Any], *, every: bool) -> Any:
        """The first row (or, ``every``, all the rows) of ``text``. A connection lost under the
        statement is closed with every idle one of its loop (the server restarted: they are
        lost too), and the error raised."""
        idle = self._idle.setdefault(asyncio.get_running_loop(), [])
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
        idle = self._idle.pop(asyncio.get_running_loop(), [])
        for conn in idle:
            await conn.close()

    def close(self) -> None:
        """Close every loop's idle connections, from outside any loop (the store's close)."""
        for idle in list(self._idle.values()):
            for conn in idle:
                conn.pgconn.finish()
        self._idle.clear()
