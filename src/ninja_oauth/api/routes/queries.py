"""Reports across devices (/v2/queries/*), with the df device filter and cursor paging; they read
the same rows as the per-device endpoints (issue 14).

Every report answers ``{cursor, results}``. The cursor is a keyset position, opaque to the
client: the last key of the page, the number of items served so far and a digest of the report
and its filters (base64url). ``cursor.name`` goes back as ``cursor`` for the next page and is
absent on the last page; a cursor from another report or other filters is a 400 naming
``cursor``, as is one this server did not issue. Keyset positions never go stale, so a cursor
keeps working past ``expires`` (the spec's field, what a client may count on: the end of the
next hour, so one to two hours ahead, and the same for every page served within an hour).

A report's body is kept per the versions of the tables it reads (``kept_per``, api/reads.py):
the same page asked again, with nothing changed, is not read and built again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Annotated, Any, Literal, get_args

from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import schemas_queries as s
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.errors import invalid_field
from ninja_oauth.api.filters import (
    DeviceFilterParam,
    QueryModel,
    Text,
    csv_values,
    parse_day,
    parse_device_filter,
    text,
)
from ninja_oauth.api.reads import KEPT_SECONDS, Handler, ReadCall, Reads
from ninja_oauth.api.schemas_inventory import ServiceState
from ninja_oauth.store.public_api import queries as sql
from ninja_oauth.store.public_api.devices import DeviceFilter
from ninja_oauth.store.public_api.queries import HealthFacts, InventoryQuery

reads = Reads(tags=["queries"])

# A page without pageSize has 1000 items, the default the spec gives where it gives one; where
# the spec bounds nothing, a larger pageSize is served as pages of 10,000 (its largest bound):
# the cursor brings the rest.
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000
CURSOR_TTL = KEPT_SECONDS  # a cursor expires at the end of the next kept-body hour
# Larger pages are read in a worker thread, off the event loop (Store.read's ``long``).
_SHORT_PAGE = 100

# A page's items, each with its keyset key.
Items = list[tuple[tuple[int, ...], dict[str, Any]]]

# -- the parameters ---------------------------------------------------------------------------

Cursor = Annotated[str | None, text(max_length=200, description="Cursor name (cursor.name)")]
Day = Annotated[str | None, text(max_length=40)]
OpenPageSize = Annotated[
    int | None, Field(alias="pageSize", ge=1, le=INT32_MAX, description="Limit number of records")
]
BoundedPageSize = Annotated[
    int, Field(alias="pageSize", ge=10, le=MAX_PAGE, description="Limit number of records")
]


class _Report(QueryModel):
    df: DeviceFilterParam = None
    cursor: Cursor = None
    page_size: OpenPageSize = None


class Monitored(_Report):
    ts: Annotated[str | None, text(max_length=40, description="Collected at or after")] = None


class SoftwareQuery(_Report):
    installed_before: Annotated[Day, Field(alias="installedBefore")] = None
    installed_after: Annotated[Day, Field(alias="installedAfter")] = None


class OSPatchesQuery(Monitored):
    status: Text = None
    type: Text = None
    severity: Text = None


class OSPatchInstallsQuery(SoftwareQuery):
    status: Text = None


class SoftwarePatchesQuery(Monitored):
    status: Text = None
    product_identifier: Annotated[str | None, text("productIdentifier")] = None
    type: Text = None
    impact: Text = None


class SoftwarePatchInstallsQuery(SoftwareQuery):
    type: Text = None
    impact: Text = None
    status: Text = None
    product_identifier: Annotated[str | None, text("productIdentifier")] = None


class DeviceHealthQuery(_Report):
    health: Text = None


class AntivirusStatusQuery(Monitored):
    product_state: Annotated[str | None, text("productState")] = None
    product_name: Annotated[str | None, text("productName")] = None


class VolumesQuery(Monitored):
    include: Text = None


class _Bounded(QueryModel):
    cursor: Cursor = None
    page_size: BoundedPageSize = DEFAULT_PAGE


class LoggedOnUsersQuery(_Bounded):
    df: DeviceFilterParam = None


class WindowsServicesQuery(LoggedOnUsersQuery):
    name: Text = None
    state: ServiceState | None = None


class _CustomFields(_Bounded):
    updated_after: Annotated[Day, Field(alias="updatedAfter")] = None
    fields: Annotated[str | None, text(max_length=2000)] = None
    show_secure_values: Annotated[bool | None, Field(alias="showSecureValues")] = None


class CustomFieldsQuery(_CustomFields):
    df: DeviceFilterParam = None


class ScopedCustomFieldsQuery(_CustomFields):
    scopes: Annotated[str | None, text(max_length=200)] = "all"


# -- the cursor --------------------------------------------------------------------------------

_CURSOR = re.compile(r"^1\.([0-9a-f]{16})\.([0-9]{1,10})\.([0-9]{1,10}(?:-[0-9]{1,10})?)$")


def _digest(call: ReadCall[Any]) -> str:
    """The report and its filters: a cursor serves only the query that issued it."""
    filters = call.query.model_dump(exclude={"cursor", "page_size"})
    text_ = f"{call.request.url.path}?{sorted(filters.items())!r}"
    return hashlib.sha256(text_.encode()).hexdigest()[:16]


def _position(call: ReadCall[Any]) -> tuple[tuple[int, ...] | None, int]:
    """The key after which this page starts and the items served before it."""
    name: str | None = call.query.cursor
    if not name:
        return None, 0
    try:
        raw = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    match = _CURSOR.match(raw)
    if match is None:
        raise invalid_field("cursor", "not a cursor this server issued")
    if match.group(1) != _digest(call):
        raise invalid_field("cursor", "issued for another report or other filters")
    key = tuple(int(k) for k in match.group(3).split("-"))
    offset = int(match.group(2))
    if any(k > INT32_MAX for k in key) or offset > INT32_MAX:
        # Ids are INTEGER columns: PostgreSQL refuses a larger value (a 500, not a 400).
        raise invalid_field("cursor", "not a cursor this server issued")
    return key, offset


def _answer(
    call: ReadCall[Any],
    items: Items,
    more: bool,
    offset: int,
) -> dict[str, Any]:
    cursor: dict[str, Any] = {"offset": offset, "count": len(items)}
    if more and items:
        key = "-".join(str(k) for k in items[-1][0])
        raw = f"1.{_digest(call)}.{offset + len(items)}.{key}"
        cursor["name"] = base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()
        # Fixed for the hour, so a kept body (keyed by the hour too) stays exact.
        cursor["expires"] = float((int(time.time()) // CURSOR_TTL + 2) * CURSOR_TTL)
    return {"cursor": cursor, "results": [item for _, item in items]}


def _limit(page_size: int | None) -> int:
    return DEFAULT_PAGE if page_size is None else min(page_size, MAX_PAGE)


# -- inventory reports: one kind of device_inventory, by item id -------------------------------


def _collected(row: RowMapping) -> dict[str, Any]:
    return {**row["data"], "deviceId": row["device_id"], "timestamp": float(row["last_update"])}


def _ms(field: str, value: str | None) -> int | None:
    seconds = parse_day(field, value)
    return None if seconds is None else seconds * 1000


def _one_of(field: str, value: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(v.upper() for v in csv_values(value))
    if any(v not in allowed for v in values):
        raise invalid_field(field, f"expected one or more of {', '.join(allowed)}")
    return values


async def _inventory(
    call: ReadCall[Any],
    kind: str,
    *,
    equals: Mapping[str, tuple[str, ...]] | None = None,
    contains: tuple[tuple[str, ...], str] | None = None,
    installed: bool = False,
    shape: Callable[[RowMapping], dict[str, Any]] = _collected,
) -> dict[str, Any]:
    p = call.query
    key, offset = _position(call)
    limit = _limit(p.page_size)
    q = InventoryQuery(
        kind=kind,
        devices=parse_device_filter(p.df),
        after=key[0] if key else None,
        limit=limit + 1,
        at_from_ms=_ms("installedAfter", p.installed_after) if installed else None,
        at_before_ms=_ms("installedBefore", p.installed_before) if installed else None,
        collected_since=parse_day("ts", getattr(p, "ts", None)),
        equals=tuple((k, v) for k, v in (equals or {}).items() if v),
        contains=contains,
    )
    rows = await call.store.read(partial(sql.inventory_page, q=q), long=limit > _SHORT_PAGE)
    items: Items = [((r["id"],), shape(r)) for r in rows[:limit]]
    return _answer(call, items, len(rows) > limit, offset)


# What the reports read: inventory reports, the inventory items of the devices df selects.
_INVENTORY = ("devices", "device_inventory")


def _report(
    path: str, model: Any, query: type[QueryModel], kept_per: tuple[str, ...] = _INVENTORY
) -> Callable[[Handler], Handler]:
    """Declare a report answering ``{cursor, results}`` of ``model`` items, whose body is kept
    per the versions of the tables ``kept_per`` (what it reads)."""
    response: Any = s.Report[model]
    return reads.get(path, response=response, query=query, kept_per=kept_per)


@_report("/v2/queries/software", s.DeviceApplication, SoftwareQuery)
async def get_software_report(call: ReadCall[SoftwareQuery]) -> dict[str, Any]:
    """Software installed on devices; `installedBefore`/`installedAfter` take Unix seconds,
    YYYYMMDD or ISO 8601 (scope: monitoring)."""
    return await _inventory(call, "software", installed=True)


@_report("/v2/queries/os-patches", s.DeviceOSPatch, OSPatchesQuery)
async def get_os_patches_report(call: ReadCall[OSPatchesQuery]) -> dict[str, Any]:
    """Pending, failed and rejected OS patches; `status`, `type` and `severity` take one value
    or several separated by commas (scope: monitoring)."""
    p = call.query
    equals = {k: csv_values(v) for k, v in (("status", p.status), ("type", p.type))}
    return await _inventory(call, "os_patch", equals={**equals, "severity": csv_values(p.severity)})


@_report("/v2/queries/os-patch-installs", s.DeviceOSPatch, OSPatchInstallsQuery)
async def get_os_patch_installs_report(call: ReadCall[OSPatchInstallsQuery]) -> dict[str, Any]:
    """OS patch installations, successful and failed (`status`: INSTALLED, FAILED)
    (scope: monitoring)."""
    status = _one_of("status", call.query.status, ("FAILED", "INSTALLED"))
    return await _inventory(call, "os_patch_install", equals={"status": status}, installed=True)


def _software_patch_filters(p: SoftwarePatchesQuery | SoftwarePatchInstallsQuery) -> Any:
    return {
        "status": csv_values(p.status),
        "type": csv_values(p.type),
        "impact": csv_values(p.impact),
        "productIdentifier": (p.product_identifier,) if p.product_identifier else (),
    }


@_report("/v2/queries/software-patches", s.DeviceSoftwarePatch, SoftwarePatchesQuery)
async def get_software_patches_report(call: ReadCall[SoftwarePatchesQuery]) -> dict[str, Any]:
    """Pending, failed and rejected third-party software patches (scope: monitoring)."""
    equals = _software_patch_filters(call.query)
    return await _inventory(call, "software_patch", equals=equals)


@_report("/v2/queries/software-patch-installs", s.DeviceSoftwarePatch, SoftwarePatchInstallsQuery)
async def get_software_patch_installs_report(
    call: ReadCall[SoftwarePatchInstallsQuery],
) -> dict[str, Any]:
    """Third-party software patch installations, successful and failed (scope: monitoring)."""
    equals = _software_patch_filters(call.query)
    return await _inventory(call, "software_patch_install", equals=equals, installed=True)


@_report("/v2/queries/antivirus-status", s.DeviceAntivirusStatus, AntivirusStatusQuery)
async def get_antivirus_status_report(call: ReadCall[AntivirusStatusQuery]) -> dict[str, Any]:
    """Antivirus products and their state; `ts` keeps what was collected at or after a time
    (scope: monitoring)."""
    p = call.query
    equals = {
        "productState": csv_values(p.product_state),
        "productName": (p.product_name,) if p.product_name else (),
    }
    return await _inventory(call, "antivirus_status", equals=equals)


@_report("/v2/queries/antivirus-threats", s.DeviceAntivirusThreat, Monitored)
async def get_antivirus_threats_report(call: ReadCall[Monitored]) -> dict[str, Any]:
    """Threats antivirus products found (scope: monitoring)."""
    return await _inventory(call, "antivirus_threat")


@_report("/v2/queries/processors", s.DeviceProcessor, Monitored)
async def get_processors_report(call: ReadCall[Monitored]) -> dict[str, Any]:
    """Processors (scope: monitoring)."""
    return await _inventory(call, "processor")


@_report("/v2/queries/disks", s.DeviceDiskDrive, Monitored)
async def get_disks_report(call: ReadCall[Monitored]) -> dict[str, Any]:
    """Physical disks (scope: monitoring)."""
    return await _inventory(call, "disk")


def _without_bitlocker(row: RowMapping) -> dict[str, Any]:
    item = _collected(row)
    item.pop("bitLockerStatus", None)
    return item


@_report("/v2/queries/volumes", s.DeviceVolume, VolumesQuery)
async def get_volumes_report(call: ReadCall[VolumesQuery]) -> dict[str, Any]:
    """Disk volumes; `include=bl` adds their BitLocker status (scope: monitoring)."""
    include = {v.lower() for v in csv_values(call.query.include)}
    if include - {"bl"}:
        raise invalid_field("include", "supported: bl (the BitLocker status)")
    with_bitlocker = "bl" in include
    return await _inventory(
        call, "volume", shape=_collected if with_bitlocker else _without_bitlocker
    )


@_report("/v2/queries/network-interfaces", s.DeviceNetworkInterfaces, _Report)
async def get_network_interfaces_report(call: ReadCall[_Report]) -> dict[str, Any]:
    """Network interfaces of each device (scope: monitoring)."""
    return await _inventory(call, "network_interface")


@_report("/v2/queries/logged-on-users", s.DeviceLoggedOnUser, LoggedOnUsersQuery)
async def get_logged_on_users_report(call: ReadCall[LoggedOnUsersQuery]) -> dict[str, Any]:
    """User names and logon times (scope: monitoring)."""
    return await _inventory(call, "logged_on_user")


@_report("/v2/queries/windows-services", s.DeviceWindowsService, WindowsServicesQuery)
async def get_windows_services_report(call: ReadCall[WindowsServicesQuery]) -> dict[str, Any]:
    """Windows services and their state; `name` matches part of a service's name or display
    name, any case, as on `GET /v2/device/{id}/windows-services` (scope: monitoring)."""
    p = call.query
    contains = (("name", "displayName"), p.name) if p.name else None
    equals = {"state": (p.state,) if p.state else ()}
    return await _inventory(call, "windows_service", equals=equals, contains=contains)


@_report("/v2/queries/operating-systems", s.DeviceOperatingSystem, Monitored)
async def get_operating_systems_report(call: ReadCall[Monitored]) -> dict[str, Any]:
    """Operating systems (scope: monitoring)."""
    return await _inventory(call, "operating_system")


@_report("/v2/queries/computer-systems", s.DeviceComputerSystem, Monitored)
async def get_computer_systems_report(call: ReadCall[Monitored]) -> dict[str, Any]:
    """Computer systems (scope: monitoring)."""
    return await _inventory(call, "computer_system")


# -- device reports: one item per device, by device id -----------------------------------------

Build = Callable[[Connection, list[RowMapping]], list[dict[str, Any] | None]]


def _devices(
    conn: Connection, flt: DeviceFilter, after: int | None, limit: int, build: Build
) -> tuple[Items, bool]:
    """Up to ``limit`` items built from the devices after ``after``, and whether more follow.
    A device ``build`` leaves out (None) is skipped, so a filtered page reads on until it is
    full; each batch is one query per table."""
    found: Items = []
    while len(found) <= limit:
        rows = sql.device_page(conn, flt, after=after, limit=limit + 1)
        for row, item in zip(rows, build(conn, rows), strict=True):
            if item is not None:
                found.append(((row["id"],), item))
        if len(rows) <= limit:
            break
        after = rows[-1]["id"]
    return found[:limit], len(found) > limit


async def _device_report(call: ReadCall[Any], limit: int, build: Build) -> dict[str, Any]:
    """A page of the items ``build`` makes of the devices ``df`` selects, from the cursor on."""
    key, offset = _position(call)
    flt = parse_device_filter(call.query.df)
    read = partial(_devices, flt=flt, after=key[0] if key else None, limit=limit, build=build)
    items, more = await call.store.read(read, long=limit > _SHORT_PAGE)
    return _answer(call, items, more, offset)


# A threat removed or cleaned is no longer on the device; one the user allowed still is.
_THREAT_RESOLVED = ("REMOVED", "DELETED", "CLEANED", "RESOLVED")
_JOB_DONE = ("COMPLETED", "CANCELLED", "RESET", "DISABLED", "ACKNOWLEDGED")
Health = Literal["UNKNOWN", "HEALTHY", "NEEDS_ATTENTION", "UNHEALTHY"]


def _health(device: RowMapping, facts: HealthFacts) -> dict[str, Any]:
    """A device's health from what the store knows of it (the choices: README of issue 14)."""
    threats = {"active": 0, "quarantined": 0, "blocked": 0}
    for (kind, status), n in facts.statuses.items():
        if kind != "antivirus_threat" or any(w in status for w in _THREAT_RESOLVED):
            continue
        state = "quarantined" if "QUARANTIN" in status else "blocked" if "BLOCK" in status else ""
        threats[state or "active"] += n
    # A failure is a patch whose last attempt failed: listed as failed, or an install failed.
    failed_os = facts.count("os_patch", "FAILED") + facts.count("os_patch_install", "FAILED")
    failed_sw = facts.count("software_patch", "FAILED") + facts.count(
        "software_patch_install", "FAILED"
    )
    pending_os = facts.count_except("os_patch", "FAILED", "REJECTED", "INSTALLED")
    pending_sw = facts.count_except("software_patch", "FAILED", "REJECTED", "INSTALLED")
    health: Health = "HEALTHY"
    if threats["active"] or failed_os or failed_sw:
        health = "UNHEALTHY"
    elif device["offline"] or facts.alerts or pending_os or pending_sw or facts.needs_reboot:
        health = "NEEDS_ATTENTION"
    summary: dict[str, Any] = {
        "deviceId": device["id"],
        "activeThreatsCount": threats["active"],
        "quarantinedThreatsCount": threats["quarantined"],
        "blockedThreatsCount": threats["blocked"],
        "failedOSPatchesCount": failed_os,
        "pendingOSPatchesCount": pending_os,
        "failedSoftwarePatchesCount": failed_sw,
        "pendingSoftwarePatchesCount": pending_sw,
        "alertCount": facts.alerts,
        "activeJobCount": facts.count_except("job", *_JOB_DONE),
        "offline": bool(device["offline"]),
        "healthStatus": health,
        "installationIssuesCount": 0,
    }
    if facts.needs_reboot:
        summary["pendingRebootReason"] = "Operating system updates"
    if facts.antivirus_products:
        summary["avInstallStatus"] = "INSTALLED"
    return summary


