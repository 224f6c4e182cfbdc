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

from ninja_oauth.store.version_triggers import unversion_tables, version_tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VERSIONED = ("organizations",)


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_data_versions")),
    )
    # The counters start at 0; the triggers are deferred to the commit on PostgreSQL: the
    # counter's row is locked only then, so writers of the table never hold it while waiting
    # for each other (no new deadlock).
    version_tables(VERSIONED)


def downgrade() -> None:
    unversion_tables(VERSIONED)
    op.drop_table("data_versions")
