"""Hot statements: SQL written once with :named parameters, run on the driver's own cursor."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_PARAMETER = r"(?<!:):(\w+)"  # :name, not a PostgreSQL cast (::type)


class Sql:
    """A hot statement written once with :named parameters, run on the driver's cursor.

    SQLAlchemy Core costs 150-300 us per statement on the token and bearer paths (building,
    cache-key computation, result wrapping), the driver 5-15 us (bench/README.md). The handful
    of statements on those paths use this; everything else uses Core.
    """

    __slots__ = (
        "_pg",
        "_sqlite",
        "appends",
        "changes",
        "kept_if",
        "keyed",
        "rows",
        "versioned_by",
    )

    def __init__(
        self,
        text: str,
        *,
        keyed: bool | str = False,
        changes: tuple[str, ...] = (),
        kept_if: Callable[[Any], bool] | None = None,
        versioned_by: str | None = None,
        appends: bool = False,
    ) -> None:
        self._sqlite = text
        self._pg = re.sub(_PARAMETER, r"%(\1)s", text)
        # ``keyed``: on PostgreSQL, this read made for many sets of parameters in one statement
        # (the loop's concurrent requests: pg_reads.LoopConnections.fetch_keyed). Each set is a
        # JSON object in the array %(keys)s, its parameters read back as text (so they must be
        # text, or NULL); a set's row is this statement's first, after the set itself. True
        # derives that statement from ``text``, which then runs once per set; a string is that
        # statement written out, for a ``text`` with a part that does not depend on the set
        # and is better read once for all of them.
        self.keyed: str | None = keyed if isinstance(keyed, str) else None
        if keyed is True:
            lateral = re.sub(_PARAMETER, r"(k.want::json ->> '\1')", text)
            self.keyed = (
                "SELECT k.want, q.* FROM unnest(CAST(%(keys)s AS text[])) AS k(want) "  # noqa: S608
                f"CROSS JOIN LATERAL ({lateral}) AS q"
            )
        # ``changes``: on PostgreSQL, the tables whose changes are notified (migration 0011) and
        # that this keyed read's rows depend on: a worker keeps its rows until one of them
        # changes (pg_changes.py). ``versioned_by``: on a SQLite file, the counter in
        # data_versions that triggers bump on every change this read's rows can see: a store
        # keeps its rows while the counter stands still (sqlite_kept.py). ``kept_if``: which
        # of its rows to keep (all: None).
        self.changes = changes
        self.versioned_by = versioned_by
        self.kept_if = kept_if
        # ``appends``: a plain ``INSERT INTO t (c, …) VALUES (:c, …)`` of one row, each value
        # the parameter named as its column and one of JSON's (str, int, float, bool, None),
        # nothing on conflict. On PostgreSQL the group commit writes the rows of several
        # requests in one statement (pg_group_commit.py), ``rows``, where the first of them
        # was: so such a row must not depend on a row that its own request inserts before it.
        # On SQLite, such a row must move no data_versions counter (no trigger of 0012 on its
        # table): the group commit reads a counter once for the units of a batch until another
        # kind of write (sqlite_kept.py).
        self.appends = appends
        self.rows = _rows_statement(text) if appends else None

    def text(self, dialect: str) -> str:
        return self._pg if dialect == "postgresql" else self._sqlite


_INSERT_ONE = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES\s*\(([:\w, ]+)\)")


def _rows_statement(text: str) -> str:
    """PostgreSQL's statement for the rows of an ``appends`` statement ``text``, any number of
    them in one parameter, ``rows``: a JSON array of objects keyed by column, each turned
    into the table's row type by ``json_populate_recordset``.

    One statement for any count, with one parameter: psycopg converts and prepares it once.
    A ``VALUES (…), (…)`` of n rows is a statement per count, of 11n parameters, and psycopg
    stops caching its conversion of a query past 50 of them: a batch of five token rows cost
    the worker about 170 us more than one of three (measured with psycopg 3.3)."""
    match = _INSERT_ONE.fullmatch(text)
    if match is None:
        raise ValueError(f"not a one-row INSERT: {text!r}")
    table, columns, values = match.groups()
    names = [c.strip() for c in columns.split(",")]
    if [v.strip() for v in values.split(",")] != [":" + name for name in names]:
        raise ValueError(f"each value must be the parameter named as its column: {text!r}")
    listed = ", ".join(names)
    return (
        f"INSERT INTO {table} ({listed}) SELECT {listed} "  # noqa: S608 (names checked above)
        f"FROM json_populate_recordset(NULL::{table}, %(rows)s::json)"
    )


# A table's (or counter's) version in data_versions (migration 0004; 0012's client_checks).
DATA_VERSION = "SELECT version FROM data_versions WHERE name = :name"

# A statement and its parameters, as collected by a deferred unit of work.
Write = tuple[Sql, dict[str, Any]]


def fetch_one(dbapi: Any, text: str, params: dict[str, Any]) -> Any:
    """One row of ``text`` run on a DB-API connection (sqlite3 or psycopg)."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(text, params)
        return cursor.fetchone()
    finally:
        cursor.close()


def fetch_all(dbapi: Any, text: str, params: dict[str, Any]) -> list[Any]:
    """Every row of ``text`` run on a DB-API connection."""
    cursor = dbapi.cursor()
    try:
        cursor.execute(text, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
