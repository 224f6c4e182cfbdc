"""Rows of the store shaped as the spec's JSON objects (camelCase keys, absent = None).

The route's ``response_model`` then validates each object and drops the Nones, so what leaves
the server is exactly a spec model.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from ninja_oauth.store.public_api.devices import DeviceContext

Row = Mapping[Any, Any]

_USER_NAMESPACE = uuid.UUID("8b3b3a52-6f0b-4c39-9a43-4f8f3f1b7e10")


def organization(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "description": row["description"],
        "userData": row["user_data"],
        "nodeApprovalMode": row["node_approval_mode"],
        "tags": row["tags"],
        "fields": row["fields"],
    }


def organization_detailed(
    row: Row, locations: Sequence[Row], assignments: Sequence[Row]
) -> dict[str, Any]:
    return {
        **organization(row),
        "locations": [location(loc) for loc in locations],
        "policies": [
            {"nodeRoleId": a["node_role_id"], "policyId": a["policy_id"]} for a in assignments
        ],
    }


def location(row: Row, *, with_organization: bool = False) -> dict[str, Any]:
    body = {
        "id": row["id"],
        "name": row["name"],
        "address": row["address"],
        "description": row["description"],
        "userData": row["user_data"],
        "tags": row["tags"],
        "fields": row["fields"],
    }
    if with_organization:
        body["organizationId"] = row["organization_id"]
    return body


def policy(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "parentPolicyId": row["parent_policy_id"],
        "name": row["name"],
        "description": row["description"],
        "nodeClass": row["node_class"],
        "updated": float(row["updated"]),
        "nodeClassDefault": row["node_class_default"],
        "tags": row["tags"],
    }


def role(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "nodeClass": row["node_class"],
        "custom": row["custom"],
        "chassisType": row["chassis_type"],
        "created": float(row["created"]),
        "nodeRoleParentId": row["parent_id"],
        "icon": row["icon"],
    }


def _warranty(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(value) if value else None


def device(row: Row, ctx: DeviceContext, *, detailed: bool) -> dict[str, Any]:
    """NodeWithDetailedReferences, or with ``detailed`` the spec's Device with references."""
    role_policy_id = ctx.role_policy_id(row)
    body: dict[str, Any] = {
        "id": row["id"],
        "uid": row["uid"],
        "organizationId": row["organization_id"],
        "locationId": row["location_id"],
        "nodeClass": row["node_class"],
        "nodeRoleId": row["node_role_id"],
        "rolePolicyId": role_policy_id,
        "policyId": row["policy_id"],
        "approvalStatus": row["approval_status"],
        "offline": row["offline"],
        "displayName": row["display_name"],
        "systemName": row["system_name"],
        "dnsName": row["dns_name"],
        "netbiosName": row["netbios_name"],
        "created": float(row["created"]),
        "lastContact": float(row["last_contact"]),
        "lastUpdate": float(row["last_update"]),
        "userData": row["user_data"],
        "tags": row["tags"],
    }
    if not detailed:
        return body
    org = ctx.organizations.get(row["organization_id"])
    loc = ctx.locations.get(row["location_id"])
    node_role = ctx.roles.get(row["node_role_id"])
    own_policy = ctx.policies.get(row["policy_id"]) if row["policy_id"] else None
    mapped_policy = ctx.policies.get(role_policy_id) if role_policy_id else None
    body.update(
        {
            "ipAddresses": row["ip_addresses"],
            "macAddresses": row["mac_addresses"],
            "publicIP": row["public_ip"],
            "references": {
                "organization": organization(org) if org else None,
                "location": location(loc) if loc else None,
                "rolePolicy": policy(mapped_policy) if mapped_policy else None,
                "policy": policy(own_policy) if own_policy else None,
                "role": role(node_role) if node_role else None,
                "warranty": _warranty(row["warranty"]),
            },
        }
    )
    window = ctx.maintenance.get(row["id"])
    if window is not None:
        body["maintenance"] = window  # PUT /v2/device/{id}/maintenance
    return body


def script(row: Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "active": row["active"],
        "language": row["language"],
        "architecture": row["architecture"],
        "operatingSystems": row["operating_systems"],
        "scriptParameters": row["script_parameters"],
        "createdBy": row["created_by"],
        "createdOn": float(row["created_on"]),
        "updatedOn": float(row["updated_on"]),
    }


def user(row: Row, *, include_roles: bool) -> dict[str, Any]:
    """A ninja-oauth user as the spec's User: every one is a technician."""
    body: dict[str, Any] = {
        "id": row["id"],
        "uid": str(uuid.uuid5(_USER_NAMESPACE, str(row["id"]))),
        "email": row["email"],
        "enabled": True,
        "administrator": bool(row["is_admin"]),
        "userType": "TECHNICIAN",
    }
    if include_roles:
        body["roles"] = ["Administrator"] if row["is_admin"] else ["Technician"]
    return body


def activity(row: Row) -> dict[str, Any]:
    data = dict(row["data"] or {})
    if row["client_id"]:
        # The app that made the call: the spec's Activity has userId but no field for the app.
        data["clientId"] = row["client_id"]
    return {
        "id": row["id"],
        "activityTime": float(row["activity_time"]),
        "deviceId": row["device_id"],
        "severity": row["severity"],
        "priority": row["priority"],
        "activityType": row["activity_type"],
        "statusCode": row["status_code"],
        "status": row["status"],
        "activityResult": row["activity_result"],
        "sourceName": row["source_name"],
        "subject": row["subject"],
        "userId": row["user_id"],
        "message": row["message"],
        "data": data,
    }
