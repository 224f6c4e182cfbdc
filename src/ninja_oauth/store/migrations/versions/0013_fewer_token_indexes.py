"""Tokens: two secondary indexes where there were three, and none of a client's NULL user.

Every token insert writes one entry in each index of ``tokens``, and on SQLite each index is a
page that the commit writes to the WAL and the checkpoint copies back. A client_credentials
token (the busy path) wrote five: the row, its access digest, its grant, its app, and a NULL
user. Now:

- ``ix_tokens_client_grant (client_id, grant_id)`` replaces ``ix_tokens_grant_id`` and
  ``ix_tokens_client_id``: an app's tokens (an administrator's revocation, the app's deletion)
  are its leading column, and a family is always revoked for its own app (``revoke_family``
  names both), so one index serves both lookups.
- ``ix_tokens_user (user_id) WHERE user_id IS NOT NULL`` replaces ``ix_tokens_user_id``: a
  token without a user (client credentials) puts nothing in it, and ``user_id = :id`` (a
  user's revocation, the cascade of a user's deletion) implies ``IS NOT NULL``, so both
  databases still use it.

On PostgreSQL the new indexes are built, and the old dropped, without blocking the token
writes of servers still running during the upgrade (CONCURRENTLY, outside a transaction).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_HAS_USER = sa.text("user_id IS NOT NULL")
# name: (columns, partial condition)
_NEW: dict[str, tuple[list[str], sa.TextClause | None]] = {
    "ix_tokens_client_grant": (["client_id", "grant_id"], None),
    "ix_tokens_user": (["user_id"], _HAS_USER),
}
_OLD: dict[str, tuple[list[str], sa.TextClause | None]] = {
    "ix_tokens_grant_id": (["grant_id"], None),
    "ix_tokens_client_id": (["client_id"], None),
    "ix_tokens_user_id": (["user_id"], None),
}


def _replace(
    create: dict[str, tuple[list[str], sa.TextClause | None]],
    drop: dict[str, tuple[list[str], sa.TextClause | None]],
) -> None:
    """Create the indexes of ``create``, then drop those of ``drop``: the tokens are never
    left without an index for their lookups."""
    postgresql = op.get_context().dialect.name == "postgresql"
    with op.get_context().autocommit_block() if postgresql else contextlib.nullcontext():
        for name, (columns, where) in create.items():
            op.create_index(
                name,
                "tokens",
                columns,
                sqlite_where=where,
                postgresql_where=where,
                postgresql_concurrently=postgresql,
            )
        for name in drop:
            op.drop_index(name, table_name="tokens", postgresql_concurrently=postgresql)


def upgrade() -> None:
    _replace(_NEW, _OLD)


def downgrade() -> None:
    _replace(_OLD, _NEW)
