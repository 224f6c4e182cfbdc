"""Migrations bring a new database to the newest schema, and running them again changes nothing."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from ninja_oauth.store.migrate import alembic_config, migrate
from ninja_oauth.store.tables import metadata

OAUTH_TABLES = {
    "users",
    "apps",
    "authorization_codes",
    "tokens",
    "consents",
    "pending_authorizations",
    "throttle",
    "audit_events",
}


def _head(url: str) -> str:
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


def _state(url: str) -> tuple[set[str], list[str], dict[str, list[str]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            versions = [
                row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))
            ]
            columns = {
                name: sorted(c["name"] for c in inspect(conn).get_columns(name))
                for name in OAUTH_TABLES
            }
    finally:
        engine.dispose()
    return tables, versions, columns


def test_a_new_database_is_migrated_to_the_newest_revision_with_every_table(
    database_url: str,
) -> None:
    migrate(database_url)
    tables, versions, columns = _state(database_url)
    assert OAUTH_TABLES | {"alembic_version"} <= tables
    assert versions == [_head(database_url)]
    # The migrations create exactly the columns the Core tables declare.
    assert columns == {
        name: sorted(c.name for c in metadata.tables[name].columns) for name in OAUTH_TABLES
    }


def test_migrating_again_is_a_no_op_that_keeps_the_data(database_url: str) -> None:
    migrate(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO users (email, password_hash, is_admin, created_at) "
                    "VALUES ('kept@example.com', 'h', false, 1)"
                )
            )
    finally:
        engine.dispose()
    before = _state(database_url)
    migrate(database_url)
    migrate(database_url)
    assert _state(database_url) == before
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            emails = [r[0] for r in conn.execute(text("SELECT email FROM users"))]
    finally:
        engine.dispose()
    assert emails == ["kept@example.com"]
