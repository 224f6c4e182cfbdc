"""The SQL of the alerts endpoints (api/routes/alerts.py), and their demo data.

An alert is an open (triggered) condition; resetting it deletes its row, so both lists only
ever show what is still open.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, insert, select
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import alerts, devices
from ninja_oauth.store.public_api import all_rows
from ninja_oauth.store.public_api.devices import DeviceFilter


def list_alerts(
    conn: Connection,
    *,
    devices_filter: DeviceFilter,
    source_types: tuple[str, ...] = (),
    device_id: int | None = None,
) -> list[RowMapping]:
    """Open alerts of the devices ``devices_filter`` selects (never of a rejected device),
    newest first; one query, on the device and source-type indexes."""
    a = alerts.c
    conditions: list[ColumnElement[bool]] = [devices_filter.condition()]
    if device_id is not None:
        conditions.append(a.device_id == device_id)
    if source_types:
        conditions.append(a.source_type.in_(source_types))
    stmt = (
        select(alerts)
        .join(devices, devices.c.id == a.device_id)
        .where(*conditions)
        .order_by(a.create_ms.desc(), a.uid)
    )
    return all_rows(conn, stmt)


def take_alert(conn: Connection, uid: str) -> RowMapping | None:
    """Remove the open alert ``uid`` of a listed device and return it; None if there is none.
    One statement: of two resets racing for one alert, exactly one gets it."""
    visible = select(devices.c.id).where(DeviceFilter().condition())
    stmt = (
        delete(alerts)
        .where((alerts.c.uid == uid) & alerts.c.device_id.in_(visible))
        .returning(*alerts.c)
    )
    return conn.execute(stmt).mappings().first()


# -- demo data ---------------------------------------------------------------------------------

_AGENT_CONDITIONS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    # source type, policy element's name, subject, message, condition data
    ("CONDITION_AGENT_CPU", "CPU above 90%", "CPU utilization high",
     "CPU utilization has been above 90% for 15 minutes.", {"threshold": 90, "minutes": 15}),
    ("CONDITION_AGENT_MEMORY", "Memory above 95%", "Memory utilization high",
     "Memory utilization has been above 95% for 10 minutes.", {"threshold": 95, "minutes": 10}),
    ("CONDITION_AGENT_DISK_FREE_SPACE", "Disk free space below 10%", "Low disk space",
     "Free space on C: is below 10%.", {"threshold": 10, "volume": "C:"}),
    ("CONDITION_PENDING_REBOOT", "Pending reboot", "Reboot pending",
     "A reboot has been pending for more than 3 days.", {"days": 3}),
    ("CONDITION_WINDOWS_SERVICE_STATE_CHANGED", "Print Spooler stopped", "Service stopped",
     "The Print Spooler service is not running.", {"service": "Spooler", "state": "STOPPED"}),
]  # fmt: skip
_NMS_CONDITIONS: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("CONDITION_PING_LATENCY", "Latency above 200 ms", "High latency",
     "Ping latency has been above 200 ms for 5 minutes.", {"thresholdMs": 200, "minutes": 5}),
    ("CONDITION_NMS_CPU", "Device CPU above 85%", "CPU utilization high",
     "SNMP CPU utilization has been above 85% for 10 minutes.", {"threshold": 85, "minutes": 10}),
]  # fmt: skip
_SEVERITY = {"AGENT_OFFLINE": ("MAJOR", "HIGH"), "CONDITION_PING": ("MAJOR", "HIGH")}
_MINUTE_MS = 60_000


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """Every approved offline device has its offline alert (AGENT_OFFLINE, or CONDITION_PING for
    a device watched over the network); about one online device in six has a condition or two
    triggered. Uids and times come from ``rng`` and ``now`` alone."""
    # Each condition is one policy element: its alerts share its uid.
    sources = [c[0] for c in (*_AGENT_CONDITIONS, *_NMS_CONDITIONS)]
    config_uids = {s: _uuid(rng) for s in (*sources, "AGENT_OFFLINE", "CONDITION_PING")}
    rows: list[dict[str, Any]] = []
    for device_id, device in fleet:
        if device["approval_status"] != "APPROVED":
            continue
        agent = not device["node_class"].startswith("NMS_") and (
            device["node_class"] != "CLOUD_MONITOR_TARGET"
        )
        name = device["display_name"] or device["system_name"]
        if device["offline"]:
            source = "AGENT_OFFLINE" if agent else "CONDITION_PING"
            since = device["last_contact"] * 1000 + rng.randint(5, 30) * _MINUTE_MS
            rows.append(
                _alert(
                    rng, device_id, source, config_uids[source],
                    "Device offline" if agent else "Ping down",
                    f"{name} is offline" if agent else f"{name} does not answer ping",
                    f"{name} has not contacted NinjaOne since it went offline."
                    if agent else f"{name} has not answered ping for 5 minutes.",
                    {"lastContact": float(device["last_contact"])},
                    since, min(since + rng.randint(0, 600) * _MINUTE_MS, now * 1000),
                )
            )  # fmt: skip
            continue
        if rng.random() >= 0.17:
            continue
        choices = _AGENT_CONDITIONS if agent else _NMS_CONDITIONS
        for source, element, subject, message, data in rng.sample(choices, rng.randint(1, 2)):
            created = now * 1000 - rng.randint(10, 7 * 24 * 60) * _MINUTE_MS
            updated = min(created + rng.randint(0, 120) * _MINUTE_MS, now * 1000)
            rows.append(
                _alert(
                    rng, device_id, source, config_uids[source], element,
                    f"{subject} on {name}", message, data, created, updated,
                )
            )  # fmt: skip
    if rows:
        conn.execute(insert(alerts), rows)


def _alert(
    rng: random.Random,
    device_id: int,
    source: str,
    config_uid: str,
    source_name: str,
    subject: str,
    message: str,
    data: dict[str, Any],
    created_ms: int,
    updated_ms: int,
) -> dict[str, Any]:
    severity, priority = _SEVERITY.get(source) or rng.choice(
        [("MINOR", "LOW"), ("MODERATE", "MEDIUM"), ("MAJOR", "HIGH"), ("CRITICAL", "HIGH")]
    )
    return {
        "uid": _uuid(rng),
        "device_id": device_id,
        "source_type": source,
        "source_config_uid": config_uid,
        "source_name": source_name,
        "subject": subject,
        "message": message,
        "severity": severity,
        "priority": priority,
        "create_ms": created_ms,
        "update_ms": max(updated_ms, created_ms),
        "data": data,
    }
