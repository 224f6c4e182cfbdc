"""Alerts: the open alerts of every device and of one, reset and delete (issue 14).

Reads need ``monitoring``; resetting an alert, by POST .../reset or by DELETE (the spec names
both ``resetAlert``), needs ``management``. A reset removes the alert from both lists and is
recorded as a CONDITION activity with status code RESET (the spec's Activity enums), naming the
app and the user behind the token.
"""

from __future__ import annotations

import json
import re
import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import bodies, mappers
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import NotFound, invalid_field
from ninja_oauth.api.filters import DeviceFilterParam, QueryModel, csv_values, parse_device_filter
from ninja_oauth.api.filters import text as text_param
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.reads import ReadCall, Reads
from ninja_oauth.api.schemas import ApiModel, NodeWithDetailedReferences
from ninja_oauth.api.writes import record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import alerts as alert_sql
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api.devices import DeviceFilter

reads = Reads(tags=["alerts"])
writes = APIRouter(tags=["alerts"], route_class=GuardedRoute)

# The spec's Alert.sourceType enum, as it spells each value (CONDITION_LINUX_Daemon included).
SOURCE_TYPES = frozenset(
    """AGENT_OFFLINE CONDITION_AGENT_CPU CONDITION_AGENT_MEMORY CONDITION_AGENT_NETWORK
    CONDITION_AGENT_DISK_IO CONDITION_AGENT_DISK_FREE_SPACE CONDITION_AGENT_DISK_USAGE
    CONDITION_AGENT_CVSS_SCORE CONDITION_AGENT_PATCH_LAST_INSTALLED CONDITION_NMS_CPU
    CONDITION_NMS_MEMORY CONDITION_NMS_NETWORK_TRAFFIC_BITS CONDITION_NMS_NETWORK_TRAFFIC_PERCENT
    CONDITION_NMS_NETWORK_STATUS CONDITION_NMS_NETWORK_STATUS_CHANGE CONDITION_NMS_SYSTEM_UPTIME
    CONDITION_PING CONDITION_PING_LATENCY CONDITION_PING_PACKET_LOSS CONDITION_PING_RESPONSE
    CONDITION_SYSTEM_UPTIME CONDITION_SMART_STATUS_DEGRATED CONDITION_RAID_HEALTH_STATUS
    CONDITION_SCRIPT_RESULT CONDITION_HTTP CONDITION_HTTP_RESPONSE CONDITION_PORT
    CONDITION_PORT_SCAN CONDITION_SYSLOG CONDITION_CONFIGURATION_FILE CONDITION_SNMPTRAP
    CONDITION_CRITICAL_EVENT CONDITION_DNS CONDITION_EMAIL CONDITION_CUSTOM_SNMP
    CONDITION_COMPOUND SHADOWPROTECT_BACKUPJOB_CREATE SHADOWPROTECT_BACKUPJOB_UPDATE
    SHADOWPROTECT_BACKUPJOB_DELETE SHADOWPROTECT_BACKUPJOB_EXECUTE
    IMAGEMANAGER_MANAGEDFOLDER_CREATE IMAGEMANAGER_MANAGEDFOLDER_UPDATE
    IMAGEMANAGER_MANAGEDFOLDER_DELETE IMAGEMANAGER_MANAGEDFOLDER_EXECUTE TEAMVIEWER_CONNECTION
    RETRIEVE_AGENT_LOGS SCHEDULED_TASK CONDITION_WINDOWS_EVENT_LOG_TRIGGERED
    CONDITION_WINDOWS_SERVICE_STATE_CHANGED UI_MESSAGE_ACTION_REBOOT
    UI_MESSAGE_BD_INSTALLATION_ISSUES GRAVITYZONE_UI_MESSAGE_INSTALLATION_ISSUES
    AV_QUARANTINE_THREAT AV_RESTORE_THREAT AV_DELETE_THREAT AV_REMOVE_THREAT
    BITDEFENDER_RESTORE_THREAT BITDEFENDER_DELETE_THREAT CONDITION_BITLOCKER_STATUS
    CONDITION_FILEVAULT_STATUS CONDITION_LINUX_PROCESS CONDITION_LINUX_Daemon
    CONDITION_LINUX_PROCESS_RESOURCE CONDITION_LINUX_PROCESS_RESOURCE_CPU
    CONDITION_LINUX_PROCESS_RESOURCE_MEMORY CONDITION_LINUX_DISK_FREE_SPACE
    CONDITION_LINUX_DISK_USAGE CONDITION_VM_AGGREGATE_CPU_USAGE CONDITION_VM_DISK_USAGE
    CONDITION_VM_HOST_DATASTORE CONDITION_VM_HOST_UPTIME CONDITION_VM_HOST_DEVICE_DOWN
    CONDITION_VM_HOST_BAD_SENSORS CONDITION_VM_HOST_SENSOR_HEALTH
    CONDITION_VM_GUEST_GUEST_OPERATIONAL_MODE CONDITION_VM_GUEST_SNAPSHOT_SIZE
    CONDITION_VM_GUEST_SNAPSHOT_LIFESPAN CONDITION_VM_GUEST_TOOLS_NOT_RUNNING
    CONDITION_HV_GUEST_CHECKPOINT_SIZE CONDITION_HV_GUEST_CHECKPOINT_LIFESPAN CONDITION_SOFTWARE
    CONDITION_WINDOWS_PROCESS_STATE CONDITION_WINDOWS_PROCESS_RESOURCE_CPU
    CONDITION_WINDOWS_PROCESS_RESOURCE_MEMORY CONDITION_MAC_PROCESS_STATE
    CONDITION_MAC_PROCESS_RESOURCE_CPU CONDITION_MAC_PROCESS_RESOURCE_MEMORY CONDITION_MAC_DEAMON
    CONDITION_CUSTOM_FIELD CONDITION_PENDING_REBOOT""".split()  # noqa: SIM905 - a list, not 94 lines
)
# An IANA zone name (Europe/London, UTC, Etc/GMT+5): checked for shape only, so the answer
# does not depend on the host's time zone database; times are epoch seconds either way.
_TZ = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")
# The custom data of a reset is stored in its activity: bounded as userData is.
ACTIVITY_DATA_MAX_BYTES = 64 * 1024


