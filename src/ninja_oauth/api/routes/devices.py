"""/v2/devices and /v2/device/{id}: reads need monitoring, changes management."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import RedirectResponse, Response
from pydantic import Field
from sqlalchemy import Connection

from ninja_oauth.api import bodies, mappers, schemas
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import NotFound
from ninja_oauth.api.filters import DevicePaging, Paging, PathId, QueryModel, parse_device_filter
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads, Unkept
from ninja_oauth.api.writes import devices as changes
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api import organizations as organization_sql
from ninja_oauth.store.public_api.devices import DeviceFilter

reads = Reads(tags=["devices"])
# Every table a device's body reads (store/public_api/devices.py, device_context): its body is
# kept per their versions (api/reads.py), so a change by any writer shows on the next read. A
# body with a maintenance window, pending or running (``ctx.maintenance``), is not kept: the
# window's status follows the clock.
_KEPT_PER = (
    "devices",
    "organizations",
    "organization_policies",
    "locations",
    "node_roles",
    "policies",
    "device_maintenance",
)
writes = APIRouter(tags=["devices"], route_class=GuardedRoute)


def _page(
    conn: Connection, flt: DeviceFilter, after: int | None, limit: int | None, detailed: bool
) -> list[dict[str, Any]] | Unkept:
    rows = device_sql.list_devices(conn, flt, after=after, limit=limit)
    ctx = device_sql.device_context(conn, rows, references=detailed)
    page = [mappers.device(r, ctx, detailed=detailed) for r in rows]
    return Unkept(page) if ctx.maintenance else page


def _one(conn: Connection, device_id: int) -> dict[str, Any] | Unkept:
    row = device_sql.get_device(conn, device_id)
    if row is None:
        raise NotFound(f"Device {device_id} not found.")
    ctx = device_sql.device_context(conn, [row], references=True)
    body = mappers.device(row, ctx, detailed=True)
    return Unkept(body) if ctx.maintenance else body


@reads.get(
    "/v2/devices",
    response=list[schemas.NodeWithDetailedReferences],
    query=DevicePaging,
    kept_per=_KEPT_PER,
)
async def get_devices(call: ReadCall[DevicePaging]) -> list[dict[str, Any]] | Unkept:
    """Devices in id order, filtered by `df`; page with `pageSize` and `after`
    (scope: monitoring)."""
    q = call.query
    flt = parse_device_filter(q.df)
    return await call.store.read(
        partial(_page, flt=flt, after=q.after, limit=q.page_size, detailed=False)
    )


@reads.get(
    "/v2/devices-detailed", response=list[schemas.Device], query=DevicePaging, kept_per=_KEPT_PER
)
async def get_devices_detailed(call: ReadCall[DevicePaging]) -> list[dict[str, Any]] | Unkept:
    """Devices with addresses and references, filtered by `df` (scope: monitoring)."""
    q = call.query
    flt = parse_device_filter(q.df)
    return await call.store.read(
        partial(_page, flt=flt, after=q.after, limit=q.page_size, detailed=True)
    )


@reads.get(
    "/v2/organization/{id}/devices",
    response=list[schemas.NodeWithDetailedReferences],
    query=Paging,
    tags=["organization"],
    kept_per=_KEPT_PER,
)
async def get_organization_devices(call: ReadCall[Paging]) -> list[dict[str, Any]] | Unkept:
    """An organization's devices; page with `pageSize` and `after` (scope: monitoring)."""
    org_id, q = call.path["id"], call.query

    def read(conn: Connection) -> list[dict[str, Any]] | Unkept:
        if organization_sql.get_organization(conn, org_id) is None:
            raise NotFound(f"Organization {org_id} not found.")
        flt = DeviceFilter((("org", org_id),))
        return _page(conn, flt, q.after, q.page_size, detailed=False)

    return await call.store.read(read)


@reads.get("/v2/device/{id}", response=schemas.Device, kept_per=_KEPT_PER)
async def get_device(call: ReadCall[NoQuery]) -> dict[str, Any] | Unkept:
    """One device with its references (scope: monitoring)."""
    return await call.store.read(partial(_one, device_id=call.path["id"]))


@writes.patch("/v2/device/{id}", status_code=204, response_class=Response)
async def update_device(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.DeviceMutableProperties
) -> Response:
    """Change a device's display name, user data, role, policy, organization, location or
    warranty (scope: management). Answers 204: the spec's response has no body."""
    await store.run(partial(changes.update_device, store, id, body, access), Writes.CHANGES)
    return Response(status_code=204)


class CustomFieldsQuery(QueryModel):
    with_inheritance: Annotated[bool | None, Field(alias="withInheritance")] = None


@reads.get(
    "/v2/device/{id}/custom-fields",
    response=dict[str, Any],
    query=CustomFieldsQuery,
    exclude_none=False,
)
async def get_device_custom_fields(call: ReadCall[CustomFieldsQuery]) -> dict[str, Any]:
    """A device's custom field values by name (scope: monitoring). Values are set only on
    devices here, so `withInheritance` changes nothing."""
    device_id = call.path["id"]

    def read(conn: Connection) -> dict[str, Any]:
        row = device_sql.get_device(conn, device_id)
        if row is None:
            raise NotFound(f"Device {device_id} not found.")
        return dict(row["custom_fields"])

    return await call.store.read(read)


@writes.patch("/v2/device/{id}/custom-fields", status_code=204, response_class=Response)
async def update_device_custom_fields(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    body: Annotated[bodies.CustomFieldValues, Body()],
) -> Response:
    """Set custom field values by name; null clears one (scope: management)."""
    await store.run(partial(changes.update_custom_fields, store, id, body, access), Writes.CHANGES)
    return Response(status_code=204)


class DashboardQuery(QueryModel):
    redirect: bool | None = None


@reads.get(
    "/v2/device/{id}/dashboard-url",
    response=schemas.DeviceLink,
    query=DashboardQuery,
    responses={302: {"description": "Redirect to the dashboard (with `redirect=true`)"}},
)
async def get_device_dashboard_url(call: ReadCall[DashboardQuery]) -> Any:
    """The device's dashboard link on this server (scope: monitoring)."""
    device_id = call.path["id"]
    if await call.store.read(partial(device_sql.get_device, device_id=device_id)) is None:
        raise NotFound(f"Device {device_id} not found.")
    url = f"{call.issuer}/#/deviceDashboard/{device_id}/overview"
    if call.query.redirect:
        return RedirectResponse(url, status_code=302)
    return {"url": url}
