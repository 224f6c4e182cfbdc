"""SQLite: a version of what the token endpoint reads of an app and of its caller's throttle;
PostgreSQL: a throttle key renamed away from a client's notifies too.

Each store on SQLite keeps the token endpoint's row of an app that exists, with its caller's
blocks and pass (repositories/apps._GET_GUARDED), and serves it again while the
``client_checks`` counter in ``data_versions`` has not moved (store/sqlite_kept.py; a token's
group commit checks it). These triggers bump the counter, whoever writes (the API, the CLI,
another worker, plain SQL), on the changes such a row can see, the ones that migration 0011
notifies on PostgreSQL:

- ``apps``: a column the token endpoint reads changed (or the row's id, whose change can
  replace another app), the app deleted, or an insert that replaces an existing app (``INSERT
  OR REPLACE``: SQLite fires no DELETE trigger for the row it replaces). Not its
  ``last_used_at``, which the usage count writes every minute; not a new app, which is never
  kept before it exists.
- ``throttle``: a client's block or pass set, changed, renamed or deleted while in force, or
  an insert that replaces one with other values. A failure under the limit changes a counter
  that no kept row reads; sign-in keys are not read there.

The counter is bumped in the writer's transaction, so a reader that sees a change's commit sees
the new version too. It starts at the migration's time in microseconds, not at 0: a counter
made again (a downgrade and an upgrade while a worker runs) never repeats a version that a
worker may have kept rows under.

On PostgreSQL, 0011's trigger on throttle updates looked at the new key only: a client's pass
renamed away was not notified. It now looks at the old key as well.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

from ninja_oauth.store.version_triggers import APP_READ

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# store/sqlite_kept.py reads this counter. Trigger bodies are DDL (no parameters): every name
# below is a constant, never input.
COUNTER = "client_checks"
_BUMP = f"UPDATE data_versions SET version = version + 1 WHERE name = '{COUNTER}';"  # noqa: S608
_NOW = "CAST(strftime('%s', 'now') AS INTEGER)"

# The columns the token endpoint reads of an app, and its id.
APP_COLUMNS = ("id", *APP_READ)
# The throttle keys the token endpoint reads (oauth/throttling.py: client:, client-addr:,
# client-pass:).
CLIENT_KEY = "'client%'"
_PASS_MOVED = "NEW.key LIKE 'client-pass:%' AND {old}.window_start IS NOT NEW.window_start"

TRIGGERS = {
    "apps_read_changed": (
        "AFTER UPDATE ON apps WHEN "
        + " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in APP_COLUMNS)
    ),
    "apps_gone_changed": "AFTER DELETE ON apps",
    "apps_replaced_changed": (
        "BEFORE INSERT ON apps WHEN EXISTS (SELECT 1 FROM apps "
        "WHERE client_id = NEW.client_id OR id = NEW.id)"
    ),
    "throttle_added_changed": (
        f"AFTER INSERT ON throttle WHEN NEW.key LIKE {CLIENT_KEY} AND "
        "(NEW.blocked_until > 0 OR NEW.key LIKE 'client-pass:%')"
    ),
    # An upsert whose values differ (a failure's, under the limit, has the same
    # blocked_until of 0 and does not fire), or a REPLACE.
    "throttle_replaced_changed": (
        f"BEFORE INSERT ON throttle WHEN NEW.key LIKE {CLIENT_KEY} AND EXISTS (SELECT 1 "  # noqa: S608
        "FROM throttle AS t WHERE t.key = NEW.key AND (t.blocked_until IS NOT NEW.blocked_until "
        f"OR ({_PASS_MOVED.format(old='t')})))"
    ),
    "throttle_updated_changed": (
        f"AFTER UPDATE ON throttle WHEN (OLD.key LIKE {CLIENT_KEY} OR NEW.key LIKE {CLIENT_KEY}) "
        "AND (OLD.key IS NOT NEW.key OR OLD.blocked_until IS NOT NEW.blocked_until OR "
        f"({_PASS_MOVED.format(old='OLD')}))"
    ),
    "throttle_gone_changed": (
        f"AFTER DELETE ON throttle WHEN OLD.key LIKE {CLIENT_KEY} AND OLD.blocked_until > {_NOW}"
    ),
}


def _pg_throttle_trigger(keys: str) -> None:
    op.execute(
        "CREATE TRIGGER throttle_changed_notify AFTER UPDATE ON throttle FOR EACH ROW "
        f"WHEN ({keys} AND (OLD.key IS DISTINCT FROM NEW.key OR OLD.blocked_until IS DISTINCT "
        "FROM NEW.blocked_until OR (NEW.key LIKE 'client-pass:%' AND OLD.window_start IS "
        "DISTINCT FROM NEW.window_start))) EXECUTE FUNCTION ninja_oauth_changed()"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER throttle_changed_notify ON throttle")
        _pg_throttle_trigger(f"(OLD.key LIKE {CLIENT_KEY} OR NEW.key LIKE {CLIENT_KEY})")
        return
    versions = sa.table("data_versions", sa.column("name", sa.String), sa.column("version"))
    op.bulk_insert(versions, [{"name": COUNTER, "version": time.time_ns() // 1000}])
    for name, when in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {_BUMP} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER throttle_changed_notify ON throttle")
        _pg_throttle_trigger(f"NEW.key LIKE {CLIENT_KEY}")  # 0011's
        return
    versions = sa.table("data_versions", sa.column("name", sa.String))
    op.execute(sa.delete(versions).where(versions.c.name == COUNTER))
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER {name}")