class Alert(ApiModel):
    """The spec's Alert: an open (triggered) condition of a device."""

    uid: str
    device_id: int
    message: str | None = None
    create_time: float
    update_time: float
    source_type: str
    source_config_uid: str | None = None
    source_name: str | None = None
    subject: str | None = None
    user_id: int | None = None
    data: dict[str, Any] = {}
    device: NodeWithDetailedReferences | None = None


def _alert(row: RowMapping, device: dict[str, Any] | None) -> dict[str, Any]:
    # Severity and priority have no field of their own in the spec's Alert: they are data.
    data = {**(row["data"] or {}), "severity": row["severity"], "priority": row["priority"]}
    return {
        "uid": row["uid"],
        "deviceId": row["device_id"],
        "message": row["message"],
        "createTime": row["create_ms"] / 1000,
        "updateTime": row["update_ms"] / 1000,
        "sourceType": row["source_type"],
        "sourceConfigUid": row["source_config_uid"],
        "sourceName": row["source_name"],
        "subject": row["subject"],
        "data": {k: v for k, v in data.items() if v is not None},
        "device": device,
    }


# What the alert lists depend on (the alerts, their devices and the role policies the devices
# show): their bodies are kept per these tables' versions.
_KEPT_PER = ("alerts", "devices", "organization_policies")


def _read(
    conn: Connection, flt: DeviceFilter, source_types: tuple[str, ...], device_id: int | None
) -> list[dict[str, Any]]:
    """The alerts with their devices: three queries whatever the number of alerts."""
    if device_id is not None and device_sql.get_device(conn, device_id) is None:
        raise NotFound(f"Device {device_id} not found.")
    rows = alert_sql.list_alerts(
        conn, devices_filter=flt, source_types=source_types, device_id=device_id
    )
    found = device_sql.devices_by_id(conn, (r["device_id"] for r in rows))
    ctx = device_sql.device_context(conn, list(found.values()), references=False)
    shaped = {i: mappers.device(d, ctx, detailed=False) for i, d in found.items()}
    return [_alert(r, shaped.get(r["device_id"])) for r in rows]


def _source_types(value: str | None) -> tuple[str, ...]:
    types = csv_values(value)
    unknown = [t for t in types if t not in SOURCE_TYPES]
    if unknown:
        raise invalid_field("sourceType", f"unknown alert source {unknown[0]!r}")
    return types


def _check_tz(tz: str | None) -> None:
    if tz is not None and tz and not _TZ.fullmatch(tz):
        raise invalid_field("tz", "expected a time zone name such as Europe/London")


Lang = Annotated[str | None, Field(max_length=20, description="Language tag")]
TimeZone = Annotated[str | None, text_param(max_length=64, description="Time zone")]


