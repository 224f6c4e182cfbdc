"""data_versions: the triggers bump a table's version on every insert, update and delete, on
SQLite and PostgreSQL (migration 0004)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, insert, update

from ninja_oauth.store.api_tables import organizations
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.versions import data_version_async


def _version(store: Store) -> int:
    return asyncio.run(data_version_async(store, "organizations"))


def test_every_change_to_organizations_bumps_its_version(store: Store) -> None:
    seen = [_version(store)]
    with store.transaction() as conn:
        conn.execute(
            insert(organizations).values(
                name="Versioned Org",
                node_approval_mode="AUTOMATIC",
                user_data={},
                tags=[],
                fields={},
                created_at=1,
            )
        )
    seen.append(_version(store))
    with store.transaction() as conn:
        conn.execute(
            update(organizations)
            .where(organizations.c.name == "Versioned Org")
            .values(description="changed")
        )
    seen.append(_version(store))
    with store.transaction() as conn:
        conn.execute(delete(organizations).where(organizations.c.name == "Versioned Org"))
    seen.append(_version(store))
    assert seen == sorted(set(seen)), seen  # strictly increasing: each change was seen
    # A read never bumps it.
    with store.reading() as conn:
        conn.execute(organizations.select())
    assert _version(store) == seen[-1]
