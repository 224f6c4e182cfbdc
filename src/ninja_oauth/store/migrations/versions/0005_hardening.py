"""Hardening (issue 12): server-side browser sessions, bounded pending sign-ins, app profiles.

- ``browser_sessions``: a signed-in browser's row; the cookie holds only a random id.
- ``pending_authorizations``: the address a request came from (the per-address cap), and
  indexes so that the caps and the deletion of expired rows never scan the table.
- ``apps.profile``: ``strict`` or ``faithful`` per app; NULL follows the server's setting.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "browser_sessions",
        sa.Column("id_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_browser_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id_digest", name=op.f("pk_browser_sessions")),
    )
    op.create_index("ix_browser_sessions_user_id", "browser_sessions", ["user_id"])
    op.create_index("ix_browser_sessions_expires_at", "browser_sessions", ["expires_at"])
    with op.batch_alter_table("pending_authorizations") as batch:
        batch.add_column(sa.Column("address", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("created_ms", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_pending_authorizations_expires_at", "pending_authorizations", ["expires_at"]
    )
    op.create_index(
        "ix_pending_authorizations_session_binding", "pending_authorizations", ["session_binding"]
    )
    op.create_index("ix_pending_authorizations_address", "pending_authorizations", ["address"])
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("profile", sa.String(length=10), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("apps") as batch:
        batch.drop_column("profile")
    op.drop_index("ix_pending_authorizations_address", "pending_authorizations")
    op.drop_index("ix_pending_authorizations_session_binding", "pending_authorizations")
    op.drop_index("ix_pending_authorizations_expires_at", "pending_authorizations")
    with op.batch_alter_table("pending_authorizations") as batch:
        batch.drop_column("created_ms")
        batch.drop_column("address")
    op.drop_index("ix_browser_sessions_expires_at", "browser_sessions")
    op.drop_index("ix_browser_sessions_user_id", "browser_sessions")
    op.drop_table("browser_sessions")