@_report(
    "/v2/queries/device-health",
    s.DeviceHealthSummary,
    DeviceHealthQuery,
    kept_per=("devices", "device_inventory", "alerts"),
)
async def get_device_health_report(call: ReadCall[DeviceHealthQuery]) -> dict[str, Any]:
    """Each device's health: threats, failed and pending patches, open alerts, running jobs,
    a pending reboot, offline; `health` keeps one or more statuses (scope: monitoring)."""
    p = call.query
    wanted = set(_one_of("health", p.health, get_args(Health)))

    def build(conn: Connection, rows: list[RowMapping]) -> list[dict[str, Any] | None]:
        facts = sql.health_facts(conn, [r["id"] for r in rows])
        summaries = [_health(r, facts[r["id"]]) for r in rows]
        return [x if not wanted or x["healthStatus"] in wanted else None for x in summaries]

    return await _device_report(call, _limit(p.page_size), build)


def _names(value: str | None) -> frozenset[str]:
    return frozenset(csv_values(value))


def _pick(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in sorted(values.items()) if not names or k in names}


@_report(
    "/v2/queries/custom-fields-detailed",
    s.NodeAttributesDetailed,
    CustomFieldsQuery,
    kept_per=("devices",),
)
async def get_custom_fields_detailed_report(call: ReadCall[CustomFieldsQuery]) -> dict[str, Any]:
    """Devices' custom field values, as `GET /v2/device/{id}/custom-fields` answers them;
    `fields` keeps the named ones. Devices without a value are left out. No field is secure
    here and no value keeps its update time, so `showSecureValues` and `updatedAfter` (checked
    as a date) change nothing (scope: monitoring)."""
    p = call.query
    parse_day("updatedAfter", p.updated_after)
    names = _names(p.fields)

    def build(_: Connection, rows: list[RowMapping]) -> list[dict[str, Any] | None]:
        out: list[dict[str, Any] | None] = []
        for r in rows:
            fields = [{"name": k, "value": v} for k, v in _pick(r["custom_fields"], names).items()]
            out.append(
                {"entityType": "NODE", "entityId": r["id"], "fields": fields} if fields else None
            )
        return out

    return await _device_report(call, p.page_size, build)


