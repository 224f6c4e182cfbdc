"""Rows a worker keeps on SQLite while a counter in ``data_versions`` stands still.

Why (issue 10): with two workers, every token request's read of its app and its caller's
throttle blocks (repositories/apps._GET_GUARDED) came after the other worker's last commit,
which empties a connection's page cache: a build that skipped the read spent about a sixth less
CPU per token. The row seldom changes (an administrator edits the app, a client gets blocked).
A statement that declares a counter (``Sql(versioned_by=...)``) is served
from the row kept for its parameters while the counter has not moved since that row was read.

Exact, not eventual: migration 0012's triggers bump the counter in the writer's own transaction,
whoever writes (the API, the CLI, another worker, plain SQL), on every change such a row can
see, and a counter made again never repeats a version (it starts at its migration's time). The
counter is read before the row, on the same connection, each in its own read transaction: a row
kept under a version is at least as new as that version, so a change committed after the
counter was read moves it again and the next request reads the row anew. A row is kept only if
the statement's ``kept_if`` says so (an app that exists: a new app is never kept before it
exists, and guessed client ids fill no memory).

In a deferred unit (a client_credentials token on the event loop, unit_of_work.py) a kept row
is served without reading the counter: the unit carries a check of the version it was kept
under (``CHECK``; a row read now, of the version read before it), which the group commit makes
in the batch's write transaction, before the unit's rows (group_commit.py). The token is then
answered only if the row was still current when its row committed; if the counter has moved,
nothing of the unit is written (``StaleRead``) and the store runs it again on rows read anew
(``Store.run``). A unit that writes nothing has its checks made at once, on a read. Reading
the counter on every request, after the other worker's commit had emptied the page cache, kept
much of the read's cost (the README's "Storage, durability and scaling out" has the figures).

PostgreSQL keeps its rows by notification instead (pg_changes.py); there a counter read would
be the round trip that keeping saves.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ninja_oauth.store.statements import DATA_VERSION, Sql, Write, fetch_one

# Rows kept per store; past it, all are dropped and read again.
KEEP_MAX = 4096
# A deferred unit's check that a counter still has the version (params: name, version) under
# which the row it was served was kept; the group commit makes it (``unchanged``).
CHECK = Sql(DATA_VERSION)


class StaleRead(Exception):
    """A deferred unit was served a kept row whose counter has moved since: nothing of the
    unit was written. The store forgets what it kept and runs the unit again."""


class VersionedRows:
    """A store's kept rows of the statements with a ``versioned_by`` counter, shared by its
    threads (each reads on its own connection; a dict's get and set are atomic, and a row
    stored under an older version by a slower thread is only read again)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[Any, ...], tuple[int, Any]] = {}

    def fetchone(
        self,
        conn: sqlite3.Connection,
        stmt: Sql,
        params: dict[str, Any],
        checks: list[Write] | None = None,
    ) -> Any:
        """One row of ``stmt``: the kept one while its counter stands still, else read (and
        kept, if ``stmt.kept_if`` allows). Given ``checks`` (a deferred unit's writes), a kept
        row is served without reading the counter, and the check of the version the row was
        read under is added to them, for a row read now too: the unit's rows then commit only
        if no change it could see committed before them."""
        counter = stmt.versioned_by
        assert counter is not None
        key = (stmt, *params.items())
        if checks is not None:
            kept = self._rows.get(key)
            if kept is not None:
                checks.append((CHECK, {"name": counter, "version": kept[0]}))
                return kept[1]
        counted = fetch_one(conn, DATA_VERSION, {"name": counter})
        if counted is None:  # a database without the counter (migrated down, or not yet up)
            self._rows.clear()  # what was kept under it is of no known version
            return fetch_one(conn, stmt.text("sqlite"), params)
        version = counted[0]
        if checks is not None:
            checks.append((CHECK, {"name": counter, "version": version}))
        kept = self._rows.get(key)
        if kept is not None and kept[0] == version:
            return kept[1]
        row = fetch_one(conn, stmt.text("sqlite"), params)
        if row is not None and (stmt.kept_if is None or stmt.kept_if(row)):
            if len(self._rows) >= KEEP_MAX:
                self._rows.clear()
            self._rows[key] = (version, row)
        return row

    def forget(self) -> None:
        """Drop every kept row (a unit found one stale)."""
        self._rows.clear()


def unchanged(
    on: sqlite3.Connection | sqlite3.Cursor, checks: list[Write], seen: dict[str, int]
) -> bool:
    """Whether every counter of ``checks`` still has its version, read on ``on`` (a write
    transaction's cursor, or a connection to read); ``seen`` keeps what was read, for the
    other units of a batch."""
    for _, params in checks:
        name = params["name"]
        version = seen.get(name)
        if version is None:
            counted = on.execute(DATA_VERSION, {"name": name}).fetchone()
            version = seen[name] = -1 if counted is None else counted[0]
        if version != params["version"]:
            return False
    return True
