"""The SQL of /v2/activities and /v2/device/{id}/activities."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, func, insert, literal, select
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import activities, devices
from ninja_oauth.store.public_api import all_rows, new_id
from ninja_oauth.store.public_api import webhooks as webhook_sql
from ninja_oauth.store.public_api.devices import DeviceFilter


@dataclass(frozen=True)
class ActivityQuery:
    limit: int
    device_id: int | None = None
    activity_class: str = "ALL"  # ALL, DEVICE, SYSTEM, USER
    older_than: int | None = None
    newer_than: int | None = None
    since: int | None = None
    before: int | None = None
    activity_types: tuple[str, ...] = ()
    status_codes: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    devices: DeviceFilter | None = None


def insert_activity(conn: Connection, values: Mapping[str, Any]) -> int:
    """Append an activity, and in the same transaction its deliveries to the webhooks whose
    filter takes it (issue 14: delivered by web/webhook_delivery.py)."""
    activity_id = new_id(conn.execute(insert(activities).values(**values)))
    webhook_sql.enqueue_deliveries(conn, activity_id, values, int(time.time() * 1000))
    return activity_id


def last_activity_id(conn: Connection, device_id: int | None = None) -> int | None:
    stmt = select(func.max(activities.c.id))
    if device_id is not None:
        stmt = stmt.where(activities.c.device_id == device_id)
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def list_activities(conn: Connection, q: ActivityQuery) -> list[RowMapping]:
    """Newest first; olderThan/newerThan page by activity id, as the spec's endpoints do."""
    a = activities.c
    stmt = select(activities)
    conditions: list[ColumnElement[bool]] = []
    if q.device_id is not None:
        conditions.append(a.device_id == q.device_id)
    if q.activity_class == "DEVICE":
        conditions.append(a.device_id.is_not(None))
    elif q.activity_class == "SYSTEM":
        conditions.append(a.device_id.is_(None))
    elif q.activity_class == "USER":
        conditions.append(a.user_id.is_not(None))
    # olderThan and newerThan are int64 in the spec, the id column an INTEGER. Bound with the
    # column's type, the value is cast to INTEGER, which PostgreSQL refuses past 2**31 - 1; as
    # a BIGINT it compares with every id (the btree index serves int4 < int8 alike).
    if q.older_than is not None:
        conditions.append(a.id < literal(q.older_than, BigInteger))
    if q.newer_than is not None:
        conditions.append(a.id > literal(q.newer_than, BigInteger))
    if q.since is not None:
        conditions.append(a.activity_time >= q.since)
    if q.before is not None:
        conditions.append(a.activity_time < q.before)
    if q.activity_types:
        conditions.append(a.activity_type.in_(q.activity_types))
    if q.status_codes:
        conditions.append(a.status_code.in_(q.status_codes))
    if q.user_ids:
        conditions.append(a.user_id.in_(q.user_ids))
    if q.devices is not None and q.devices.clauses:
        conditions.append(a.device_id.in_(select(devices.c.id).where(q.devices.condition())))
    if conditions:
        stmt = stmt.where(*conditions)
    if q.newer_than is not None and q.older_than is None:
        # The page just after newerThan, then shown newest first like every page.
        rows = all_rows(conn, stmt.order_by(a.id.asc()).limit(q.limit))
        return rows[::-1]
    return all_rows(conn, stmt.order_by(a.id.desc()).limit(q.limit))
