"""Migrations bring a new database to the newest schema, and running them again changes nothing."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from ninja_oauth.store.migrate import alembic_config, migrate
from ninja_oauth.store.tables import metadata
from tests.support.stores import head_revision

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
    assert versions == [head_revision(database_url)]
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


def _app_sql(client_id: str) -> str:
    return (
        "INSERT INTO apps (client_id, name, platform, redirect_uris, scopes, grant_types, "
        f"created_at) VALUES ('{client_id}', 'M', 'api_services', '[]', 'monitoring', "
        "'client_credentials', 1)"
    )


def _token_sql(n: int, refresh: str | None, client_id: str = "mig-app") -> str:
    refresh_value = f"'{refresh}'" if refresh else "NULL"
    return (
        "INSERT INTO tokens (access_digest, refresh_digest, client_id, scope, grant_id, "
        "grant_type, issued_at, access_expires_at) VALUES "
        f"('a{n}', {refresh_value}, '{client_id}', 'monitoring', 'g{n}', 'client_credentials', "
        "1, 2)"
    )


def test_0003_keeps_the_tokens_and_refresh_digests_stay_unique(database_url: str) -> None:
    """From 0002 (a unique constraint) to the partial unique index: rows survive, NULLs are
    free to repeat, a real refresh digest still cannot."""
    config = alembic_config(database_url)
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
            for name in reversed(metadata.sorted_tables):
                cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
                conn.execute(text(f"DROP TABLE IF EXISTS {name.name}{cascade}"))
            if engine.dialect.name == "postgresql":
                # The trigger functions (data versions: 0004, 0008; notifications: 0011)
                # outlive their tables.
                for table in metadata.sorted_tables:
                    conn.execute(text(f"DROP FUNCTION IF EXISTS {table.name}_changed()"))
                conn.execute(text("DROP FUNCTION IF EXISTS ninja_oauth_changed()"))
                conn.execute(text("DROP FUNCTION IF EXISTS ninja_oauth_live_tokens_gone()"))
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
            conn.execute(text(_app_sql("mig-app")))
            conn.execute(text(_token_sql(1, "r1")))
            conn.execute(text(_token_sql(2, None)))
        migrate(database_url)
        with engine.begin() as conn:
            conn.execute(text(_token_sql(3, None)))
            assert conn.execute(text("SELECT count(*) FROM tokens")).scalar_one() == 3
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(text(_token_sql(4, "r1")))
        with engine.connect() as conn:
            indexes = {i["name"]: i for i in inspect(conn).get_indexes("tokens")}
        assert indexes["ix_tokens_refresh_digest"]["unique"]
    finally:
        engine.dispose()


def _token_indexes(url: str) -> dict[str, tuple[list[str], bool]]:
    """The secondary indexes of ``tokens``: their columns, and whether partial (SQLAlchemy's
    inspector reports the condition per dialect: ``dialect_options``)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = inspect(conn).get_indexes("tokens")
    finally:
        engine.dispose()
    return {
        i["name"]: (
            list(i["column_names"]),
            any(k.endswith("_where") for k in i.get("dialect_options", {})),
        )
        for i in found
        if i["name"] and not i["name"].startswith("sqlite_autoindex")
    }


def test_0013_leaves_two_token_indexes_and_its_downgrade_the_three(database_url: str) -> None:
    """An app's tokens and its families in one index, a user's without the NULLs of client
    credentials; a downgrade to 0012 brings the three indexes back, with the rows."""
    migrate(database_url)
    new = {
        "ix_tokens_client_grant": (["client_id", "grant_id"], False),
        "ix_tokens_user": (["user_id"], True),
        "ix_tokens_refresh_digest": (["refresh_digest"], True),
    }
    assert {k: v for k, v in _token_indexes(database_url).items() if k in new} == new
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(_app_sql("mig13-app")))
            conn.execute(text(_token_sql(13, None, "mig13-app")))
        command.downgrade(alembic_config(database_url), "0012")
        old = _token_indexes(database_url)
        assert {"ix_tokens_client_grant", "ix_tokens_user"}.isdisjoint(old)
        assert old["ix_tokens_grant_id"] == (["grant_id"], False)
        assert old["ix_tokens_client_id"] == (["client_id"], False)
        assert old["ix_tokens_user_id"] == (["user_id"], False)
        migrate(database_url)
        assert {k: v for k, v in _token_indexes(database_url).items() if k in new} == new
        with engine.connect() as conn:
            kept = text("SELECT count(*) FROM tokens WHERE client_id = 'mig13-app'")
            assert conn.execute(kept).scalar_one() == 1
    finally:
        engine.dispose()
