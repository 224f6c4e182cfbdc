"""The SQL of /v2/devices and /v2/device/{id}: listings, references, changes, actions."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, select, update
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import (
    device_maintenance,
    devices,
    locations,
    node_roles,
    organization_policies,
    organizations,
    policies,
    remote_sessions,
)
from ninja_oauth.store.public_api import all_rows, by_id, one_row, page

# A rejected device leaves every listing (NinjaOne moves it to a rejected list).
_VISIBLE = devices.c.approval_status != "REJECTED"

_FILTER_COLUMNS = {
    "org": devices.c.organization_id,
    "loc": devices.c.location_id,
    "class": devices.c.node_class,
    "status": devices.c.approval_status,
}


@dataclass(frozen=True)
class DeviceFilter:
    """The clauses of a ``df`` parameter, all of which must hold: ("org", 3), ("class", "MAC")."""

    clauses: tuple[tuple[str, int | str], ...] = ()

    def condition(self) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = _VISIBLE
        for key, value in self.clauses:
            cond = cond & (_FILTER_COLUMNS[key] == value)
        return cond


@dataclass
class DeviceContext:
    """What a device's references point to, loaded in one query per table for a whole page."""

    organizations: dict[int, RowMapping] = field(default_factory=dict)
    locations: dict[int, RowMapping] = field(default_factory=dict)
    roles: dict[int, RowMapping] = field(default_factory=dict)
    policies: dict[int, RowMapping] = field(default_factory=dict)
    role_policies: dict[tuple[int, int], int] = field(default_factory=dict)
    # The spec's Maintenance of each device in a window now or later (with references only).
    maintenance: dict[int, dict[str, Any]] = field(default_factory=dict)

    def role_policy_id(self, device: Mapping[Any, Any]) -> int | None:
        return self.role_policies.get((device["organization_id"], device["node_role_id"]))


def list_devices(
    conn: Connection, flt: DeviceFilter, *, after: int | None, limit: int | None
) -> list[RowMapping]:
    stmt = select(devices).where(flt.condition())
    return all_rows(conn, page(stmt, devices.c.id, after, limit))


def get_device(conn: Connection, device_id: int, *, for_update: bool = False) -> RowMapping | None:
    stmt = select(devices).where((devices.c.id == device_id) & _VISIBLE)
    # On PostgreSQL, a change that reads the row to write it back (its custom fields) holds the
    # row until it commits, so a concurrent one reads what it wrote (SQLite has one writer).
    return one_row(conn, stmt.with_for_update() if for_update else stmt)


def devices_by_id(
    conn: Connection, ids: Iterable[int], *, for_update: bool = False
) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    stmt = select(devices).where(devices.c.id.in_(wanted) & _VISIBLE)
    if for_update:
        # Locked in id order, so two requests naming the same devices cannot deadlock.
        stmt = stmt.order_by(devices.c.id).with_for_update()
    return {r["id"]: r for r in all_rows(conn, stmt)}


def device_context(conn: Connection, rows: list[RowMapping], *, references: bool) -> DeviceContext:
    ctx = DeviceContext()
    org_ids = {r["organization_id"] for r in rows}
    if org_ids:
        stmt = select(organization_policies).where(
            organization_policies.c.organization_id.in_(sorted(org_ids))
        )
        for a in all_rows(conn, stmt):
            ctx.role_policies[(a["organization_id"], a["node_role_id"])] = a["policy_id"]
    if references:
        ctx.organizations = by_id(conn, organizations, org_ids)
        ctx.locations = by_id(conn, locations, (r["location_id"] for r in rows))
        ctx.roles = by_id(conn, node_roles, (r["node_role_id"] for r in rows))
        wanted = {r["policy_id"] for r in rows if r["policy_id"] is not None}
        wanted |= {ctx.role_policy_id(r) or 0 for r in rows} - {0}
        ctx.policies = by_id(conn, policies, wanted)
        now_ms = int(time.time() * 1000)
        for device_id, window in maintenance_by_device(conn, [r["id"] for r in rows]).items():
            status = maintenance_status(window, now_ms)
            if status is not None:
                ctx.maintenance[device_id] = status
    return ctx


def maintenance_by_device(conn: Connection, device_ids: list[int]) -> dict[int, RowMapping]:
    """The maintenance windows of a page of devices, in one query (for the device mappers)."""
    if not device_ids:
        return {}
    stmt = select(device_maintenance).where(device_maintenance.c.device_id.in_(device_ids))
    return {r["device_id"]: r for r in all_rows(conn, stmt)}


def maintenance_status(row: RowMapping, now_ms: int) -> dict[str, Any] | None:
    """The spec's ``Maintenance`` of a device (None once the window has ended)."""
    if row["end_ms"] <= now_ms:
        return None
    start = row["start_ms"] if row["start_ms"] is not None else row["created_at"] * 1000
    return {
        "status": "IN_MAINTENANCE" if start <= now_ms else "PENDING",
        "start": start / 1000,
        "end": row["end_ms"] / 1000,
    }


def update_device(conn: Connection, device_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def settle_approval(conn: Connection, ids: Iterable[int], status: str) -> int:
    """Approve or reject those of ``ids`` still waiting for approval; how many were."""
    waiting = devices.c.id.in_(sorted(set(ids))) & (devices.c.approval_status == "PENDING")
    return conn.execute(update(devices).where(waiting).values(approval_status=status)).rowcount


def insert_remote_session(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(remote_sessions).values(**values))
