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
    "database or disk is full",
)


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
    # psycopg's OperationalError: connection refused or lost, server shutting down or starting,
    # too many connections, a cancelled or timed-out query; InterfaceError: the connection
    # is closed. Looked up only if loaded: a SQLite server never imports psycopg.
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(
        cause, psycopg.OperationalError | psycopg.InterfaceError
    )
