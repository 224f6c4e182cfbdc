"""PostgreSQL: a notification on every change that a worker's kept rows depend on.

A worker on PostgreSQL keeps the rows of its two hot reads (store/pg_changes.py): a live access
token's row with the tables' versions, and an app that exists with its caller's throttle blocks
and pass. These triggers tell it, whoever writes (the API, the CLI, another worker or node,
plain SQL), when one of those rows may have changed: ``pg_notify`` on the channel
``ninja_oauth_changes`` with the table's name, sent to every listener at the writer's commit.

Only the changes such a row can see notify, because each notifying commit takes PostgreSQL's
notification lock (one for the whole server) until it has committed:

- ``tokens``: a token's checked columns rewritten or it revoked, and the deletion of a live
  token (an app's or user's deletion). A refresh rotation marks its old row used, which no
  bearer check reads; a new token is in no kept row; the purge deletes expired rows only.
- ``apps``: an app's columns that the token endpoint reads, changed, or the app deleted (not
  its ``last_used_at``, which the usage count writes every minute; not a new app).
- ``throttle``: a client's block or pass set, changed, or deleted while in force. A failure
  under the limit changes a counter that no kept row reads; sign-in keys are not read there.
- ``data_versions``: a version moved.
- A TRUNCATE of any of them.

SQLite has no such channel, and needs none: its reads are of the worker's own file.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from alembic import op

from ninja_oauth.store.version_triggers import APP_READ

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# store/pg_changes.py listens on this channel. Trigger bodies are DDL (no parameters): every
# name below is a constant, never input.
CHANNEL = "ninja_oauth_changes"
_NOW = "extract(epoch FROM now())"

# The columns a bearer check reads (repositories/tokens.ACCESS_COLUMNS), its digest, and
# whether it is revoked.
TOKEN_CHECKED = ("id", "access_digest", "client_id", "user_id", "scope", "access_expires_at")
# The throttle keys the token endpoint reads (oauth/throttling.py: client:, client-addr:,
# client-pass:).
CLIENT_KEY = "'client%'"

TABLES = ("tokens", "apps", "throttle", "data_versions")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in columns)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION ninja_oauth_changed() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME); RETURN NULL; END $$"
    )
    # A deletion's rows, seen once per statement: the purge deletes thousands of expired
    # tokens at once, none of them live.
    live_gone = f"SELECT 1 FROM gone WHERE revoked_at IS NULL AND access_expires_at > {_NOW}"  # noqa: S608
    op.execute(
        "CREATE FUNCTION ninja_oauth_live_tokens_gone() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN IF EXISTS ({live_gone}) THEN PERFORM pg_notify('{CHANNEL}', 'tokens'); "
        "END IF; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER tokens_checked_notify AFTER UPDATE ON tokens FOR EACH ROW "
        f"WHEN ({_changed((*TOKEN_CHECKED, 'revoked_at'))}) "
        "EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER tokens_gone_notify AFTER DELETE ON tokens REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION ninja_oauth_live_tokens_gone()"
    )
    op.execute(
        "CREATE TRIGGER apps_read_notify AFTER UPDATE ON apps FOR EACH ROW "
        f"WHEN ({_changed(APP_READ)}) EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER apps_gone_notify AFTER DELETE ON apps FOR EACH ROW "
        "EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER throttle_added_notify AFTER INSERT ON throttle FOR EACH ROW "
        f"WHEN (NEW.key LIKE {CLIENT_KEY} AND (NEW.blocked_until > 0 "
        "OR NEW.key LIKE 'client-pass:%')) EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER throttle_changed_notify AFTER UPDATE ON throttle FOR EACH ROW "
        f"WHEN (NEW.key LIKE {CLIENT_KEY} AND ({_changed(('key', 'blocked_until'))} "
        "OR (NEW.key LIKE 'client-pass:%' AND OLD.window_start IS DISTINCT FROM "
        "NEW.window_start))) EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER throttle_gone_notify AFTER DELETE ON throttle FOR EACH ROW "
        f"WHEN (OLD.key LIKE {CLIENT_KEY} AND OLD.blocked_until > {_NOW}) "
        "EXECUTE FUNCTION ninja_oauth_changed()"
    )
    op.execute(
        "CREATE TRIGGER data_versions_notify AFTER INSERT OR UPDATE OR DELETE ON data_versions "
        "FOR EACH ROW EXECUTE FUNCTION ninja_oauth_changed()"
    )
    for table in TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_truncated_notify AFTER TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION ninja_oauth_changed()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_truncated_notify ON {table}")
    for trigger, table in (
        ("data_versions_notify", "data_versions"),
        ("throttle_gone_notify", "throttle"),
        ("throttle_changed_notify", "throttle"),
        ("throttle_added_notify", "throttle"),
        ("apps_gone_notify", "apps"),
        ("apps_read_notify", "apps"),
        ("tokens_gone_notify", "tokens"),
        ("tokens_checked_notify", "tokens"),
    ):
        op.execute(f"DROP TRIGGER {trigger} ON {table}")
    op.execute("DROP FUNCTION ninja_oauth_live_tokens_gone()")
    op.execute("DROP FUNCTION ninja_oauth_changed()")
