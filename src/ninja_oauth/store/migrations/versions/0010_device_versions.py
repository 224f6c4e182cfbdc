"""Data versions for the device reads: /v2/device/{id}, /v2/devices, /v2/devices-detailed and
/v2/organization/{id}/devices keep their bodies per the versions of the tables they read
(api/reads.py, ``kept_per``), as the reads of 0008 and 0009 do. Of those tables, the roles, the
policies and the maintenance windows had no version yet. The same triggers as 0004's.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from ninja_oauth.store.version_triggers import unversion_tables, version_tables

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

VERSIONED = ("node_roles", "policies", "device_maintenance")


def upgrade() -> None:
    version_tables(VERSIONED)


def downgrade() -> None:
    unversion_tables(VERSIONED)
