"""data_versions: a counter per table that triggers bump on every change.

A reader that keeps something derived from a table (the serialized organizations list, in the
Public API) reads the table's version first and reuses what it kept only while the version is
the same. The triggers see every writer: the API, the CLI, another worker or node, plain SQL.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VERSIONED = ("organizations",)


def upgrade() -> None:
    versions = op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    op.bulk_insert(versions, [{"name": table, "version": 0} for table in VERSIONED])
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in VERSIONED:
        # Trigger bodies are DDL: no bound parameters; the names are this module's constants.
        bump = f"UPDATE data_versions SET version = version + 1 WHERE name = '{table}';"  # noqa: S608
        if postgresql:
            op.execute(
                f"CREATE FUNCTION {table}_changed() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN {bump} RETURN NULL; END $$"
            )
            # Deferred to the commit: the counter's row is locked only then, so writers of
            # the table never hold it while waiting for each other (no new deadlock).
            op.execute(
                f"CREATE CONSTRAINT TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                f"EXECUTE FUNCTION {table}_changed()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_truncated AFTER TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_changed()"
            )
        else:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{event.lower()}_changed AFTER {event} ON {table} "
                    f"BEGIN {bump} END"
                )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in VERSIONED:
        if postgresql:
            op.execute(f"DROP TRIGGER {table}_truncated ON {table}")
            op.execute(f"DROP TRIGGER {table}_changed ON {table}")
            op.execute(f"DROP FUNCTION {table}_changed()")
        else:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_changed")
    op.drop_table("data_versions")
