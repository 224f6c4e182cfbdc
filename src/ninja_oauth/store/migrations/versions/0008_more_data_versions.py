"""More data versions (issue 14): the reads of devices' inventory, alerts and catalog lists keep
their bodies per the versions of the tables they read (api/reads.py, ``kept_per``), as the
organizations list does since 0004. Same triggers as 0004's, on more tables.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from ninja_oauth.store.version_triggers import unversion_tables, version_tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

VERSIONED = ("devices", "device_inventory", "alerts", "catalog_items", "organization_policies")


def upgrade() -> None:
    version_tables(VERSIONED)


def downgrade() -> None:
    unversion_tables(VERSIONED)
