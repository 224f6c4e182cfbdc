"""Two nodes started at once on one new PostgreSQL database both come up: one migrates, the
other waits for it, without deadlocking against the migration's CREATE INDEX CONCURRENTLY."""

from __future__ import annotations

import threading

from alembic import command
from sqlalchemy import create_engine, text

from ninja_oauth.store.migrate import ADVISORY_LOCK_ID, alembic_config, migrate
from tests.support.stores import head_revision


def test_a_node_waits_for_another_nodes_migration_and_neither_fails(pg_database_url: str) -> None:
    url = pg_database_url
    engine = create_engine(url)
    failures: list[BaseException] = []

    def second_node() -> None:
        try:
            migrate(url)
        except BaseException as exc:  # reported below, with the test's own outcome
            failures.append(exc)

    try:
        # The first node: takes the lock, then migrates (0006 builds indexes CONCURRENTLY,
        # which waits for every open snapshot) while the second node waits for the lock.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
            assert lock.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_ID}
            ).scalar()
            waiting = threading.Thread(target=second_node)
            waiting.start()
            with engine.connect() as conn:
                # Were the second node to hold a snapshot while it waits, the index build
                # would wait for it for ever (the lock is held on another connection, so
                # PostgreSQL sees no deadlock): fail instead of hanging.
                conn.execute(text("SET statement_timeout = '20s'"))
                conn.commit()
                config = alembic_config(url)
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            assert waiting.is_alive(), "the second node did not wait for the lock"
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_ID})
        waiting.join(timeout=60)
        assert not waiting.is_alive()
        assert failures == []
        with engine.connect() as conn:
            versions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
        assert versions == [head_revision(url)]
    finally:
        engine.dispose()
