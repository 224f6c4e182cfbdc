"""The SQL of the Public API v2 slice: organizations, devices, catalogs and activities.

Reads take a ``Connection`` (``store.read``); writes take the connection of the caller's
``store.transaction()``, so one API request is one transaction and nothing is half-written.
Rows come back as ``RowMapping``; the API layer shapes them into the spec's JSON.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, delete, func, insert, select, update
from sqlalchemy.engine import CursorResult, RowMapping
from sqlalchemy.exc import IntegrityError

from ninja_oauth.store.api_tables import (
    activities,
    devices,
    locations,
    node_roles,
    organization_policies,
    organizations,
    policies,
    remote_sessions,
    scripts,
)
from ninja_oauth.store.db import Sql, Store
from ninja_oauth.store.tables import users

# A rejected device leaves every listing (NinjaOne moves it to a rejected list).
_VISIBLE = devices.c.approval_status != "REJECTED"

_FILTER_COLUMNS = {
    "org": devices.c.organization_id,
    "loc": devices.c.location_id,
    "class": devices.c.node_class,
    "status": devices.c.approval_status,
}


class NameTaken(Exception):
    """Another organization has this name (the unique constraint caught a concurrent insert)."""


@dataclass(frozen=True)
class DeviceFilter:
    """The clauses of a ``df`` parameter, all of which must hold: ("org", 3), ("class", "MAC")."""

    clauses: tuple[tuple[str, int | str], ...] = ()

    def condition(self) -> ColumnElement[bool]:
        cond: ColumnElement[bool] = _VISIBLE
        for key, value in self.clauses:
            cond = cond & (_FILTER_COLUMNS[key] == value)
        return cond


@dataclass(frozen=True)
class ActivityQuery:
    limit: int
    device_id: int | None = None
    activity_class: str = "ALL"  # ALL, DEVICE, SYSTEM, USER
    older_than: int | None = None
    newer_than: int | None = None
    since: int | None = None
    before: int | None = None
    activity_types: tuple[str, ...] = ()
    status_codes: tuple[str, ...] = ()
    user_ids: tuple[int, ...] = ()
    devices: DeviceFilter | None = None


@dataclass
class DeviceContext:
    """What a device's references point to, loaded in one query per table for a whole page."""

    organizations: dict[int, RowMapping] = field(default_factory=dict)
    locations: dict[int, RowMapping] = field(default_factory=dict)
    roles: dict[int, RowMapping] = field(default_factory=dict)
    policies: dict[int, RowMapping] = field(default_factory=dict)
    role_policies: dict[tuple[int, int], int] = field(default_factory=dict)

    def role_policy_id(self, device: Mapping[Any, Any]) -> int | None:
        return self.role_policies.get((device["organization_id"], device["node_role_id"]))


def _page(stmt: Select[Any], id_column: Any, after: int | None, limit: int | None) -> Select[Any]:
    if after is not None:
        stmt = stmt.where(id_column > after)
    stmt = stmt.order_by(id_column)
    return stmt if limit is None else stmt.limit(limit)


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _all(conn: Connection, stmt: Select[Any]) -> list[RowMapping]:
    return list(conn.execute(stmt).mappings().all())


def _one(conn: Connection, stmt: Select[Any]) -> RowMapping | None:
    return conn.execute(stmt).mappings().first()


def _by_id(conn: Connection, table: Any, ids: Iterable[int]) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {r["id"]: r for r in _all(conn, select(table).where(table.c.id.in_(wanted)))}


# -- organizations and locations ----------------------------------------------------------


def list_organizations(
    conn: Connection, *, after: int | None, limit: int | None, name_contains: str | None = None
) -> list[RowMapping]:
    stmt = select(organizations)
    if name_contains:
        lowered = func.lower(organizations.c.name)
        stmt = stmt.where(lowered.contains(name_contains.lower(), autoescape=True))
    return _all(conn, _page(stmt, organizations.c.id, after, limit))


# The hot read of GET /v2/organizations, on the driver's cursor (store/db.py ``Sql``): the same
# rows, order and filter as ``list_organizations``, without Core's per-statement cost.
_ORGS_SELECT = (
    "SELECT id, name, description, node_approval_mode, user_data, tags, fields FROM organizations"
)
# What ``contains(..., autoescape=True)`` renders: the needle, escaped, between two %.
_NAME_CONTAINS = "lower(name) LIKE :pattern ESCAPE '/'"
_ORG_COLUMNS = ("id", "name", "description", "node_approval_mode", "user_data", "tags", "fields")
_ORG_PAGES: dict[tuple[bool, bool, bool], Sql] = {}


def _organizations_page(after: bool, limit: bool, name: bool) -> Sql:
    """The statement for one combination of the optional filters (built once each)."""
    key = (after, limit, name)
    stmt = _ORG_PAGES.get(key)
    if stmt is None:
        conditions = [
            sql for sql, wanted in ((_NAME_CONTAINS, name), ("id > :after", after)) if wanted
        ]
        where = " WHERE " + " AND ".join(conditions) if conditions else ""
        paging = " ORDER BY id" + (" LIMIT :limit" if limit else "")
        stmt = _ORG_PAGES[key] = Sql(_ORGS_SELECT + where + paging)
    return stmt


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return f"%{escaped}%"