_SCOPES = ("ORGANIZATION", "LOCATION", "NODE", "END_USER")


def _scoped(
    conn: Connection, scopes: set[str], start: tuple[int, ...] | None, limit: int, names: Any
) -> tuple[Items, bool]:
    found: Items = []
    for rank, scope in enumerate(sql.SCOPE_ORDER):
        if scope not in scopes or (start is not None and rank < start[0]):
            continue
        after = start[1] if start is not None and rank == start[0] else None
        while len(found) <= limit:
            rows = sql.scoped_fields_page(conn, scope, after=after, limit=limit + 1)
            for entity_id, values in rows:
                picked = _pick(values, names)
                if picked:
                    item = {"scope": scope, "entityId": entity_id, "fields": picked}
                    found.append(((rank, entity_id), item))
            if len(rows) <= limit:
                break
            after = rows[-1][0]
    return found[:limit], len(found) > limit


@_report(
    "/v2/queries/scoped-custom-fields",
    s.ScopedAttributes,
    ScopedCustomFieldsQuery,
    kept_per=("organizations", "locations", "devices"),
)
async def get_scoped_custom_fields_report(
    call: ReadCall[ScopedCustomFieldsQuery],
) -> dict[str, Any]:
    """Custom field values of organizations, locations and devices, in that order; `scopes`
    keeps some (ORGANIZATION, LOCATION, NODE, END_USER or all), `fields` the named fields.
    Entities without a value are left out; `showSecureValues` and `updatedAfter` change
    nothing, as on custom-fields-detailed (scope: monitoring)."""
    p = call.query
    parse_day("updatedAfter", p.updated_after)
    wanted = {v.upper() for v in csv_values(p.scopes)}
    scopes = set(_SCOPES) if not wanted or "ALL" in wanted else wanted
    if not scopes <= set(_SCOPES):
        raise invalid_field("scopes", f"expected all or one or more of {', '.join(_SCOPES)}")
    key, offset = _position(call)
    if key is not None and len(key) != 2:
        raise invalid_field("cursor", "issued for another report or other filters")
    limit = _limit(p.page_size)
    read = partial(_scoped, scopes=scopes, start=key, limit=limit, names=_names(p.fields))
    items, more = await call.store.read(read, long=limit > _SHORT_PAGE)
    return _answer(call, items, more, offset)
