"""Table versions (the ``data_versions`` counters that triggers bump on every change)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.tokens import ACCESS_COLUMNS
from ninja_oauth.store.statements import Sql

_VERSION = Sql("SELECT version FROM data_versions WHERE name = :name")


async def data_version_async(store: Store, table: str) -> int:
    """The table's current version, read from the event loop (one primary-key read)."""
    row = await store.fetchone_async(_VERSION, {"name": table})
    if row is None:
        raise LookupError(f"no data version is kept for {table!r}")
    return int(row[0])


@cache
def _access_with_versions(count: int) -> Sql:
    # One row per table asked for (data_versions has one per versioned table), each with the
    # token's columns, NULL when no live token has the digest.
    token = ", ".join(f"t.{c}" for c in ACCESS_COLUMNS)
    names = ", ".join(f":t{i}" for i in range(count))
    return Sql(
        f"SELECT v.name, v.version, {token} FROM data_versions v "  # noqa: S608 (names: constants)
        "LEFT JOIN tokens t ON t.access_digest = :digest AND t.revoked_at IS NULL "
        f"WHERE v.name IN ({names})"
    )


async def access_with_versions_async(
    store: Store, digest: str, tables: Sequence[str]
) -> tuple[Any, tuple[int, ...]]:
    """The access token's row (as ACCESS_LOOKUP reads it; None when no live token has the
    digest) and the versions of ``tables``, in one statement: one round trip on the path of a
    read whose body is kept (api/reads.py), where two would double the database's share."""
    params: dict[str, Any] = {"digest": digest}
    params.update({f"t{i}": table for i, table in enumerate(tables)})
    rows = await store.fetchall_async(_access_with_versions(len(tables)), params)
    versions = {name: int(version) for name, version, *_ in rows}
    missing = [t for t in tables if t not in versions]
    if missing:
        raise LookupError(f"no data version is kept for {missing[0]!r}")
    token = rows[0][2:]
    return (None if token[0] is None else tuple(token)), tuple(versions[t] for t in tables)
