"""More data versions (issue 14): the reads of devices' inventory, alerts and catalog lists keep
their bodies per the versions of the tables they read (api/reads.py, ``kept_per``), as the
organizations list does since 0004. Same triggers as 0004's, on more tables.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VERSIONED = ("devices", "device_inventory", "alerts", "catalog_items", "organization_policies")


def upgrade() -> None:
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version"))
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
            # Deferred to the commit, as in 0004: the counter's row is locked only then.
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
    op.execute(
        "DELETE FROM data_versions WHERE name IN "
        "('devices', 'device_inventory', 'alerts', 'catalog_items', 'organization_policies')"
    )