async def list_organizations_async(
    store: Store, *, after: int | None, limit: int | None, name_contains: str | None = None
) -> list[dict[str, Any]]:
    """``list_organizations`` from the event loop, as dicts keyed like its rows.

    The JSON columns arrive as text on SQLite: all of a page's are decoded by one ``json.loads``
    of a single array (the per-call overhead dominates for such small documents); psycopg
    decodes them itself on PostgreSQL.
    """
    params: dict[str, Any] = {}
    if name_contains:
        params["pattern"] = _like_pattern(name_contains.lower())
    if after is not None:
        params["after"] = after
    if limit is not None:
        params["limit"] = limit
    stmt = _organizations_page(after is not None, limit is not None, bool(name_contains))
    rows = await store.fetchall_async(stmt, params)
    if not rows:
        return []
    if store.dialect == "sqlite":
        decoded = json.loads("[" + ",".join(f"[{r[4]},{r[5]},{r[6]}]" for r in rows) + "]")
        return [
            {
                "id": r[0],
                "name": r[1],
                "description": r[2],
                "node_approval_mode": r[3],
                "user_data": d[0],
                "tags": d[1],
                "fields": d[2],
            }
            for r, d in zip(rows, decoded, strict=True)
        ]
    return [dict(zip(_ORG_COLUMNS, r, strict=True)) for r in rows]


def get_organization(conn: Connection, org_id: int) -> RowMapping | None:
    return _one(conn, select(organizations).where(organizations.c.id == org_id))


def organization_named(conn: Connection, name: str) -> int | None:
    row = conn.execute(select(organizations.c.id).where(organizations.c.name == name)).first()
    return None if row is None else int(row.id)


def locations_of(conn: Connection, org_ids: Iterable[int]) -> dict[int, list[RowMapping]]:
    found: dict[int, list[RowMapping]] = defaultdict(list)
    stmt = select(locations).where(locations.c.organization_id.in_(sorted(set(org_ids))))
    for row in _all(conn, stmt.order_by(locations.c.id)):
        found[row["organization_id"]].append(row)
    return found


def policy_assignments_of(conn: Connection, org_ids: Iterable[int]) -> dict[int, list[RowMapping]]:
    found: dict[int, list[RowMapping]] = defaultdict(list)
    stmt = select(organization_policies).where(
        organization_policies.c.organization_id.in_(sorted(set(org_ids)))
    )
    for row in _all(conn, stmt.order_by(organization_policies.c.node_role_id)):
        found[row["organization_id"]].append(row)
    return found


def list_locations(conn: Connection, *, after: int | None, limit: int | None) -> list[RowMapping]:
    return _all(conn, _page(select(locations), locations.c.id, after, limit))


def get_location(conn: Connection, location_id: int) -> RowMapping | None:
    return _one(conn, select(locations).where(locations.c.id == location_id))


def insert_organization(conn: Connection, values: Mapping[str, Any]) -> int:
    try:
        result = conn.execute(insert(organizations).values(**values))
    except IntegrityError as exc:
        raise NameTaken(values.get("name")) from exc
    return _new_id(result)


def update_organization(conn: Connection, org_id: int, values: Mapping[str, Any]) -> None:
    if not values:
        return
    try:
        conn.execute(update(organizations).where(organizations.c.id == org_id).values(**values))
    except IntegrityError as exc:
        raise NameTaken(values.get("name")) from exc


def insert_location(conn: Connection, org_id: int, values: Mapping[str, Any]) -> int:
    stmt = insert(locations).values(organization_id=org_id, **values)
    return _new_id(conn.execute(stmt))


def update_location(conn: Connection, location_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(locations).where(locations.c.id == location_id).values(**values))


def set_policy_assignments(conn: Connection, org_id: int, assignments: dict[int, int]) -> None:
    """Replace the organization's policy per device role with ``{node_role_id: policy_id}``."""
    conn.execute(
        delete(organization_policies).where(organization_policies.c.organization_id == org_id)
    )
    if assignments:
        conn.execute(
            insert(organization_policies),
            [
                {"organization_id": org_id, "node_role_id": role, "policy_id": policy}
                for role, policy in sorted(assignments.items())
            ],
        )


# -- devices -------------------------------------------------------------------------------


def list_devices(
    conn: Connection, flt: DeviceFilter, *, after: int | None, limit: int | None
) -> list[RowMapping]:
    stmt = select(devices).where(flt.condition())
    return _all(conn, _page(stmt, devices.c.id, after, limit))


def get_device(conn: Connection, device_id: int) -> RowMapping | None:
    return _one(conn, select(devices).where((devices.c.id == device_id) & _VISIBLE))


