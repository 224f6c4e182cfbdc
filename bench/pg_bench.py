"""`make bench` on PostgreSQL: the bench database, and the CPU of the backends that serve it.

The bench database (``NINJA_OAUTH_BENCH_DATABASE_URL``, default DEFAULT_URL) is dropped and
created afresh for every run, so that each run starts from the same empty tables as SQLite's
new file. Its backends' CPU is read from ``/proc``: a backend is a process of its own, outside
the server's process group, and on PostgreSQL it does work (parsing, planning, locking, WAL)
that SQLite does inside the server's own processes, so a CPU-per-request figure without it
would flatter PostgreSQL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

ENV_URL = "NINJA_OAUTH_BENCH_DATABASE_URL"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/ninja_oauth_bench"
# An unreachable server should cost the run seconds, not the minutes of a TCP timeout.
CONNECT_TIMEOUT = 3


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot be used for the bench; the message says why, in one line."""


def _libpq(url: URL) -> str:
    """``url`` as libpq takes it (no SQLAlchemy driver name)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class BenchDatabase:
    """The bench database, and a connection string to the server's maintenance database (from
    which it is dropped and created, and the backends are listed without counting that
    connection's own backend among them)."""

    url: str  # as NINJA_OAUTH_DATABASE_URL takes it
    name: str
    admin_dsn: str

    @property
    def where(self) -> str:
        parsed = make_url(self.url)
        return f"{parsed.host or 'localhost'}:{parsed.port or 5432}/{self.name}"

    def admin(self) -> psycopg.Connection[tuple[Any, ...]]:
        # Autocommit: DROP/CREATE DATABASE refuse to run inside a transaction, and the
        # backend listings should each see the moment they are taken.
        return psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def bench_database(environ: dict[str, str] | None = None, suffix: str = "") -> BenchDatabase:
    """The bench database named by the environment, its name followed by ``suffix`` (another
    bench's own database, so that two benches never drop each other's); PgUnavailable if the
    URL is not one."""
    raw = (environ if environ is not None else os.environ).get(ENV_URL) or DEFAULT_URL
    try:
        url = make_url(raw)
    except Exception as exc:  # SQLAlchemy's ArgumentError, with the URL in its message
        raise PgUnavailable(f"{ENV_URL} is not a database URL ({exc})") from None
    if url.get_backend_name() != "postgresql" or not url.database:
        raise PgUnavailable(f"{ENV_URL} must name a PostgreSQL database, not {raw!r}")
    name = url.database + suffix
    # The server itself is handed the URL as given (its driver: psycopg), only renamed.
    if suffix:
        url = url.set(database=name)
        raw = url.render_as_string(hide_password=False)
    admin = url.set(database="postgres" if name != "postgres" else "template1")
    return BenchDatabase(raw, name, _libpq(admin))


def _administer(db: BenchDatabase, *statements: str) -> None:
    """Run ``statements`` on the bench database itself (``{}``: its name) from the maintenance
    database. PgUnavailable if the server cannot be reached or refuses."""
    try:
        with db.admin() as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(sql.Identifier(db.name)))
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PgUnavailable(f"{db.where}: {first}") from None


# FORCE ends its sessions: a server of an interrupted run.
_DROP = "DROP DATABASE IF EXISTS {} WITH (FORCE)"


def recreate(db: BenchDatabase) -> None:
    """Drop the bench database and create it empty."""
    _administer(db, _DROP, "CREATE DATABASE {}")


def drop(db: BenchDatabase) -> None:
    """Drop the bench database, once its servers are stopped."""
    _administer(db, _DROP)


def _cpu_ticks(pid: int) -> int | None:
    """utime + stime of a PostgreSQL process on this host, in clock ticks; None if there is no
    such process here (it ended, or the server runs on another host)."""
    proc = Path("/proc") / str(pid)
    try:
        if proc.joinpath("comm").read_text().strip() != "postgres":
            return None  # a pid of another host's server, or reused meanwhile
        stat = proc.joinpath("stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


@dataclass
class BackendSample:
    """The bench database's backends at one instant, with their CPU so far."""

    ticks: dict[int, int]  # pid -> utime + stime
    listed: int  # backends that pg_stat_activity listed (some may not be on this host)


class BackendCpu:
    """CPU of the PostgreSQL backends serving the bench database, between two samples.

    The backends are those pg_stat_activity lists with ``datname`` = the bench database; each
    sample reads their ``utime + stime`` from ``/proc/<pid>/stat``. A backend present at both
    samples counts its difference; one that appeared between them counts all its CPU (it was
    born during the run). Not counted: a backend that ended between the samples (its CPU since
    the first sample is lost with it) or that lived and died entirely between them (a pool's
    overflow connection opened and closed within the run); the shared background processes
    (WAL writer, checkpointer), whose work is not attributed to a database; and, when the server
    is on another host, everything (``/proc`` here does not see its processes: None).
    """

    def __init__(self, db: BenchDatabase) -> None:
        self._db = db
        self._conn = db.admin()  # kept: a new connection per sample would cost its own backend

    def sample(self) -> BackendSample:
        # Client backends only: an autovacuum worker on the bench database does work of its
        # own timing (after enough inserts), which would land in one run or another at random.
        rows = self._conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = %s",
            (self._db.name, "client backend"),
        ).fetchall()
        ticks = {}
        for (pid,) in rows:
            value = _cpu_ticks(int(pid))
            if value is not None:
                ticks[int(pid)] = value
        return BackendSample(ticks, len(rows))

    @staticmethod
    def seconds(before: BackendSample, after: BackendSample) -> float | None:
        """Backend CPU seconds from ``before`` to ``after``; None if the backends were listed
        but none could be read here (a server on another host)."""
        if (before.listed or after.listed) and not (before.ticks or after.ticks):
            return None
        ticks = 0
        for pid, now in after.ticks.items():
            then = before.ticks.get(pid, 0)
            # Less than before: the pid was reused by a new backend, born during the run.
            ticks += now - then if now >= then else now
        return ticks / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self._conn.close()
