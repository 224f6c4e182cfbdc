"""Table versions (the ``data_versions`` counters that triggers bump on every change)."""

from __future__ import annotations

from ninja_oauth.store.db import Store
from ninja_oauth.store.statements import Sql

_VERSION = Sql("SELECT version FROM data_versions WHERE name = :name")


async def data_version_async(store: Store, table: str) -> int:
    """The table's current version, read from the event loop (one primary-key read)."""
    row = await store.fetchone_async(_VERSION, {"name": table})
    if row is None:
        raise LookupError(f"no data version is kept for {table!r}")
    return int(row[0])
