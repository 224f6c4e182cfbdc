"""Bring a database to the newest schema (on ``serve``, on every CLI command, in tests)."""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, text

from ninja_oauth.store.engine import null_pool_engine

_MIGRATIONS = Path(__file__).parent / "migrations"

# Any constant shared by every node: serializes concurrent `serve` starts on one PostgreSQL.
ADVISORY_LOCK_ID = 7_403_118_221
# How often a node waiting for another's migration asks for the lock again.
_LOCK_POLL_SECONDS = 0.2


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    engine = null_pool_engine(url)
    try:
        if engine.dialect.name != "postgresql":
            _upgrade(engine, url)
            return
        # The lock is held on a connection of its own, in autocommit, and asked for with
        # pg_try_advisory_lock between short sleeps: a node that waited inside a statement
        # (pg_advisory_lock) would keep a snapshot open all the while, and the other node's
        # CREATE INDEX CONCURRENTLY (0006) waits for every such snapshot to end, while that
        # node waits for the lock: a deadlock, which PostgreSQL breaks by failing one of them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as lock:
            _wait_for_lock(lock)
            try:
                _upgrade(engine, url)
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_ID})
    finally:
        engine.dispose()


def _wait_for_lock(conn: Connection) -> None:
    """Take the migration lock, waiting for as long as another node holds it (a migration that
    builds an index on a big table may take minutes)."""
    take = text("SELECT pg_try_advisory_lock(:k)")
    while not conn.execute(take, {"k": ADVISORY_LOCK_ID}).scalar_one():
        time.sleep(_LOCK_POLL_SECONDS)


def _upgrade(engine: Engine, url: str) -> None:
    with engine.connect() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        conn.commit()
