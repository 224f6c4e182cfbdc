"""The DDL of the data-version triggers (``data_versions``, migration 0004), for the migrations
that version more tables.

Each versioned table gets a counter row and triggers that bump it on every change, whoever
writes: the API, the CLI, another worker or node, plain SQL. On PostgreSQL the trigger is a
constraint trigger deferred to the commit, so the counter's row is locked only then; on SQLite,
one trigger per event. Trigger bodies are DDL: they take no bound parameters, so the table
names must be the calling migration's constants, never input. Migrations 0004, 0008, 0009 and 0010
run this DDL: it must never change (a new trigger shape is a new function and a migration).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from alembic import op

# The columns the token endpoint reads of an app (repositories/apps._GET_GUARDED): a change of
# one of them notifies on PostgreSQL (migration 0011) and bumps the client_checks counter on
# SQLite (0012). Both migrations' DDL is built from it: it must never change either.
APP_READ = (
    "client_id",
    "name",
    "platform",
    "redirect_uris",
    "scopes",
    "grant_types",
    "secret_digest",
    "created_at",
    "profile",
    "is_admin",
)


def version_tables(tables: Iterable[str]) -> None:
    """Start a counter at 0 for each table and create the triggers that bump it."""
    names = list(tables)
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version"))
    op.bulk_insert(versions, [{"name": table, "version": 0} for table in names])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in names:
        bump = f"UPDATE data_versions SET version = version + 1 WHERE name = '{table}';"  # noqa: S608
        if not postgresql:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_changed AFTER {event} ON {table} "
                    f"BEGIN {bump} END"
                )
            continue
        op.execute(
            f"CREATE FUNCTION {table}_changed() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {bump} RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE CONSTRAINT TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
            f"EXECUTE FUNCTION {table}_changed()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_changed()"
        )


def unversion_tables(tables: Iterable[str]) -> None:
    """Drop what ``version_tables`` created."""
    names = list(tables)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in names:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_truncated ON {table}")
            op.execute(f"DROP TRIGGER {table}_changed ON {table}")
            op.execute(f"DROP FUNCTION {table}_changed()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_changed")
    versions = sa.table("data_versions", sa.column("name", sa.String))
    op.execute(sa.delete(versions).where(versions.c.name.in_(names)))