def devices_by_id(conn: Connection, ids: Iterable[int]) -> dict[int, RowMapping]:
    wanted = sorted(set(ids))
    stmt = select(devices).where(devices.c.id.in_(wanted) & _VISIBLE)
    return {r["id"]: r for r in _all(conn, stmt)}


def device_context(conn: Connection, rows: list[RowMapping], *, references: bool) -> DeviceContext:
    ctx = DeviceContext()
    org_ids = {r["organization_id"] for r in rows}
    if org_ids:
        stmt = select(organization_policies).where(
            organization_policies.c.organization_id.in_(sorted(org_ids))
        )
        for a in _all(conn, stmt):
            ctx.role_policies[(a["organization_id"], a["node_role_id"])] = a["policy_id"]
    if references:
        ctx.organizations = _by_id(conn, organizations, org_ids)
        ctx.locations = _by_id(conn, locations, (r["location_id"] for r in rows))
        ctx.roles = _by_id(conn, node_roles, (r["node_role_id"] for r in rows))
        wanted = {r["policy_id"] for r in rows if r["policy_id"] is not None}
        wanted |= {ctx.role_policy_id(r) or 0 for r in rows} - {0}
        ctx.policies = _by_id(conn, policies, wanted)
    return ctx


def update_device(conn: Connection, device_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(devices).where(devices.c.id == device_id).values(**values))


def set_approval_status(conn: Connection, ids: Iterable[int], status: str) -> None:
    conn.execute(
        update(devices).where(devices.c.id.in_(sorted(set(ids)))).values(approval_status=status)
    )


def insert_remote_session(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(remote_sessions).values(**values))


# -- catalogs: policies, roles, scripts, users ------------------------------------------------


def list_policies(conn: Connection) -> list[RowMapping]:
    return _all(conn, select(policies).order_by(policies.c.id))


def get_policy(conn: Connection, policy_id: int) -> RowMapping | None:
    return _one(conn, select(policies).where(policies.c.id == policy_id))


def list_roles(conn: Connection) -> list[RowMapping]:
    return _all(conn, select(node_roles).order_by(node_roles.c.id))


def get_role(conn: Connection, role_id: int) -> RowMapping | None:
    return _one(conn, select(node_roles).where(node_roles.c.id == role_id))


def list_scripts(conn: Connection) -> list[RowMapping]:
    return _all(conn, select(scripts).order_by(scripts.c.id))


def get_script(conn: Connection, script_id: int) -> RowMapping | None:
    return _one(conn, select(scripts).where(scripts.c.id == script_id))


def list_users(conn: Connection) -> list[RowMapping]:
    # Never the password hash: only the columns the API shows are selected.
    return _all(conn, select(users.c.id, users.c.email, users.c.is_admin).order_by(users.c.id))


# -- activities -------------------------------------------------------------------------------


def insert_activity(conn: Connection, values: Mapping[str, Any]) -> int:
    return _new_id(conn.execute(insert(activities).values(**values)))


def last_activity_id(conn: Connection, device_id: int | None = None) -> int | None:
    stmt = select(func.max(activities.c.id))
    if device_id is not None:
        stmt = stmt.where(activities.c.device_id == device_id)
    value = conn.execute(stmt).scalar()
    return None if value is None else int(value)


def list_activities(conn: Connection, q: ActivityQuery) -> list[RowMapping]:
    """Newest first; olderThan/newerThan page by activity id, as the spec's endpoints do."""
    a = activities.c
    stmt = select(activities)
    conditions: list[ColumnElement[bool]] = []
    if q.device_id is not None:
        conditions.append(a.device_id == q.device_id)
    if q.activity_class == "DEVICE":
        conditions.append(a.device_id.is_not(None))
    elif q.activity_class == "SYSTEM":
        conditions.append(a.device_id.is_(None))
    elif q.activity_class == "USER":
        conditions.append(a.user_id.is_not(None))
    if q.older_than is not None:
        conditions.append(a.id < q.older_than)
    if q.newer_than is not None:
        conditions.append(a.id > q.newer_than)
    if q.since is not None:
        conditions.append(a.activity_time >= q.since)
    if q.before is not None:
        conditions.append(a.activity_time < q.before)
    if q.activity_types:
        conditions.append(a.activity_type.in_(q.activity_types))
    if q.status_codes:
        conditions.append(a.status_code.in_(q.status_codes))
    if q.user_ids:
        conditions.append(a.user_id.in_(q.user_ids))
    if q.devices is not None and q.devices.clauses:
        conditions.append(a.device_id.in_(select(devices.c.id).where(q.devices.condition())))
    if conditions:
        stmt = stmt.where(*conditions)
    if q.newer_than is not None and q.older_than is None:
        # The page just after newerThan, then shown newest first like every page.
        rows = _all(conn, stmt.order_by(a.id.asc()).limit(q.limit))
        return rows[::-1]
    return _all(conn, stmt.order_by(a.id.desc()).limit(q.limit))
