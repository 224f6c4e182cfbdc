"""Data versions for the reports, tickets and scripting options (issue 14): the
/v2/queries reports, a ticket and its log entries, and a device's scripting options keep
their bodies per the versions of the tables they read (api/reads.py, ``kept_per``), as the
reads of 0008 do. The same triggers as 0004's and 0008's.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from ninja_oauth.store.version_triggers import unversion_tables, version_tables

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

VERSIONED = ("locations", "scripts", "tickets", "ticket_log_entries")


def upgrade() -> None:
    version_tables(VERSIONED)


def downgrade() -> None:
    unversion_tables(VERSIONED)
