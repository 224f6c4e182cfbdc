"""data_versions: the triggers bump a table's version on every insert, update and delete, on
SQLite and PostgreSQL (migration 0004)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, insert, update

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store.api_tables import organizations
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.repositories.versions import (
    access_async,
    access_with_versions_async,
    data_version_async,
)
from tests.store.conftest import new_token


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


def test_concurrent_bearer_checks_each_get_their_own_token_and_the_versions(
    store: Store, repos: Repositories, register: Callable[..., App]
) -> None:
    # On PostgreSQL the checks of one loop turn are read in one statement (pg_reads'
    # fetch_keyed): each must still get its own row, a revoked or unknown token none.
    app = register()
    live = [new_token(app) for _ in range(6)]
    revoked = [new_token(app) for _ in range(3)]
    with store.transaction():
        for token in live + revoked:
            repos.tokens.save(token)
    for token in revoked:
        assert repos.tokens.revoke_family(app.client_id, token.grant_id, token.issued_at) == 1
    unknown = [secrets.token_hex(32) for _ in range(3)]
    asked = [t.access_digest for t in live + revoked] + unknown
    asked = asked + asked[::-1]  # each digest asked for twice, at once

    async def checks() -> tuple[list[Any], list[tuple[Any, tuple[int, ...]]], int]:
        rows = await asyncio.gather(*(access_async(store, d) for d in asked))
        tables = ("organizations", "devices")
        kept = await asyncio.gather(*(access_with_versions_async(store, d, tables) for d in asked))
        return list(rows), list(kept), await data_version_async(store, "organizations")

    rows, kept, organizations_version = asyncio.run(checks())
    ids = {t.access_digest: i for i, t in enumerate(live)}
    for digest, row, (kept_row, versions) in zip(asked, rows, kept, strict=True):
        if digest in ids:
            assert row is not None and row[1] == app.client_id, (digest, row)
            assert tuple(kept_row) == tuple(row)
        else:
            assert row is None and kept_row is None, digest
        assert versions[0] == organizations_version
    assert len({row[0] for row in rows if row is not None}) == len(live)  # six distinct tokens
