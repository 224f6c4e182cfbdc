"""The SQL of the webhooks endpoints (api/routes/webhooks.py) and of their deliveries
(web/webhook_delivery.py).

One webhook per app (``webhooks``, keyed by client id). Every activity the API records is
matched against the webhooks in the transaction that records it (``enqueue_deliveries``): a
``webhook_deliveries`` row per match, ``pending``. The delivery worker claims due rows with
one statement (``claim_due``) and records each attempt: ``delivered``, ``pending`` again with a
later ``next_attempt_ms``, or ``gave_up``.

The ``activities`` column holds the webhook's whole filter as given at registration, the
spec's ``activities`` map with ``organizationIds`` and ``expand`` beside it (the table has no
columns of their own for those two).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import activities, devices, webhook_deliveries, webhooks
from ninja_oauth.store.public_api import all_rows, one_row
from ninja_oauth.store.tables import apps, users

PENDING = "pending"
DELIVERED = "delivered"
GAVE_UP = "gave_up"


def put_webhook(
    conn: Connection,
    client_id: str,
    *,
    url: str,
    activity_filter: dict[str, Any],
    headers: list[dict[str, str]],
    now: int,
) -> None:
    """Create or replace the app's webhook: one statement, so two PUTs racing cannot both
    insert."""
    values = {
        "client_id": client_id,
        "url": url,
        "activities": activity_filter,
        "headers": headers,
        "created_at": now,
        "updated_at": now,
    }
    changes = {k: values[k] for k in ("url", "activities", "headers", "updated_at")}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(webhooks).values(**values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["client_id"], set_=changes))


def delete_webhook(conn: Connection, client_id: str) -> bool:
    """Remove the app's webhook and what was still to be delivered to it."""
    conn.execute(
        delete(webhook_deliveries).where(
            (webhook_deliveries.c.client_id == client_id) & (webhook_deliveries.c.status == PENDING)
        )
    )
    return conn.execute(delete(webhooks).where(webhooks.c.client_id == client_id)).rowcount > 0


def get_webhook(conn: Connection, client_id: str) -> RowMapping | None:
    return one_row(conn, select(webhooks).where(webhooks.c.client_id == client_id))


def user_is_admin(conn: Connection, user_id: int) -> bool:
    row = one_row(conn, select(users.c.is_admin).where(users.c.id == user_id))
    return bool(row and row["is_admin"])


def app_reads(conn: Connection, client_id: str) -> bool:
    """Whether the app is configured with the monitoring scope (the activities' scope)."""
    row = one_row(conn, select(apps.c.scopes).where(apps.c.client_id == client_id))
    return row is not None and _reads(row)


# -- matching, when an activity is recorded ----------------------------------------------------


def _matches(activity: Mapping[str, Any], flt: Mapping[str, Any], org_id: int | None) -> bool:
    """The spec's activity filter: activity type → status codes; no filter, or an empty list
    or "*" for a type, takes every activity (of that type). ``organizationIds`` keeps the
    activities of those organizations' devices."""
    org_ids = flt.get("organizationIds")
    if org_ids is not None and org_id not in org_ids:
        return False
    types: Mapping[str, list[str]] | None = flt.get("activities")
    if not types:
        return True
    codes = types.get(activity["activity_type"])
    if codes is None:
        return False
    return not codes or "*" in codes or activity["status_code"] in codes


def enqueue_deliveries(
    conn: Connection, activity_id: int, activity: Mapping[str, Any], now_ms: int
) -> int:
    """A pending delivery of the activity for each webhook whose filter takes it; one read of
    the (small) webhooks table, and nothing more when there are none."""
    hooks = [
        h
        for h in all_rows(
            conn,
            select(webhooks.c.client_id, webhooks.c.activities, apps.c.scopes).join(
                apps, apps.c.client_id == webhooks.c.client_id
            ),
        )
        if _reads(h)
    ]
    if not hooks:
        return 0
    org_id: int | None = None
    device_id = activity.get("device_id")
    if device_id is not None and any(h["activities"].get("organizationIds") for h in hooks):
        org_id = conn.execute(
            select(devices.c.organization_id).where(devices.c.id == device_id)
        ).scalar()
    rows = [
        {
            "client_id": h["client_id"],
            "activity_id": activity_id,
            "status": PENDING,
            "attempts": 0,
            "created_at": now_ms // 1000,
            "next_attempt_ms": now_ms,
        }
        for h in hooks
        if _matches(activity, h["activities"], org_id)
    ]
    if rows:
        conn.execute(insert(webhook_deliveries), rows)
    return len(rows)


