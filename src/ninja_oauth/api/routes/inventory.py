"""Device inventory: what a device reports (software, services, hardware, patches, jobs, policy
overrides, scripting options) and its maintenance window and Windows service actions (issue 14).

Reads need monitoring. Scheduling or cancelling maintenance, resetting policy overrides and
configuring a service are changes (management); starting, stopping, pausing or restarting a
service is remote control of the device (control): NinjaOne files it under its Remote Tools
(activity codes ``REMOTE_TOOLS_*_SERVICE_*``), and the documents give that scope "remote access
to devices". Every write records an activity naming the app and user, and shows on the next read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import Response
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import schemas_inventory as m
from ninja_oauth.api.deps import ControlDep, ManagementDep, StoreDep
from ninja_oauth.api.device_families import ACTIONS, FAMILY, RUN_AS
from ninja_oauth.api.errors import Conflict, NotFound, invalid_field
from ninja_oauth.api.filters import (
    DeviceFilterParam,
    PathId,
    QueryModel,
    Text,
    csv_values,
    parse_day,
    parse_device_filter,
    text,
)
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads
from ninja_oauth.api.writes import now, record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api import inventory as inventory_sql

reads = Reads(tags=["devices"])
# What the inventory reads depend on: their bodies are kept per these tables' versions.
_KEPT_PER = ("devices", "device_inventory")
writes = APIRouter(tags=["devices"], route_class=GuardedRoute)


# -- reads -------------------------------------------------------------------------------------


def _device(conn: Connection, device_id: int) -> RowMapping:
    row = device_sql.get_device(conn, device_id)
    if row is None:
        raise NotFound(f"Device {device_id} not found.")
    return row


def _items(conn: Connection, device_id: int, kind: str) -> list[RowMapping]:
    _device(conn, device_id)
    return inventory_sql.items(conn, device_id, kind)


async def _list(call: ReadCall[Any], kind: str) -> list[dict[str, Any]]:
    rows = await call.store.read(partial(_items, device_id=call.path["id"], kind=kind))
    return [r["data"] for r in rows]


def _one_of(values: Iterable[str]) -> set[str]:
    return {v.upper() for v in values}


def _keep(item: dict[str, Any], field: str, wanted: str | None) -> bool:
    """The spec's status/type/severity filters: one or more values, any case."""
    values = csv_values(wanted)
    return not values or str(item.get(field, "")).upper() in _one_of(values)


def _installed_between(rows: list[RowMapping], after: str | None, before: str | None) -> list[Any]:
    since = parse_day("installedAfter", after)
    until = parse_day("installedBefore", before)
    return [
        r["data"]
        for r in rows
        if (since is None or (r["at_ms"] is not None and r["at_ms"] >= since * 1000))
        and (until is None or (r["at_ms"] is not None and r["at_ms"] < until * 1000))
    ]


class Localized(QueryModel):
    """``lang`` and ``tz``: accepted; answers are in English and times in epoch seconds."""

    lang: Text = None
    tz: Text = None


