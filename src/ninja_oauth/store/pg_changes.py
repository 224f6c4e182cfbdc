"""Rows a worker keeps on PostgreSQL, kept exact by the database's notifications.

Why (issue 13): on PostgreSQL every bearer check and every token request was a round trip,
whose send, wait and parsing cost a worker more than the rest of the request (bench/README.md),
although the rows they read seldom change: an access token's row until it is revoked, the
tables' versions until the API writes, an app and its caller's throttle blocks until an
administrator writes or a client gets blocked. SQLite reads them from the worker's own file
(and keeps the app's row while a counter stands still: sqlite_kept.py).

Migration 0011 adds triggers that NOTIFY on the channel ``ninja_oauth_changes`` with the table's
name whenever a row that such a read returns may have changed, whoever writes. Each event loop
(a worker has one) LISTENs on a connection of its own and keeps the rows of the statements that
declare the tables they depend on (``Sql(changes=...)``) until a notification for one of those
tables arrives:

- PostgreSQL sends a transaction's notifications to every listener when it commits, in the
  order of the commits. The listener's socket is read before each kept row is served (one
  ``recv`` that finds nothing, most of the time) as well as whenever it has something to read.
  A revocation committed on any node is refused by every worker once its notification has
  arrived: after the time the listening backend takes to send it, which RFC 7009 §2.2 calls a
  propagation delay, for implementations to keep short. A write this worker commits itself
  empties what it kept before the write's answer is sent (``forget``).
- A row whose read began before rows were dropped, or before the listener was known to work,
  is not kept (``generation``): it may be older than a change the listener never saw.
- Rows are served only under a lease that a probe renews: a ``pg_notify`` sent every second
  from a second connection must come back on the listener within ``PROBE_WITHIN`` seconds.
  Behind a proxy that pools transactions, where LISTEN cannot work, the probe never comes back
  and nothing is kept. A connection cut silently (no reset, nothing to read) stops renewing
  the lease: at most ``LEASE`` seconds after the last probe came back, every row is read from
  the database again, whatever the task is waiting for.

Written here because neither psycopg nor its pool keeps rows: psycopg gives the connection and
its notifications (``pgconn.consume_input`` and ``pgconn.notifies``, libpq's own calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

# The channel of migration 0011's triggers.
CHANNEL = "ninja_oauth_changes"
# Rows kept per statement; past it the least recently used go first.
KEEP_MAX = 4096
# Seconds between probes; the most a probe may take, sent and come back; the lease a probe's
# return gives the kept rows.
PROBE_EVERY = 1.0
PROBE_WITHIN = 2.0
LEASE = PROBE_EVERY + PROBE_WITHIN
# Seconds before connecting again after a failure, doubling up to RETRY_MAX.
RETRY_MIN = 0.5
RETRY_MAX = 30.0

_PROBE = "probe:"
_SEND_PROBE = "SELECT pg_notify(%s, %s)"
# Both connections give up on a write the server has not acknowledged within this many
# milliseconds (a cut that sends no reset), rather than when TCP's retries run out.
_TCP_USER_TIMEOUT = 3000
# Failed attempts in a row before the log says that nothing is kept.
_FAILURES_TOLD = 3

log = logging.getLogger("ninja_oauth.store")


class KeptRows:
    """One event loop's kept rows, by statement and key, and the listener that keeps them
    exact. Rows are served and kept only while the lease of the last probe holds."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = make_conninfo(conninfo, tcp_user_timeout=_TCP_USER_TIMEOUT)
        # The probe's connection: its commits need not wait for the disk (a probe is worth
        # nothing once it has come back), so it holds PostgreSQL's notification lock briefly.
        given = conninfo_to_dict(conninfo).get("options")
        quick = "-c synchronous_commit=off"
        self._probe_conninfo = make_conninfo(
            self._conninfo, options=f"{given} {quick}" if given else quick
        )
        # Probes go on a channel of this listener's own: no other worker is woken by them.
        # That one came back shows that every notification committed before it has arrived:
        # a listener receives the server's single queue in order, whatever the channel.
        self._probe_channel = f"ninja_oauth_probe_{secrets.token_hex(8)}"
        self._probe_relname = self._probe_channel.encode()  # as libpq names it
        self._closed = False
        # statement text -> key -> row (least recently used first); table -> statement texts.
        self._rows: dict[str, dict[str, Any]] = {}
        self._tables: dict[str, set[str]] = {}
        # Bumped whenever kept rows are dropped or the lease starts anew: a read that began
        # before may not keep its row.
        self.generation = 0
        self._lease_until = 0.0
        self._listener: psycopg.AsyncConnection[Any] | None = None
        self._prober: psycopg.AsyncConnection[Any] | None = None
        self._fd = -1  # the listener's socket, as the loop watches it
        self._probe: str | None = None
        self._answered = asyncio.Event()
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Whether kept rows may be served: the last probe's lease holds."""
        return time.monotonic() < self._lease_until

    def get(self, text: str, key: str) -> Any:
        """The row kept for ``key`` of ``text``, after reading what the listener received;
        None when none is kept (or nothing may be served now)."""
        self.drain()
        if not self.active:
            if not self._closed:
                self._start()
            if self._rows:
                self.forget()
            return None
        rows = self._rows.get(text)
        if rows is None:
            return None
        row = rows.pop(key, None)
        if row is not None:
            rows[key] = row  # the most recently used, last
        return row

    def keep(self, text: str, key: str, row: Any, tables: tuple[str, ...], generation: int) -> None:
        """Keep ``row``, read for ``key`` of ``text`` by a read that began at ``generation``,
        unless something the row depends on may have changed since."""
        self.drain()
        if generation != self.generation or not self.active:
            return
        rows = self._rows.get(text)
        if rows is None:
            rows = self._rows[text] = {}
            for table in tables:
                self._tables.setdefault(table, set()).add(text)
        elif key not in rows and len(rows) >= KEEP_MAX:
            del rows[next(iter(rows))]
        rows[key] = row

    def forget(self, tables: tuple[str, ...] | None = None) -> None:
        """Drop the rows that depend on ``tables`` (every row: None)."""
        self.generation += 1
        if tables is None:
            self._rows.clear()
            return
        for table in tables:
            for text in self._tables.get(table, ()):
                self._rows.pop(text, None)

    def drain(self) -> None:
        """Read what the listener received: drop the rows of each table notified, take a probe's
        return. A lost listener drops every row; its task connects anew."""
        conn = self._listener
        if conn is None:
            return
        pgconn = conn.pgconn
        try:
            pgconn.consume_input()
        except psycopg.OperationalError:
            self._detach(conn)
            return
        while (notice := pgconn.notifies()) is not None:
            payload = notice.extra.decode("utf-8", "replace")
            if notice.relname != self._probe_relname:
                self.forget((payload,))
            elif payload == self._probe:
                self._probe = None
                if not self.active:
                    self.generation += 1  # a read begun before may predate a change not seen
                self._lease_until = time.monotonic() + LEASE
                self._answered.set()

    def _start(self) -> None:
        """Start listening, once per loop (again if the task ended)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def _listen(self) -> None:
        """Connect, LISTEN, and probe every second; after a failure, connect anew."""
        delay = RETRY_MIN
        failures = 0
        while True:
            conn: psycopg.AsyncConnection[Any] | None = None
            prober: psycopg.AsyncConnection[Any] | None = None
            try:
                conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                # One statement: the listener's query reads as ``LISTEN ninja_oauth_changes; …``.
                await conn.execute(f"LISTEN {CHANNEL}; LISTEN {self._probe_channel}")
                prober = self._prober = await psycopg.AsyncConnection.connect(
                    self._probe_conninfo, autocommit=True
                )
                self._attach(conn)
                while self._listener is conn:
                    async with asyncio.timeout(PROBE_WITHIN):
                        await self._probe_once(prober)
                    delay, failures = RETRY_MIN, 0
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._lost.wait(), PROBE_EVERY)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                # Unreachable, refused, cut, or a probe that did not come back in time.
                failures += 1
                if failures == _FAILURES_TOLD:
                    log.warning(
                        "rows are not kept: the listener for changes (LISTEN %s) failed %d "
                        "times in a row (%s); every read goes to the database",
                        CHANNEL,
                        failures,
                        type(exc).__name__,
                    )
            except Exception:  # never silently: nothing is kept until the next attempt
                log.exception("the listener of kept rows failed; connecting anew")
            finally:
                if conn is not None:
                    self._detach(conn)
                self._prober = None
                for opened in (prober, conn):
                    if opened is not None:
                        with contextlib.suppress(psycopg.Error, OSError):
                            await opened.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)

    async def _probe_once(self, prober: psycopg.AsyncConnection[Any]) -> None:
        """Send a probe from ``prober`` and wait until the listener has it back."""
        self._probe = probe = f"{_PROBE}{secrets.token_hex(8)}"
        self._answered.clear()
        await prober.execute(_SEND_PROBE, (self._probe_channel, probe))
        await self._answered.wait()
        if self._probe == probe:  # woken by the listener's loss, not by the probe
            raise psycopg.OperationalError("the listener was lost")

    def _attach(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Own the listener's socket: read it whenever it has something. psycopg waits on it
        only during its own calls, and none is made on it after LISTEN until its close."""
        self._listener, self._fd = conn, conn.fileno()
        self._lost.clear()
        asyncio.get_running_loop().add_reader(self._fd, self.drain)

    def _detach(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Stop serving kept rows and drop them, if ``conn`` is still the listener; leave its
        socket to be closed by the task."""
        if self._listener is not conn:
            return
        fd, self._fd, self._listener = self._fd, -1, None
        self._lease_until = 0.0
        self.forget()
        self._lost.set()
        self._answered.set()  # a probe waiting ends at once (its listener is gone)
        # By number: libpq may have closed the socket already (the server went away).
        with contextlib.suppress(OSError, RuntimeError, ValueError):
            asyncio.get_running_loop().remove_reader(fd)

    async def aclose(self) -> None:
        """Stop listening (the loop's store closing)."""
        self._closed = True
        task = self._task
        if task is None or task is asyncio.current_task():
            return
        self._task = None
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # the caller's own cancellation, not the task's

    def close(self) -> None:
        """Stop listening from outside the loop (the store's close). A loop still running
        cancels the task, which closes its connections; otherwise they are closed here."""
        self._closed = True
        self._lease_until = 0.0
        self._rows.clear()
        task, self._task = self._task, None
        if task is not None and not task.done():
            loop = task.get_loop()
            if loop.is_running():
                loop.call_soon_threadsafe(task.cancel)
                return
            task.cancel()  # runs, and ends, if the loop runs again
            if self._fd >= 0 and not loop.is_closed():
                loop.remove_reader(self._fd)
        self._fd = -1
        for conn in (self._listener, self._prober):
            if conn is not None:
                conn.pgconn.finish()
        self._listener = self._prober = None
