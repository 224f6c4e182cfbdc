"""data_versions: the triggers bump a table's version on every insert, update and delete, on
SQLite and PostgreSQL (migration 0004)."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, insert, update

from ninja_oauth.store.api_tables import organizations
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
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


def test_writers_of_organizations_do_not_deadlock_on_the_version_counter(
    pg_database_url: str,
) -> None:
    """(PostgreSQL: SQLite has one writer at a time.) The counter's row is locked only at commit (a deferred trigger): two
    transactions updating two organizations in opposite orders wait for each other's row, as
    they would without the counter, and never form a cycle through it."""
    migrate(pg_database_url)
    store = Store(pg_database_url)
    with store.transaction() as conn:
        ids = [
            conn.execute(
                insert(organizations)
                .values(
                    name=f"Deadlock {n}",
                    node_approval_mode="AUTOMATIC",
                    user_data={},
                    tags=[],
                    fields={},
                    created_at=1,
                )
                .returning(organizations.c.id)
            ).scalar_one()
            for n in (1, 2)
        ]
    first, second = store.engine.connect(), store.engine.connect()
    try:
        first.begin()
        second.begin()
        touch = update(organizations).values(description="t")
        first.execute(touch.where(organizations.c.id == ids[0]))
        # With an immediate trigger this update would wait here for first's lock on the
        # counter (and a later update of ids[1] by first would be a deadlock).
        second.execute(touch.where(organizations.c.id == ids[1]))
        first.commit()
        second.commit()
    finally:
        first.close()
        second.close()
        store.close()