class AlertsQuery(QueryModel):
    source_type: Annotated[
        str | None, text_param("sourceType", 2000, "Alert source filter (one or more, by comma)")
    ] = None
    df: DeviceFilterParam = None
    lang: Lang = None
    tz: TimeZone = None


class DeviceAlertsQuery(QueryModel):
    lang: Lang = None
    tz: TimeZone = None


@reads.get(
    "/v2/alerts", response=list[Alert], query=AlertsQuery, tags=["system"], kept_per=_KEPT_PER
)
async def get_alerts(call: ReadCall[AlertsQuery]) -> list[dict[str, Any]]:
    """Open alerts (triggered conditions), newest first, filtered by `sourceType` (one or more
    of the spec's values, by comma) and by the device filter `df` (scope: monitoring).
    Messages are not translated and times are epoch seconds: `lang` and `tz` change
    nothing."""
    q = call.query
    _check_tz(q.tz)
    types = _source_types(q.source_type)
    flt = parse_device_filter(q.df)
    # Unpaged, as the spec has it: a fleet's alerts are read off the event loop.
    read = partial(_read, flt=flt, source_types=types, device_id=None)
    return await call.store.read(read, long=True)


@reads.get(
    "/v2/device/{id}/alerts",
    response=list[Alert],
    query=DeviceAlertsQuery,
    tags=["devices"],
    kept_per=_KEPT_PER,
)
async def get_device_alerts(call: ReadCall[DeviceAlertsQuery]) -> list[dict[str, Any]]:
    """A device's open alerts, newest first (scope: monitoring)."""
    _check_tz(call.query.tz)
    return await call.store.read(
        partial(_read, flt=DeviceFilter(), source_types=(), device_id=call.path["id"])
    )


def _uid(value: str) -> str:
    # The spec types it as a uuid; it is stored in its canonical lowercase form.
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_field(
            "uid", "expected a UUID such as 0b9f4c5e-4c1a-4b8e-9d1f-2a6c3e5d7f90"
        ) from None


def reset_alert(store: Store, uid: str, custom: dict[str, Any], who: AccessGrant) -> None:
    """Remove the open alert and record its reset, in one transaction."""
    with store.transaction() as conn:
        alert = alert_sql.take_alert(conn, uid)
        if alert is None:
            raise NotFound(f"Alert {uid} not found.")
        label = alert["subject"] or alert["source_name"] or alert["source_type"]
        record(
            conn,
            who,
            device_id=alert["device_id"],
            activity_type="CONDITION",
            status_code="RESET",
            status="Reset",
            source_name=alert["source_name"],
            message=f"Alert '{label}' on device {alert['device_id']} reset through the API.",
            # The alert's uid is the activity series' uid (Alert.uid, Activity.seriesUid);
            # the caller's custom data is kept beside it, ours winning on a clash.
            data={**custom, **_series(alert)},
        )


def _series(alert: RowMapping) -> dict[str, Any]:
    ours = {
        "seriesUid": alert["uid"],
        "sourceType": alert["source_type"],
        "sourceConfigUid": alert["source_config_uid"],
    }
    return {k: v for k, v in ours.items() if v is not None}


UidParam = Annotated[str, Path(max_length=64, description="Alert UID")]


@writes.delete("/v2/alert/{uid}", status_code=204, response_class=Response)
async def delete_alert(store: StoreDep, access: ManagementDep, uid: UidParam) -> Response:
    """Reset an alert (triggered condition) by its UID: the spec's `resetAlert`. It leaves
    both alert lists and the reset is recorded as an activity (scope: management)."""
    await store.run(partial(reset_alert, store, _uid(uid), {}, access), Writes.CHANGES)
    return Response(status_code=204)


@writes.post("/v2/alert/{uid}/reset", status_code=204, response_class=Response)
async def reset_alert_with_activity_data(
    store: StoreDep,
    access: ManagementDep,
    uid: UidParam,
    body: Annotated[bodies.JsonObject | None, Body()] = None,
) -> Response:
    """Reset an alert and put the JSON object sent into its reset activity's `data`
    (scope: management)."""
    canonical = _uid(uid)
    custom = body or {}
    if len(json.dumps(custom)) > ACTIVITY_DATA_MAX_BYTES:
        raise invalid_field("body", f"at most {ACTIVITY_DATA_MAX_BYTES} bytes of JSON")
    await store.run(partial(reset_alert, store, canonical, custom, access), Writes.CHANGES)
    return Response(status_code=204)
