"""The SQL of /v2/organization(s) and /v2/locations."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from ninja_oauth.store.api_tables import locations, organization_policies, organizations
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import all_rows, new_id, one_row, page
from ninja_oauth.store.statements import Sql


class NameTaken(Exception):
    """Another organization has this name (the unique constraint caught a concurrent insert)."""


def list_organizations(
    conn: Connection, *, after: int | None, limit: int | None, name_contains: str | None = None
) -> list[RowMapping]:
    stmt = select(organizations)
    if name_contains:
        lowered = func.lower(organizations.c.name)
        stmt = stmt.where(lowered.contains(name_contains.lower(), autoescape=True))
    return all_rows(conn, page(stmt, organizations.c.id, after, limit))


# The hot read of GET /v2/organizations, on the driver's cursor (``store.statements.Sql``): the same
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
    return one_row(conn, select(organizations).where(organizations.c.id == org_id))


def organization_named(conn: Connection, name: str) -> int | None:
    row = conn.execute(select(organizations.c.id).where(organizations.c.name == name)).first()
    return None if row is None else int(row.id)


def locations_of(conn: Connection, org_ids: Iterable[int]) -> dict[int, list[RowMapping]]:
    found: dict[int, list[RowMapping]] = defaultdict(list)
    stmt = select(locations).where(locations.c.organization_id.in_(sorted(set(org_ids))))
    for row in all_rows(conn, stmt.order_by(locations.c.id)):
        found[row["organization_id"]].append(row)
    return found


def policy_assignments_of(conn: Connection, org_ids: Iterable[int]) -> dict[int, list[RowMapping]]:
    found: dict[int, list[RowMapping]] = defaultdict(list)
    stmt = select(organization_policies).where(
        organization_policies.c.organization_id.in_(sorted(set(org_ids)))
    )
    for row in all_rows(conn, stmt.order_by(organization_policies.c.node_role_id)):
        found[row["organization_id"]].append(row)
    return found


def list_locations(conn: Connection, *, after: int | None, limit: int | None) -> list[RowMapping]:
    return all_rows(conn, page(select(locations), locations.c.id, after, limit))


def get_location(conn: Connection, location_id: int) -> RowMapping | None:
    return one_row(conn, select(locations).where(locations.c.id == location_id))


def insert_organization(conn: Connection, values: Mapping[str, Any]) -> int:
    try:
        result = conn.execute(insert(organizations).values(**values))
    except IntegrityError as exc:
        raise NameTaken(values.get("name")) from exc
    return new_id(result)


def update_organization(conn: Connection, org_id: int, values: Mapping[str, Any]) -> None:
    if not values:
        return
    try:
        conn.execute(update(organizations).where(organizations.c.id == org_id).values(**values))
    except IntegrityError as exc:
        raise NameTaken(values.get("name")) from exc


def insert_location(conn: Connection, org_id: int, values: Mapping[str, Any]) -> int:
    stmt = insert(locations).values(organization_id=org_id, **values)
    return new_id(conn.execute(stmt))


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
