"""/v2/activities and /v2/device/{id}/activities: newest first, paged by activity id."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Connection

from ninja_oauth.api import schemas, views
from ninja_oauth.api.deps import MonitoringDep, StoreDep
from ninja_oauth.api.errors import NotFound, invalid_field
from ninja_oauth.api.filters import (
    ActivityPageSize,
    DeviceFilterParam,
    PathId,
    activity_id,
    csv_values,
    parse_day,
    parse_device_filter,
    text,
)
from ninja_oauth.api.lean import LeanRoute
from ninja_oauth.store.repositories import api_data as repo
from ninja_oauth.store.repositories.api_data import ActivityQuery

router = APIRouter(tags=["system"], route_class=LeanRoute)

Text = Annotated[str | None, text()]


def _user_ids(value: str | None) -> tuple[int, ...]:
    ids = csv_values(value)
    if not all(i.isascii() and i.isdigit() and len(i) <= 10 for i in ids):
        raise invalid_field("user", "expected user ids separated by commas")
    return tuple(int(i) for i in ids)


def _read(conn: Connection, q: ActivityQuery) -> dict[str, Any]:
    if q.device_id is not None and repo.get_device(conn, q.device_id) is None:
        raise NotFound(f"Device {q.device_id} not found.")
    body: dict[str, Any] = {
        "lastActivityId": repo.last_activity_id(conn),
        "activities": [views.activity(r) for r in repo.list_activities(conn, q)],
    }
    if q.device_id is not None:
        body["lastNodeActivityId"] = repo.last_activity_id(conn, q.device_id)
    return body


@router.get(
    "/v2/activities",
    response_model=schemas.ActivitiesResponse,
    response_model_exclude_none=True,
)
async def get_activities(
    store: StoreDep,
    _: MonitoringDep,
    activity_class: Annotated[
        Literal["SYSTEM", "DEVICE", "USER", "ALL"], Query(alias="class")
    ] = "ALL",
    before: Text = None,
    after: Text = None,
    older_than: Annotated[int | None, activity_id("olderThan")] = None,
    newer_than: Annotated[int | None, activity_id("newerThan")] = None,
    type: Text = None,
    status: Text = None,
    user: Text = None,
    series_uid: Annotated[str | None, text("seriesUid")] = None,
    df: DeviceFilterParam = None,
    page_size: ActivityPageSize = 200,
    source_config_uid: Annotated[str | None, text("sourceConfigUid")] = None,
) -> dict[str, Any]:
    """The activity log, newest first; page with `olderThan` (or `newerThan`) and the ids of
    the previous page (scope: monitoring). Dates take YYYYMMDD or ISO 8601. API writes are
    recorded here with the app's client id in `data.clientId`."""
    q = ActivityQuery(
        limit=page_size,
        activity_class=activity_class,
        older_than=older_than,
        newer_than=newer_than,
        since=parse_day("after", after),
        before=parse_day("before", before),
        activity_types=csv_values(type),
        status_codes=csv_values(status),
        user_ids=_user_ids(user),
        devices=parse_device_filter(df),
    )
    if series_uid or source_config_uid:
        # No activity here belongs to an alert series or a policy element.
        return {"lastActivityId": await store.read(repo.last_activity_id), "activities": []}
    return await store.read(partial(_read, q=q))


@router.get(
    "/v2/device/{id}/activities",
    response_model=schemas.NodeActivitiesResponse,
    response_model_exclude_none=True,
    tags=["devices"],
)
async def get_device_activities(
    store: StoreDep,
    _: MonitoringDep,
    id: PathId,
    older_than: Annotated[int | None, activity_id("olderThan")] = None,
    newer_than: Annotated[int | None, activity_id("newerThan")] = None,
    activity_type: Annotated[str | None, text("activityType")] = None,
    status: Text = None,
    series_uid: Annotated[str | None, text("seriesUid")] = None,
    page_size: ActivityPageSize = 200,
) -> dict[str, Any]:
    """A device's activities, newest first, paged like /v2/activities (scope: monitoring)."""
    q = ActivityQuery(
        limit=page_size,
        device_id=id,
        older_than=older_than,
        newer_than=newer_than,
        activity_types=csv_values(activity_type),
        status_codes=csv_values(status),
    )
    if series_uid:
        q = ActivityQuery(limit=0, device_id=id)
    return await store.read(partial(_read, q=q))
