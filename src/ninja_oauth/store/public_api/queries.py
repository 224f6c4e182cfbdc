"""The SQL of the /v2/queries reports (api/routes/queries.py).

Every report is a keyset page: the rows after the previous page's last key, in key order, so a
page costs the same on the first device as on the ten-thousandth. Inventory reports walk
``device_inventory`` of one ``kind`` by id (its ``ix_device_inventory_kind_id`` index) joined to
the visible devices of the ``df`` filter; the device reports walk ``devices`` by id. The rows are
the ones the per-device endpoints read (``store/public_api/inventory.py`` writes them), so a
report and ``GET /v2/device/{id}/...`` always agree. The reports have no demo data of their own.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import (
    alerts,
    device_inventory,
    devices,
    locations,
    organizations,
)
from ninja_oauth.store.public_api import all_rows
from ninja_oauth.store.public_api.devices import DeviceFilter


@dataclass(frozen=True)
class InventoryQuery:
    """One page of a report over ``device_inventory`` items of one ``kind``."""

    kind: str
    devices: DeviceFilter = field(default_factory=DeviceFilter)
    after: int | None = None  # the last item id of the previous page
    limit: int = 1000
    # ``at_ms`` (installed, detected) from ``at_from_ms`` included to ``at_before_ms`` excluded.
    at_from_ms: int | None = None
    at_before_ms: int | None = None
    # The device's last update (the items' ``timestamp``, epoch seconds) at or after this.
    collected_since: int | None = None
    # (a field of ``data``, the values it may take), compared without case.
    equals: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Text one of these fields of ``data`` contains, without case (a service's name).
    contains: tuple[tuple[str, ...], str] | None = None


def inventory_page(conn: Connection, q: InventoryQuery) -> list[RowMapping]:
    """Items of ``q.kind`` in id order, with their device's last update (``last_update``)."""
    inv = device_inventory
    cond: ColumnElement[bool] = (inv.c.kind == q.kind) & q.devices.condition()
    if q.after is not None:
        cond = cond & (inv.c.id > q.after)
    if q.at_from_ms is not None:
        cond = cond & (inv.c.at_ms >= q.at_from_ms)
    if q.at_before_ms is not None:
        cond = cond & (inv.c.at_ms < q.at_before_ms)
    if q.collected_since is not None:
        cond = cond & (devices.c.last_update >= q.collected_since)
    for name, values in q.equals:
        wanted = sorted({v.upper() for v in values})
        cond = cond & func.upper(inv.c.data[name].as_string()).in_(wanted)
    if q.contains is not None:
        names, needle = q.contains
        cond = cond & or_(
            *(
                func.lower(inv.c.data[n].as_string()).contains(needle.lower(), autoescape=True)
                for n in names
            )
        )
    stmt = (
        select(inv.c.id, inv.c.device_id, inv.c.data, devices.c.last_update)
        .select_from(inv.join(devices, devices.c.id == inv.c.device_id))
        .where(cond)
        .order_by(inv.c.id)
        .limit(q.limit)
    )
    return all_rows(conn, stmt)


def device_page(
    conn: Connection, flt: DeviceFilter, *, after: int | None, limit: int
) -> list[RowMapping]:
    """The visible devices of ``flt`` after ``after``, in id order (what the device reports
    need of them)."""
    cond = flt.condition()
    if after is not None:
        cond = cond & (devices.c.id > after)
    stmt = (
        select(devices.c.id, devices.c.offline, devices.c.custom_fields, devices.c.last_update)
        .where(cond)
        .order_by(devices.c.id)
        .limit(limit)
    )
    return all_rows(conn, stmt)


# The kinds device health counts, grouped by their ``status`` (jobs by ``jobStatus``).
_HEALTH_KINDS = (
    "os_patch",
    "os_patch_install",
    "software_patch",
    "software_patch_install",
    "antivirus_threat",
    "job",
)


@dataclass
class HealthFacts:
    """What one device's health is derived from: its inventory items counted by kind and
    status, whether its operating system waits for a reboot, and its open alerts."""

    statuses: dict[tuple[str, str], int] = field(default_factory=dict)
    needs_reboot: bool = False
    antivirus_products: int = 0
    alerts: int = 0

    def count(self, kind: str, *statuses: str) -> int:
        return sum(n for (k, s), n in self.statuses.items() if k == kind and s in statuses)

    def count_except(self, kind: str, *statuses: str) -> int:
        return sum(n for (k, s), n in self.statuses.items() if k == kind and s not in statuses)


def health_facts(conn: Connection, device_ids: Iterable[int]) -> dict[int, HealthFacts]:
    """The facts of each device of a page, in three grouped queries (by the device's index on
    ``device_inventory`` and on ``alerts``), never one query per device."""
    ids = sorted(set(device_ids))
    facts = {i: HealthFacts() for i in ids}
    if not ids:
        return facts
    inv = device_inventory
    status = func.upper(
        func.coalesce(inv.c.data["status"].as_string(), inv.c.data["jobStatus"].as_string(), "")
    ).label("status")
    grouped = (
        select(inv.c.device_id, inv.c.kind, status, func.count().label("n"))
        .where(inv.c.device_id.in_(ids) & inv.c.kind.in_(_HEALTH_KINDS))
        .group_by(inv.c.device_id, inv.c.kind, status)
    )
    for r in all_rows(conn, grouped):
        facts[r["device_id"]].statuses[(r["kind"], r["status"])] = int(r["n"])
    systems = select(inv.c.device_id, inv.c.kind, inv.c.data).where(
        inv.c.device_id.in_(ids) & inv.c.kind.in_(("operating_system", "antivirus_status"))
    )
    for r in all_rows(conn, systems):
        if r["kind"] == "operating_system":
            facts[r["device_id"]].needs_reboot |= bool(r["data"].get("needsReboot"))
        else:
            facts[r["device_id"]].antivirus_products += 1
    open_alerts = (
        select(alerts.c.device_id, func.count().label("n"))
        .where(alerts.c.device_id.in_(ids))
        .group_by(alerts.c.device_id)
    )
    for r in all_rows(conn, open_alerts):
        facts[r["device_id"]].alerts = int(r["n"])
    return facts


# The scoped custom fields report walks organizations, then locations, then devices.
SCOPE_ORDER = ("ORGANIZATION", "LOCATION", "NODE")


def scoped_fields_page(
    conn: Connection, scope: str, *, after: int | None, limit: int
) -> list[tuple[int, dict[str, Any]]]:
    """(entity id, its field values) of one scope after ``after``, in id order."""
    if scope == "ORGANIZATION":
        id_col, values = organizations.c.id, organizations.c.fields
        cond: ColumnElement[bool] | None = None
    elif scope == "LOCATION":
        id_col, values = locations.c.id, locations.c.fields
        cond = None
    else:
        id_col, values = devices.c.id, devices.c.custom_fields
        cond = DeviceFilter().condition()
    stmt = select(id_col.label("id"), values.label("fields"))
    if cond is not None:
        stmt = stmt.where(cond)
    if after is not None:
        stmt = stmt.where(id_col > after)
    stmt = stmt.order_by(id_col).limit(limit)
    return [(int(r["id"]), dict(r["fields"] or {})) for r in all_rows(conn, stmt)]


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """The reports read the inventory's, the alerts' and the devices' rows: nothing of their
    own to load."""
