"""The one database failure the web layer answers by name: the database is unavailable.

A database that is down, restarting, refusing connections, or whose pool has none to give is no
fault of the request, and a retry shortly may succeed: the store raises ``StoreUnavailable``
for it (from the driver's or SQLAlchemy's error, kept as ``__cause__``), and ``web/errors.py``
and ``api/errors.py`` answer 503 with ``Retry-After`` instead of a 500. Callers need not import
SQLAlchemy or a driver to recognise it. Any other database error stays what it was (a bug, a
constraint): a 500.
"""

from __future__ import annotations

import sqlite3
import sys

from sqlalchemy import exc as sa_exc

# Seconds a client should wait before retrying (the Retry-After of the 503).
RETRY_AFTER = 2

# SQLite's operational failures that are the file's state, not the statement's: "no such
# table" and its kind (also OperationalError) stay bugs.
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database table is locked",
    "disk i/o error",
    "unable to open database file",
)

# PostgreSQL's SQLSTATEs of a server that cannot answer now: class 08 (connection exceptions),
# an administrator's or a crash's shutdown, a server still starting, too many connections.
# Deadlocks, serialization failures, statement timeouts, a full disk (also OperationalError in
# psycopg) are not an outage: they stay 500s, and the connection is kept.
_PG_UNAVAILABLE = frozenset({"57P01", "57P02", "57P03", "53300"})


class StoreUnavailable(Exception):
    """The database cannot answer now (down, restarting, no connection free); retry shortly."""

    retry_after = RETRY_AFTER

    def __init__(self) -> None:
        super().__init__("the database is unavailable")


def database_unavailable(exc: BaseException) -> bool:
    """Whether the driver's or SQLAlchemy's ``exc`` says the database is unreachable or cannot
    answer now, rather than that the statement or the data is wrong. Used as::

        except Exception as exc:
            if database_unavailable(exc):
                raise StoreUnavailable from exc
            raise
    """
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # TimeoutError: no pooled connection came free in time
    cause: BaseException | None = exc
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        cause = exc.orig  # the driver's error
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).lower().startswith(_SQLITE_UNAVAILABLE)
    # psycopg's OperationalError with one of those states or none (connection refused or lost);
    # InterfaceError: the connection is closed. Looked up only if loaded: a SQLite server never
    # imports psycopg.
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        return False
    if isinstance(cause, psycopg.InterfaceError):
        return True
    if not isinstance(cause, psycopg.OperationalError):
        return False
    # No SQLSTATE: the client's side of a connection that failed or was lost.
    state: str | None = getattr(cause, "sqlstate", None)
    return state is None or state.startswith("08") or state in _PG_UNAVAILABLE
