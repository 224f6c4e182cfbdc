"""/v2/activities and /v2/device/{id}/activities: newest first, paged by activity id."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from pydantic import Field
from sqlalchemy import Connection

from ninja_oauth.api import mappers, schemas
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.errors import NotFound, invalid_field
from ninja_oauth.api.filters import (
    ActivityId,
    ActivityPageSize,
    DeviceFilterParam,
    NodeActivityId,
    QueryModel,
    Text,
    csv_values,
    parse_day,
    parse_device_filter,
    text,
)
from ninja_oauth.api.reads import ReadCall, Reads
from ninja_oauth.store.public_api import activities as activity_sql
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api.activities import ActivityQuery

reads = Reads(tags=["system"])


def _user_ids(value: str | None) -> tuple[int, ...]:
    # User ids are int32 in the spec (User.id), as every id: a larger one is a 400 here, never
    # a number the database's INTEGER column cannot compare with.
    ids = csv_values(value)
    if not all(i.isascii() and i.isdigit() for i in ids):
        raise invalid_field("user", "expected user ids separated by commas")
    if any(int(i) > INT32_MAX for i in ids):
        raise invalid_field("user", f"a user id is at most {INT32_MAX}")
    return tuple(int(i) for i in ids)


def _read(conn: Connection, q: ActivityQuery) -> dict[str, Any]:
    if q.device_id is not None and device_sql.get_device(conn, q.device_id) is None:
        raise NotFound(f"Device {q.device_id} not found.")
    body: dict[str, Any] = {
        "lastActivityId": activity_sql.last_activity_id(conn),
        "activities": [mappers.activity(r) for r in activity_sql.list_activities(conn, q)],
    }
    if q.device_id is not None:
        body["lastNodeActivityId"] = activity_sql.last_activity_id(conn, q.device_id)
    return body


class ActivitiesQuery(QueryModel):
    activity_class: Annotated[Literal["SYSTEM", "DEVICE", "USER", "ALL"], Field(alias="class")] = (
        "ALL"
    )
    before: Text = None
    after: Text = None
    older_than: Annotated[ActivityId, Field(alias="olderThan")] = None
    newer_than: Annotated[ActivityId, Field(alias="newerThan")] = None
    type: Text = None
    status: Text = None
    user: Text = None
    series_uid: Annotated[str | None, text("seriesUid")] = None
    df: DeviceFilterParam = None
    page_size: ActivityPageSize = 200
    source_config_uid: Annotated[str | None, text("sourceConfigUid")] = None


@reads.get("/v2/activities", response=schemas.ActivitiesResponse, query=ActivitiesQuery)
async def get_activities(call: ReadCall[ActivitiesQuery]) -> dict[str, Any]:
    """The activity log, newest first; page with `olderThan` (or `newerThan`) and the ids of
    the previous page (scope: monitoring). Dates take YYYYMMDD or ISO 8601. API writes are
    recorded here with the app's client id in `data.clientId`."""
    p = call.query
    q = ActivityQuery(
        limit=p.page_size,
        activity_class=p.activity_class,
        older_than=p.older_than,
        newer_than=p.newer_than,
        since=parse_day("after", p.after),
        before=parse_day("before", p.before),
        activity_types=csv_values(p.type),
        status_codes=csv_values(p.status),
        user_ids=_user_ids(p.user),
        devices=parse_device_filter(p.df),
    )
    if p.series_uid or p.source_config_uid:
        # No activity here belongs to an alert series or a policy element.
        last = await call.store.read(activity_sql.last_activity_id)
        return {"lastActivityId": last, "activities": []}
    return await call.store.read(partial(_read, q=q))


class DeviceActivitiesQuery(QueryModel):
    older_than: Annotated[NodeActivityId, Field(alias="olderThan")] = None
    newer_than: Annotated[NodeActivityId, Field(alias="newerThan")] = None
    activity_type: Annotated[str | None, text("activityType")] = None
    status: Text = None
    series_uid: Annotated[str | None, text("seriesUid")] = None
    page_size: ActivityPageSize = 200


@reads.get(
    "/v2/device/{id}/activities",
    response=schemas.NodeActivitiesResponse,
    query=DeviceActivitiesQuery,
    tags=["devices"],
)
async def get_device_activities(call: ReadCall[DeviceActivitiesQuery]) -> dict[str, Any]:
    """A device's activities, newest first, paged like /v2/activities (scope: monitoring)."""
    device_id, p = call.path["id"], call.query
    q = ActivityQuery(
        limit=p.page_size,
        device_id=device_id,
        older_than=p.older_than,
        newer_than=p.newer_than,
        activity_types=csv_values(p.activity_type),
        status_codes=csv_values(p.status),
    )
    if p.series_uid:
        q = ActivityQuery(limit=0, device_id=device_id)
    return await call.store.read(partial(_read, q=q))
