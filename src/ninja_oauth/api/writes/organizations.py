"""Writes on organizations and locations (the Management scope's "creating new organizations")."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from ninja_oauth.api import bodies
from ninja_oauth.api.errors import Conflict, NotFound, invalid_field
from ninja_oauth.api.writes import now, record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import catalog as catalog_sql
from ninja_oauth.store.public_api import organizations as organization_sql

# Fields a new organization or location gets when the body leaves them out.
_EMPTY = {"user_data": dict, "tags": list, "fields": dict}


def _with_defaults(changes: dict[str, Any]) -> dict[str, Any]:
    values = dict(changes)
    for name, make in _EMPTY.items():
        if values.get(name) is None:
            values[name] = make()
    return values


def _checked_assignments(
    conn: Connection, items: list[bodies.NodeRolePolicyAssignment]
) -> dict[int, int]:
    """{node_role_id: policy_id}, each pair existing and for the same node class."""
    assignments: dict[int, int] = {}
    for i, item in enumerate(items):
        where = f"policies.{i}"
        role = catalog_sql.get_role(conn, item.node_role_id)
        if role is None:
            raise invalid_field(f"{where}.nodeRoleId", f"no device role {item.node_role_id}")
        policy = catalog_sql.get_policy(conn, item.policy_id)
        if policy is None:
            raise invalid_field(f"{where}.policyId", f"no policy {item.policy_id}")
        if policy["node_class"] != role["node_class"]:
            raise invalid_field(
                f"{where}.policyId",
                f"policy {item.policy_id} is for {policy['node_class']} devices, "
                f"role {item.node_role_id} for {role['node_class']}",
            )
        if item.node_role_id in assignments:
            raise invalid_field(where, f"device role {item.node_role_id} is assigned twice")
        assignments[item.node_role_id] = item.policy_id
    return assignments


def _refuse_taken_name(conn: Connection, name: str, org_id: int | None = None) -> None:
    owner = organization_sql.organization_named(conn, name)
    if owner is not None and owner != org_id:
        raise Conflict(f"An organization named {name!r} already exists.")


def _organization(conn: Connection, org_id: int) -> Any:
    row = organization_sql.get_organization(conn, org_id)
    if row is None:
        raise NotFound(f"Organization {org_id} not found.")
    return row


def create_organization(
    store: Store,
    body: bodies.OrganizationWithLocationsAndPolicyAssignmentsModel,
    template_id: int | None,
    who: AccessGrant,
) -> int:
    """A new organization with its locations and policy mappings; a template lends its settings."""
    with store.transaction() as conn:
        template = _organization(conn, template_id) if template_id is not None else None
        _refuse_taken_name(conn, body.name)
        if "policies" in body.model_fields_set or template is None:
            assignments = _checked_assignments(conn, body.policies)
        else:
            current = organization_sql.policy_assignments_of(conn, [template["id"]])[template["id"]]
            assignments = {a["node_role_id"]: a["policy_id"] for a in current}
        values = _with_defaults(body.changes())
        values.pop("locations", None)
        values.pop("policies", None)
        if values.get("node_approval_mode") is None:
            values["node_approval_mode"] = (
                template["node_approval_mode"] if template is not None else "AUTOMATIC"
            )
        values["created_at"] = now()
        try:
            org_id = organization_sql.insert_organization(conn, values)
        except organization_sql.NameTaken:
            raise Conflict(f"An organization named {body.name!r} already exists.") from None
        for location in body.locations:
            organization_sql.insert_location(conn, org_id, _with_defaults(location.changes()))
        organization_sql.set_policy_assignments(conn, org_id, assignments)
        record(
            conn,
            who,
            activity_type="SYSTEM",
            status_code="CLIENT_CREATED",
            status="Organization created",
            message=f"Organization '{body.name}' created through the API.",
            data={"organizationId": org_id},
        )
    return org_id


def update_organization(
    store: Store, org_id: int, body: bodies.OrganizationModel, who: AccessGrant
) -> None:
    with store.transaction() as conn:
        _organization(conn, org_id)
        changes = body.changes()
        changed = sorted(body.model_dump(by_alias=True, exclude_unset=True))
        if "name" in changes:
            _refuse_taken_name(conn, changes["name"], org_id)
        try:
            organization_sql.update_organization(conn, org_id, changes)
        except organization_sql.NameTaken:
            raise Conflict(f"An organization named {changes['name']!r} already exists.") from None
        record(
            conn,
            who,
            activity_type="SYSTEM",
            status_code="CLIENT_UPDATED",
            status="Organization updated",
            message=f"Organization {org_id} updated through the API.",
            data={"organizationId": org_id, "changed": changed},
        )


def create_location(store: Store, org_id: int, body: bodies.NewLocation, who: AccessGrant) -> int:
    with store.transaction() as conn:
        _organization(conn, org_id)
        location_id = organization_sql.insert_location(conn, org_id, _with_defaults(body.changes()))
        record(
            conn,
            who,
            activity_type="SYSTEM",
            status_code="LOCATION_CREATED",
            status="Location created",
            message=f"Location '{body.name}' created in organization {org_id} through the API.",
            data={"organizationId": org_id, "locationId": location_id},
        )
    return location_id


def update_location(
    store: Store, org_id: int, location_id: int, body: bodies.LocationModel, who: AccessGrant
) -> None:
    with store.transaction() as conn:
        _organization(conn, org_id)
        location = organization_sql.get_location(conn, location_id)
        if location is None or location["organization_id"] != org_id:
            raise NotFound(f"Location {location_id} not found in organization {org_id}.")
        organization_sql.update_location(conn, location_id, body.changes())
        record(
            conn,
            who,
            activity_type="SYSTEM",
            status_code="LOCATION_UPDATED",
            status="Location updated",
            message=f"Location {location_id} of organization {org_id} updated through the API.",
            data={"organizationId": org_id, "locationId": location_id},
        )