@reads.get("/v2/device/{id}/software", response=list[m.Application], kept_per=_KEPT_PER)
async def get_device_software(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Software installed on the device (scope: monitoring)."""
    return await _list(call, "software")


class ServicesQuery(QueryModel):
    name: Text = None
    state: m.ServiceState | None = None


@reads.get(
    "/v2/device/{id}/windows-services",
    response=list[m.WindowsService],
    query=ServicesQuery,
    kept_per=_KEPT_PER,
)
async def get_device_windows_services(call: ReadCall[ServicesQuery]) -> list[dict[str, Any]]:
    """Windows services and their states; `name` matches part of a service's name or display
    name, any case (scope: monitoring). Empty for a device that is not Windows."""
    q = call.query
    needle = (q.name or "").lower()
    return [
        s
        for s in await _list(call, "windows_service")
        if (q.state is None or s.get("state") == q.state)
        and (needle in s["name"].lower() or needle in s.get("displayName", "").lower())
    ]


@reads.get("/v2/device/{id}/processors", response=list[m.Processor], kept_per=_KEPT_PER)
async def get_device_processors(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """The device's processors; clock speeds in Hz (scope: monitoring)."""
    return await _list(call, "processor")


@reads.get("/v2/device/{id}/disks", response=list[m.DiskDrive], kept_per=_KEPT_PER)
async def get_device_disks(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """The device's disk drives (scope: monitoring)."""
    return await _list(call, "disk")


class VolumesQuery(QueryModel):
    include: Annotated[str | None, text(description="`bl`: include the BitLocker status")] = None


@reads.get(
    "/v2/device/{id}/volumes", response=list[m.Volume], query=VolumesQuery, kept_per=_KEPT_PER
)
async def get_device_volumes(call: ReadCall[VolumesQuery]) -> list[dict[str, Any]]:
    """The device's volumes; `include=bl` adds each volume's BitLocker status (scope:
    monitoring)."""
    include = _one_of(csv_values(call.query.include))
    if include - {"BL"}:
        raise invalid_field("include", "supported: bl (the BitLocker status)")
    volumes = await _list(call, "volume")
    if include:
        return volumes
    return [{k: v for k, v in vol.items() if k != "bitLockerStatus"} for vol in volumes]


@reads.get(
    "/v2/device/{id}/network-interfaces", response=list[m.NetworkInterface], kept_per=_KEPT_PER
)
async def get_device_network_interfaces(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """The device's network interfaces (scope: monitoring)."""
    return await _list(call, "network_interface")


class OSPatchesQuery(QueryModel):
    status: Text = None
    type: Text = None
    severity: Text = None


@reads.get(
    "/v2/device/{id}/os-patches", response=list[m.OSPatch], query=OSPatchesQuery, kept_per=_KEPT_PER
)
async def get_device_os_patches(call: ReadCall[OSPatchesQuery]) -> list[dict[str, Any]]:
    """OS patches not installed yet (PENDING, APPROVED, REJECTED, MANUAL); `status`, `type` and
    `severity` take one or more values separated by commas (scope: monitoring)."""
    q = call.query
    return [
        p
        for p in await _list(call, "os_patch")
        if _keep(p, "status", q.status) and _keep(p, "type", q.type)
        and _keep(p, "severity", q.severity)
    ]  # fmt: skip


class InstalledQuery(QueryModel):
    status: Text = None
    installed_before: Annotated[str | None, text("installedBefore")] = None
    installed_after: Annotated[str | None, text("installedAfter")] = None


@reads.get(
    "/v2/device/{id}/os-patch-installs",
    response=list[m.OSPatch],
    query=InstalledQuery,
    kept_per=_KEPT_PER,
)
async def get_device_os_patch_installs(call: ReadCall[InstalledQuery]) -> list[dict[str, Any]]:
    """OS patch installations, successful and failed (`status`: INSTALLED, FAILED); dates take
    YYYYMMDD or ISO 8601 (scope: monitoring)."""
    q = call.query
    rows = await call.store.read(
        partial(_items, device_id=call.path["id"], kind="os_patch_install")
    )
    found = _installed_between(rows, q.installed_after, q.installed_before)
    return [p for p in found if _keep(p, "status", q.status)]


class SoftwarePatchesQuery(QueryModel):
    status: Text = None
    product_identifier: Annotated[str | None, text("productIdentifier")] = None
    type: Text = None
    impact: Text = None


def _software_patch_matches(p: dict[str, Any], q: SoftwarePatchesQuery) -> bool:
    return (
        _keep(p, "status", q.status)
        and _keep(p, "type", q.type)
        and _keep(p, "impact", q.impact)
        and (q.product_identifier is None or p.get("productIdentifier") == q.product_identifier)
    )


@reads.get(
    "/v2/device/{id}/software-patches",
    response=list[m.SoftwarePatch],
    query=SoftwarePatchesQuery,
    kept_per=_KEPT_PER,
)
async def get_device_software_patches(call: ReadCall[SoftwarePatchesQuery]) -> list[dict[str, Any]]:
    """Third-party software patches with no installation attempt yet (scope: monitoring)."""
    return [
        p for p in await _list(call, "software_patch") if _software_patch_matches(p, call.query)
    ]


class SoftwareInstallsQuery(SoftwarePatchesQuery):
    installed_before: Annotated[str | None, text("installedBefore")] = None
    installed_after: Annotated[str | None, text("installedAfter")] = None


@reads.get(
    "/v2/device/{id}/software-patch-installs",
    response=list[m.SoftwarePatch],
    query=SoftwareInstallsQuery,
    kept_per=_KEPT_PER,
)
async def get_device_software_patch_installs(
    call: ReadCall[SoftwareInstallsQuery],
) -> list[dict[str, Any]]:
    """Third-party software patch installations, successful and failed (scope: monitoring)."""
    q = call.query
    rows = await call.store.read(
        partial(_items, device_id=call.path["id"], kind="software_patch_install")
    )
    found = _installed_between(rows, q.installed_after, q.installed_before)
    return [p for p in found if _software_patch_matches(p, q)]


@reads.get("/v2/device/{id}/last-logged-on-user", response=m.LoggedOnUser, kept_per=_KEPT_PER)
async def get_device_last_logged_on_user(call: ReadCall[NoQuery]) -> dict[str, Any]:
    """The user who logged on last (scope: monitoring); `{}` when none ever did."""
    users = await _list(call, "last_logged_on_user")
    return users[-1] if users else {}


@reads.get("/v2/device/{id}/jobs", response=list[m.Job], query=Localized, kept_per=_KEPT_PER)
async def get_device_jobs(call: ReadCall[Localized]) -> list[dict[str, Any]]:
    """The device's running jobs (scope: monitoring)."""
    return await _list(call, "job")


class JobsQuery(Localized):
    job_type: Annotated[str | None, text("jobType")] = None
    df: DeviceFilterParam = None


@reads.get("/v2/jobs", response=list[m.Job], query=JobsQuery, tags=["system"], kept_per=_KEPT_PER)
async def get_jobs(call: ReadCall[JobsQuery]) -> list[dict[str, Any]]:
    """Running jobs of every device `df` selects; `jobType` takes one or more values separated
    by commas (scope: monitoring)."""
    q = call.query
    flt = parse_device_filter(q.df)
    # Unpaged, as the spec has it: a fleet's jobs are read off the event loop.
    rows = await call.store.read(partial(inventory_sql.jobs, flt=flt), long=True)
    return [r["data"] for r in rows if _keep(r["data"], "jobType", q.job_type)]


@reads.get("/v2/device/{id}/policy/overrides", response=m.PolicyOverrides, kept_per=_KEPT_PER)
async def get_device_policy_overrides(call: ReadCall[NoQuery]) -> dict[str, Any]:
    """The policy sections this device overrides (scope: monitoring)."""
    rows = await _list(call, "policy_override")
    return {"overrides": sorted({s for r in rows for s in r.get("overrides", [])})}


_BUILT_IN, _CUSTOM = 1, 2
_CATEGORIES = [
    {"id": _BUILT_IN, "name": "Built-in Actions", "internal": True},
    {"id": _CUSTOM, "name": "Custom Scripts", "internal": False},
]


def _scripting_options(conn: Connection, device_id: int) -> dict[str, Any]:
    family = FAMILY.get(_device(conn, device_id)["node_class"])
    if family is None:  # no agent (network devices, monitors, phones): nothing to run
        return {"categories": [], "scripts": [], "credentials": {"roles": [], "credentials": []}}
    actions = [
        {"type": "ACTION", "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ninja-oauth:{name}")),
         "name": name, "categoryId": _BUILT_IN}
        for name in ACTIONS[family]
    ]  # fmt: skip
    custom = [
        {"type": "SCRIPT", "id": s["id"], "name": s["name"], "language": s["language"],
         "architecture": s["architecture"], "categoryId": _CUSTOM}
        for s in inventory_sql.active_scripts(conn)
        if family in s["operating_systems"]
    ]  # fmt: skip
    return {
        "categories": _CATEGORIES,
        "scripts": actions + custom,
        "credentials": {"roles": RUN_AS[family], "credentials": []},
    }


@reads.get(
    "/v2/device/{id}/scripting/options",
    response=m.DeviceScriptingOptions,
    query=Localized,
    kept_per=("devices", "scripts"),
)
async def get_device_scripting_options(call: ReadCall[Localized]) -> dict[str, Any]:
    """Built-in actions and the active custom scripts for the device's operating system, and the
    accounts they can run as (scope: monitoring: a read, though the spec files it under
    management)."""
    return await call.store.read(partial(_scripting_options, device_id=call.path["id"]))


# -- writes ------------------------------------------------------------------------------------


def _managed(conn: Connection, device_id: int) -> RowMapping:
    device = _device(conn, device_id)
    if device["approval_status"] != "APPROVED":
        raise Conflict(f"Device {device_id} is waiting for approval.")
    return device


def _online(device: RowMapping) -> None:
    if device["offline"]:
        raise Conflict(f"Device {device['id']} is offline.")


def schedule_maintenance(
    store: Store, device_id: int, body: m.MaintenanceSettings, who: AccessGrant
) -> None:
    moment = now()
    start = body.start if body.start is not None else float(moment)
    if body.end <= max(start, moment):
        raise invalid_field("end", "must be later than start and than now")
    with store.transaction() as conn:
        _managed(conn, device_id)
        inventory_sql.set_maintenance(conn, {
            "device_id": device_id, "start_ms": int(start * 1000), "end_ms": int(body.end * 1000),
            "disabled_features": list(body.disabled_features), "reason_message": None,
            "created_at": moment,
        })  # fmt: skip
        record(
            conn, who, device_id=device_id, activity_type="SYSTEM", status_code="NODE_UPDATED",
            status="Maintenance scheduled",
            message=f"Maintenance of device {device_id} scheduled through the API.",
            data={"start": start, "end": body.end, "disabledFeatures": body.disabled_features},
        )  # fmt: skip


def cancel_maintenance(store: Store, device_id: int, who: AccessGrant) -> None:
    """Cancelling where nothing is scheduled changes nothing (and records nothing)."""
    with store.transaction() as conn:
        _device(conn, device_id)
        if inventory_sql.delete_maintenance(conn, device_id):
            record(
                conn, who, device_id=device_id, activity_type="SYSTEM",
                status_code="NODE_UPDATED", status="Maintenance cancelled",
                message=f"Maintenance of device {device_id} cancelled through the API.",
            )  # fmt: skip


def reset_policy_overrides(store: Store, device_id: int, who: AccessGrant) -> None:
    with store.transaction() as conn:
        _device(conn, device_id)
        if inventory_sql.delete_items(conn, device_id, "policy_override"):
            record(
                conn, who, device_id=device_id, activity_type="SYSTEM",
                status_code="POLICY_UPDATED", status="Policy overrides reset",
                message=f"Policy overrides of device {device_id} reset through the API.",
            )  # fmt: skip


def _service(conn: Connection, device_id: int, service_id: str) -> RowMapping:
    service = inventory_sql.item_for_update(conn, device_id, "windows_service", service_id)
    if service is None:
        raise NotFound(f"Service {service_id} not found on device {device_id}.")
    return service


# An action's resulting state, and its activity code in the spec's Activity.statusCode enum.
_ACTION_OUTCOME = {
    "START": ("RUNNING", "REMOTE_TOOLS_START_SERVICE_SUCCESS"),
    "STOP": ("STOPPED", "REMOTE_TOOLS_STOP_SERVICE_SUCCESS"),
    "RESTART": ("RUNNING", "REMOTE_TOOLS_RESTART_SERVICE_SUCCESS"),
    "PAUSE": ("PAUSED", "REMOTE_TOOLS_SERVICE_CONTROL_INITIATED"),
}


def control_service(
    store: Store, device_id: int, service_id: str, action: m.ServiceAction, who: AccessGrant
) -> None:
    with store.transaction() as conn:
        device = _managed(conn, device_id)
        service = _service(conn, device_id, service_id)
        _online(device)
        data = dict(service["data"])
        if action in ("START", "RESTART") and data.get("startType") == "DISABLED":
            raise Conflict(f"Service {service_id} is disabled: change its start type first.")
        if action == "PAUSE" and data.get("state") != "RUNNING":
            raise Conflict(f"Service {service_id} is not running.")
        state, code = _ACTION_OUTCOME[action]
        inventory_sql.replace_item_data(conn, service["id"], {**data, "state": state})
        record(
            conn, who, device_id=device_id, activity_type="REMOTE_TOOLS", status_code=code,
            status=f"Service {action.lower()} requested", source_name=service_id,
            message=f"{action.title()} of service {service_id} on device {device_id} "
            "requested through the API.",
            data={"serviceId": service_id, "action": action, "state": state},
        )  # fmt: skip


def configure_service(
    store: Store,
    device_id: int,
    service_id: str,
    body: m.WindowsServiceConfiguration,
    who: AccessGrant,
) -> None:
    changes = body.model_dump(by_alias=True, exclude_none=True)
    if not changes:
        raise invalid_field("startType", "give startType, userName or both")
    with store.transaction() as conn:
        device = _managed(conn, device_id)
        service = _service(conn, device_id, service_id)
        _online(device)
        inventory_sql.replace_item_data(conn, service["id"], {**service["data"], **changes})
        record(
            conn, who, device_id=device_id, activity_type="REMOTE_TOOLS",
            status_code="REMOTE_TOOLS_SERVICE_CONTROL_INITIATED",
            status="Service configuration changed", source_name=service_id,
            message=f"Configuration of service {service_id} on device {device_id} changed "
            "through the API.",
            data={"serviceId": service_id, **changes},
        )  # fmt: skip


ServiceId = Annotated[
    str,
    Path(
        alias="serviceId",
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="The service's name (as `name` in the device's Windows services)",
    ),
]


async def _changed(store: Store, write: Callable[..., None], *args: Any) -> Response:
    """Run ``write(store, *args)`` as a change; every write here answers 204 without a body."""
    await store.run(partial(write, store, *args), Writes.CHANGES)
    return Response(status_code=204)


@writes.put("/v2/device/{id}/maintenance", status_code=204, response_class=Response)
async def update_device_maintenance(
    store: StoreDep, access: ManagementDep, id: PathId, body: m.MaintenanceSettings
) -> Response:
    """Schedule the device's maintenance window, replacing any other; `start` (epoch seconds)
    defaults to now, `end` is required (scope: management)."""
    return await _changed(store, schedule_maintenance, id, body, access)


@writes.delete("/v2/device/{id}/maintenance", status_code=204, response_class=Response)
async def cancel_device_maintenance(store: StoreDep, access: ManagementDep, id: PathId) -> Response:
    """Cancel the device's pending or active maintenance (scope: management)."""
    return await _changed(store, cancel_maintenance, id, access)


@writes.delete("/v2/device/{id}/policy/overrides", status_code=204, response_class=Response)
async def reset_device_policy_overrides(
    store: StoreDep, access: ManagementDep, id: PathId
) -> Response:
    """Remove the device's policy overrides: its policy applies whole again (scope:
    management)."""
    return await _changed(store, reset_policy_overrides, id, access)


@writes.post(
    "/v2/device/{id}/windows-service/{serviceId}/control",
    status_code=204,
    response_class=Response,
)
async def control_windows_service(
    store: StoreDep,
    access: ControlDep,
    id: PathId,
    service_id: ServiceId,
    body: m.WindowsServiceControlRequest,
) -> Response:
    """Start, stop, pause or restart a Windows service of an online device (scope: control:
    NinjaOne's Remote Tools)."""
    return await _changed(store, control_service, id, service_id, body.action, access)


@writes.post(
    "/v2/device/{id}/windows-service/{serviceId}/configure",
    status_code=204,
    response_class=Response,
)
async def configure_windows_service(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    service_id: ServiceId,
    body: m.WindowsServiceConfiguration,
) -> Response:
    """Change a Windows service's start type or account (scope: management)."""
    return await _changed(store, configure_service, id, service_id, body, access)
