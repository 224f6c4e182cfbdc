"""Refresh digests: a partial unique index instead of a unique constraint.

Most tokens (client credentials, implicit) have no refresh token. With a unique constraint,
every such token put a NULL into the refresh digest's index, and on SQLite that insert cost
about a third of the whole token insert; the partial index holds only real refresh digests and
serves the same lookups (``refresh_digest = :d`` implies ``IS NOT NULL``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_NOT_NULL = sa.text("refresh_digest IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tokens_refresh_digest", type_="unique")
    op.create_index(
        "ix_tokens_refresh_digest",
        "tokens",
        ["refresh_digest"],
        unique=True,
        sqlite_where=_NOT_NULL,
        postgresql_where=_NOT_NULL,
    )


def downgrade() -> None:
    op.drop_index("ix_tokens_refresh_digest", table_name="tokens")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_tokens_refresh_digest", ["refresh_digest"])
