"""/v2/devices and /v2/device/{id}: reads need monitoring, changes management."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.requests import Request

from ninja_oauth.api import bodies, schemas, views
from ninja_oauth.api.deps import ManagementDep, MonitoringDep, StoreDep
from ninja_oauth.api.errors import NotFound
from ninja_oauth.api.filters import After, DeviceFilterParam, PageSize, PathId, parse_device_filter
from ninja_oauth.api.lean import LeanRoute
from ninja_oauth.api.services import devices as service
from ninja_oauth.store.repositories import api_data as repo
from ninja_oauth.store.repositories.api_data import DeviceFilter

router = APIRouter(tags=["devices"], route_class=LeanRoute)


def _page(
    conn: Connection, flt: DeviceFilter, after: int | None, limit: int | None, detailed: bool
) -> list[dict[str, Any]]:
    rows = repo.list_devices(conn, flt, after=after, limit=limit)
    ctx = repo.device_context(conn, rows, references=detailed)
    return [views.device(r, ctx, detailed=detailed) for r in rows]


def _one(conn: Connection, device_id: int) -> dict[str, Any]:
    row = repo.get_device(conn, device_id)
    if row is None:
        raise NotFound(f"Device {device_id} not found.")
    ctx = repo.device_context(conn, [row], references=True)
    return views.device(row, ctx, detailed=True)


@router.get(
    "/v2/devices",
    response_model=list[schemas.NodeWithDetailedReferences],
    response_model_exclude_none=True,
)
async def get_devices(
    store: StoreDep,
    _: MonitoringDep,
    df: DeviceFilterParam = None,
    page_size: PageSize = None,
    after: After = None,
) -> list[dict[str, Any]]:
    """Devices in id order, filtered by `df`; page with `pageSize` and `after`
    (scope: monitoring)."""
    flt = parse_device_filter(df)
    return await store.read(partial(_page, flt=flt, after=after, limit=page_size, detailed=False))


@router.get(
    "/v2/devices-detailed",
    response_model=list[schemas.Device],
    response_model_exclude_none=True,
)
async def get_devices_detailed(
    store: StoreDep,
    _: MonitoringDep,
    df: DeviceFilterParam = None,
    page_size: PageSize = None,
    after: After = None,
) -> list[dict[str, Any]]:
    """Devices with addresses and references, filtered by `df` (scope: monitoring)."""
    flt = parse_device_filter(df)
    return await store.read(partial(_page, flt=flt, after=after, limit=page_size, detailed=True))


@router.get(
    "/v2/organization/{id}/devices",
    response_model=list[schemas.NodeWithDetailedReferences],
    response_model_exclude_none=True,
    tags=["organization"],
)
async def get_organization_devices(
    store: StoreDep,
    _: MonitoringDep,
    id: PathId,
    page_size: PageSize = None,
    after: After = None,
) -> list[dict[str, Any]]:
    """An organization's devices; page with `pageSize` and `after` (scope: monitoring)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        if repo.get_organization(conn, id) is None:
            raise NotFound(f"Organization {id} not found.")
        return _page(conn, DeviceFilter((("org", id),)), after, page_size, detailed=False)

    return await store.read(read)


@router.get("/v2/device/{id}", response_model=schemas.Device, response_model_exclude_none=True)
async def get_device(store: StoreDep, _: MonitoringDep, id: PathId) -> dict[str, Any]:
    """One device with its references (scope: monitoring)."""
    return await store.read(partial(_one, device_id=id))


@router.patch("/v2/device/{id}", status_code=204, response_class=Response)
async def update_device(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.DeviceMutableProperties
) -> Response:
    """Change a device's display name, user data, role, policy, organization, location or
    warranty (scope: management). Answers 204: the spec's response has no body."""
    await store.write(partial(service.update_device, store, id, body, access))
    return Response(status_code=204)


@router.get("/v2/device/{id}/custom-fields", response_model=dict[str, Any])
async def get_device_custom_fields(
    store: StoreDep,
    _: MonitoringDep,
    id: PathId,
    with_inheritance: Annotated[bool | None, Query(alias="withInheritance")] = None,
) -> dict[str, Any]:
    """A device's custom field values by name (scope: monitoring). Values are set only on
    devices here, so `withInheritance` changes nothing."""

    def read(conn: Connection) -> dict[str, Any]:
        row = repo.get_device(conn, id)
        if row is None:
            raise NotFound(f"Device {id} not found.")
        return dict(row["custom_fields"])

    return await store.read(read)


@router.patch("/v2/device/{id}/custom-fields", status_code=204, response_class=Response)
async def update_device_custom_fields(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    body: Annotated[bodies.CustomFieldValues, Body()],
) -> Response:
    """Set custom field values by name; null clears one (scope: management)."""
    await store.write(partial(service.update_custom_fields, store, id, body, access))
    return Response(status_code=204)


@router.get(
    "/v2/device/{id}/dashboard-url",
    response_model=schemas.DeviceLink,
    response_model_exclude_none=True,
    responses={302: {"description": "Redirect to the dashboard (with `redirect=true`)"}},
)
async def get_device_dashboard_url(
    request: Request, store: StoreDep, _: MonitoringDep, id: PathId, redirect: bool | None = None
) -> Any:
    """The device's dashboard link on this server (scope: monitoring)."""
    if await store.read(partial(repo.get_device, device_id=id)) is None:
        raise NotFound(f"Device {id} not found.")
    url = f"{str(request.base_url).rstrip('/')}/#/deviceDashboard/{id}/overview"
    if redirect:
        return RedirectResponse(url, status_code=302)
    return {"url": url}
