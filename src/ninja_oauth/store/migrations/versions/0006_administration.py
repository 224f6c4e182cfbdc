"""Administration (issue 11): disabled users, admin apps, an app's last use, a fuller audit log.

- ``users.disabled_at``: set when an administrator disables the user (NULL: enabled).
- ``apps.is_admin``: an admin app may be granted the ``admin`` scope (client_credentials).
- ``apps.last_used_at``: when the app was last issued a token (written at most once a minute
  per app and process, with the issuance counts: ``oauth/usage.py``).
- ``audit_events.actor`` and ``.address``: who did it (an email, ``cli``, ``client:<id>``)
  and from which address; indexes for the console's filters.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("disabled_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("apps") as batch:
        batch.add_column(
            sa.Column("is_admin", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("last_used_at", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("actor", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_events_event", "audit_events", ["event"])
    op.create_index("ix_audit_events_client_id", "audit_events", ["client_id"])
    op.create_index("ix_audit_events_user_id", "audit_events", ["user_id"])
    if op.get_context().dialect.name == "postgresql":
        # The tokens table is the big and busy one: build its indexes without blocking the
        # token writes of servers still running during the upgrade (outside a transaction,
        # as CREATE INDEX CONCURRENTLY must be).
        with op.get_context().autocommit_block():
            for column in ("client_id", "user_id"):
                op.create_index(
                    f"ix_tokens_{column}", "tokens", [column], postgresql_concurrently=True
                )
    else:
        op.create_index("ix_tokens_client_id", "tokens", ["client_id"])
        op.create_index("ix_tokens_user_id", "tokens", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_tokens_user_id", "tokens")
    op.drop_index("ix_tokens_client_id", "tokens")
    op.drop_index("ix_audit_events_user_id", "audit_events")
    op.drop_index("ix_audit_events_client_id", "audit_events")
    op.drop_index("ix_audit_events_event", "audit_events")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("address")
        batch.drop_column("actor")
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("is_admin")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("disabled_at")