# -- the delivery worker -----------------------------------------------------------------------


def any_due(conn: Connection, now_ms: int) -> bool:
    """Whether a delivery is due: one probe of the (status, next_attempt_ms) index."""
    d = webhook_deliveries.c
    stmt = select(d.id).where((d.status == PENDING) & (d.next_attempt_ms <= now_ms)).limit(1)
    return conn.execute(stmt).first() is not None


def claim_due(conn: Connection, now_ms: int, lease_ms: int, limit: int) -> list[RowMapping]:
    """Claim up to ``limit`` due deliveries for this worker: their next attempt moves past the
    lease, in one UPDATE ... RETURNING whose WHERE is checked again on each row it changes
    (and whose rows PostgreSQL skips when another worker holds them), so no two workers, on
    one node or many, claim the same row. A worker that dies holding a claim leaves the row to
    be claimed again once the lease has passed."""
    d = webhook_deliveries.c
    due = (d.status == PENDING) & (d.next_attempt_ms <= now_ms)
    wanted = (
        select(d.id)
        .where(due)
        .order_by(d.next_attempt_ms, d.id)
        .limit(limit)
        # FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite, one writer at a time, renders nothing.
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(webhook_deliveries)
        .where(d.id.in_(wanted.scalar_subquery()) & due)
        .values(next_attempt_ms=now_ms + lease_ms)
        .returning(d.id, d.client_id, d.activity_id, d.attempts)
    )
    return list(conn.execute(stmt).mappings().all())


def webhooks_by_client(conn: Connection, client_ids: Iterable[str]) -> dict[str, RowMapping]:
    """The webhooks of these apps whose app still has the monitoring scope: one whose app lost
    it since (``apps edit``) sends nothing more, as its tokens could read nothing more."""
    wanted = sorted(set(client_ids))
    if not wanted:
        return {}
    rows = all_rows(
        conn,
        select(webhooks, apps.c.scopes)
        .join(apps, apps.c.client_id == webhooks.c.client_id)
        .where(webhooks.c.client_id.in_(wanted)),
    )
    return {r["client_id"]: r for r in rows if _reads(r)}


def _reads(row: Any) -> bool:
    """Whether a row's app ``scopes`` hold monitoring, the activities' scope."""
    return "monitoring" in str(row["scopes"]).split()


def activities_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = all_rows(conn, select(activities).where(activities.c.id.in_(wanted)))
    return {r["id"]: r for r in rows}


def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    attempts: int,
    status: str,
    status_code: int | None,
    error: str | None,
    next_attempt_ms: int,
    delivered_at: int | None,
) -> None:
    d = webhook_deliveries.c
    conn.execute(
        update(webhook_deliveries)
        .where((d.id == delivery_id) & (d.status == PENDING))
        .values(
            attempts=attempts,
            status=status,
            last_status_code=status_code,
            last_error=error[:200] if error else None,
            next_attempt_ms=next_attempt_ms,
            delivered_at=delivered_at,
        )
    )


PURGE_BATCH = 1000


def purge_finished(conn: Connection, before: int) -> int:
    """Up to PURGE_BATCH delivered or given-up deliveries finished before ``before`` (epoch
    seconds), found through the (status, next_attempt_ms) index: a finished row's
    next_attempt_ms is when it finished. Call again while it returns PURGE_BATCH."""
    d = webhook_deliveries.c
    done = 0
    for status in (DELIVERED, GAVE_UP):
        ids = (
            select(d.id)
            .where((d.status == status) & (d.next_attempt_ms < before * 1000))
            .limit(PURGE_BATCH - done)
            .scalar_subquery()
        )
        done += conn.execute(delete(webhook_deliveries).where(d.id.in_(ids))).rowcount
        if done >= PURGE_BATCH:
            break
    return done


def deliveries_of(conn: Connection, client_id: str) -> list[RowMapping]:
    """An app's deliveries, oldest first (for tests and operators)."""
    d = webhook_deliveries.c
    return all_rows(conn, select(webhook_deliveries).where(d.client_id == client_id).order_by(d.id))


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """No demo webhook: a webhook points at an integration's own receiver."""
