"""Table versions (the ``data_versions`` counters that triggers bump on every change)."""

from __future__ import annotations

from functools import cache
from typing import Any

from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.tokens import ACCESS_COLUMNS, ACCESS_LOOKUP
from ninja_oauth.store.statements import DATA_VERSION, Sql

_VERSION = Sql(DATA_VERSION)


async def data_version_async(store: Store, table: str) -> int:
    """The table's current version, read from the event loop (one primary-key read)."""
    row = await store.fetchone_async(_VERSION, {"name": table})
    if row is None:
        raise LookupError(f"no data version is kept for {table!r}")
    return int(row[0])


_TOKEN_COLUMNS = ", ".join(f"t.{c}" for c in ACCESS_COLUMNS)


@cache
def _access_with_versions(tables: tuple[str, ...]) -> tuple[Sql, dict[str, Any]]:
    """The statement for ``tables`` and its parameters but the digest, made once per tuple.
    One row per table asked for (data_versions has one per versioned table), each with the
    token's columns, NULL when no live token has the digest."""
    names = ", ".join(f":t{i}" for i in range(len(tables)))
    stmt = Sql(
        f"SELECT v.name, v.version, {_TOKEN_COLUMNS} FROM data_versions v "  # noqa: S608
        "LEFT JOIN tokens t ON t.access_digest = :digest AND t.revoked_at IS NULL "
        f"WHERE v.name IN ({names})"
    )
    return stmt, {f"t{i}": table for i, table in enumerate(tables)}


# PostgreSQL: the access token of a digest with every versioned table's version (data_versions
# holds a row per table: a few dozen numbers), one row whatever exists. Keyed: the bearer checks
# that one worker's loop makes at once are read in one statement (Sql's ``keyed``), which
# gathers the versions once for all of them (derived from the first, it gathered them again
# for each token: with 8 tokens, 218 us a statement instead of 158). Only the keyed form runs:
# on PostgreSQL the store reads a keyed statement keyed, and SQLite has the statements above.
_VERSIONS = "(SELECT array_agg(name) AS names, array_agg(version) AS versions FROM data_versions)"
_ACCESS_AND_VERSIONS = Sql(
    f"SELECT {_TOKEN_COLUMNS}, v.names, v.versions FROM {_VERSIONS} AS v "  # noqa: S608
    "LEFT JOIN tokens t ON t.access_digest = :digest AND t.revoked_at IS NULL",
    # The token by a LATERAL subquery that cannot be merged into the join (its LIMIT): an index
    # lookup per key whatever the planner believes of the table's size. As a plain join, the
    # generic plan of a new, empty table hashed a scan of it, and kept doing so once it held
    # a million tokens (bench: 426 GETs/s).
    keyed=f"SELECT k.want, {_TOKEN_COLUMNS}, v.names, v.versions "  # noqa: S608
    f"FROM {_VERSIONS} AS v CROSS JOIN unnest(CAST(%(keys)s AS text[])) AS k(want) "
    "LEFT JOIN LATERAL (SELECT * FROM tokens WHERE access_digest = (k.want::json ->> 'digest') "
    "AND revoked_at IS NULL LIMIT 1) AS t ON true",
    # A worker keeps the row of a live token until a token is revoked or a table's version
    # moves (store/pg_changes.py); an unknown digest is read every time (new tokens are not
    # notified, and guesses must not fill the worker's memory).
    changes=("tokens", "data_versions"),
    kept_if=lambda row: row[0] is not None,
)
_TOKEN = slice(0, len(ACCESS_COLUMNS))


async def access_async(store: Store, digest: str) -> Any:
    """The access token's row (as ACCESS_LOOKUP reads it), None when no live token has the
    digest: on PostgreSQL read with the loop's other bearer checks, in one statement."""
    if store.dialect != "postgresql":
        return await store.fetchone_async(ACCESS_LOOKUP, {"digest": digest})
    token = (await store.fetchone_async(_ACCESS_AND_VERSIONS, {"digest": digest}))[_TOKEN]
    return None if token[0] is None else token


async def access_with_versions_async(
    store: Store, digest: str, tables: tuple[str, ...]
) -> tuple[Any, tuple[int, ...]]:
    """The access token's row (as ACCESS_LOOKUP reads it; None when no live token has the
    digest) and the versions of ``tables``, in one statement: one round trip on the path of a
    read whose body is kept (api/reads.py), where two would double the database's share. On
    PostgreSQL the statement also reads the loop's other bearer checks (``access_async``)."""
    if store.dialect == "postgresql":
        row = await store.fetchone_async(_ACCESS_AND_VERSIONS, {"digest": digest})
        token, by_name = row[_TOKEN], dict(zip(row[-2] or (), row[-1] or (), strict=True))
    else:
        stmt, names = _access_with_versions(tables)
        rows = await store.fetchall_async(stmt, {**names, "digest": digest})
        by_name = {row[0]: row[1] for row in rows}
        token = rows[0][2:] if rows else (None,)
    unknown = [t for t in tables if t not in by_name]
    if unknown:
        raise LookupError(f"no data version is kept for {unknown[0]!r}")
    versions = tuple(int(by_name[t]) for t in tables)
    return (None if token[0] is None else token), versions
