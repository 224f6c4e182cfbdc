"""Table versions (the ``data_versions`` counters that triggers bump on every change)."""

from __future__ import annotations

from collections.abc import Sequence

from ninja_oauth.store.db import Store
from ninja_oauth.store.statements import Sql

_VERSION = Sql("SELECT version FROM data_versions WHERE name = :name")
# The whole table (one row per versioned table, a dozen): one round trip for any set of them.
_VERSIONS = Sql("SELECT name, version FROM data_versions")


async def data_version_async(store: Store, table: str) -> int:
    """The table's current version, read from the event loop (one primary-key read)."""
    row = await store.fetchone_async(_VERSION, {"name": table})
    if row is None:
        raise LookupError(f"no data version is kept for {table!r}")
    return int(row[0])


async def data_versions_async(store: Store, tables: Sequence[str]) -> tuple[int, ...]:
    """The current versions of ``tables``, in their order, read together in one statement from
    the event loop (so they are of one moment: a read that depends on several tables sees
    them as one snapshot would)."""
    if len(tables) == 1:
        return (await data_version_async(store, tables[0]),)
    rows = await store.fetchall_async(_VERSIONS, {})
    versions = {name: int(version) for name, version in rows}
    missing = [t for t in tables if t not in versions]
    if missing:
        raise LookupError(f"no data version is kept for {missing[0]!r}")
    return tuple(versions[t] for t in tables)
