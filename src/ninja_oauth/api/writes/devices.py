"""Writes on devices: properties, custom fields, approval, scripts, reboots, remote access."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import bodies
from ninja_oauth.api.device_families import FAMILY, RUN_AS
from ninja_oauth.api.errors import Conflict, NotFound, invalid_field
from ninja_oauth.api.writes import now, record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import catalog as catalog_sql
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api import organizations as organization_sql

REMOTE_SESSION_TTL = 15 * 60
RebootMode = Literal["NORMAL", "FORCED"]


def _device(conn: Connection, device_id: int, *, for_update: bool = False) -> RowMapping:
    row = device_sql.get_device(conn, device_id, for_update=for_update)
    if row is None:
        raise NotFound(f"Device {device_id} not found.")
    return row


def _managed_device(conn: Connection, device_id: int) -> RowMapping:
    # A device waiting for approval is not managed yet: nothing can be run on it.
    row = _device(conn, device_id)
    if row["approval_status"] != "APPROVED":
        raise Conflict(f"Device {device_id} is waiting for approval.")
    return row


def _placement(conn: Connection, device: RowMapping, changes: dict[str, Any]) -> None:
    """A device's organization and location must exist and belong together."""
    org_id = changes.get("organization_id", device["organization_id"])
    location_id = changes.get("location_id", device["location_id"])
    if "organization_id" in changes and organization_sql.get_organization(conn, org_id) is None:
        raise invalid_field("organizationId", f"no organization {org_id}")
    location = organization_sql.get_location(conn, location_id)
    if location is None:
        raise invalid_field("locationId", f"no location {location_id}")
    if location["organization_id"] != org_id:
        raise invalid_field("locationId", f"location {location_id} is not in organization {org_id}")


def _same_class(
    field: str, kind: str, row: RowMapping | None, ref: int, device: RowMapping
) -> None:
    if row is None:
        raise invalid_field(field, f"no {kind} {ref}")
    if row["node_class"] != device["node_class"]:
        raise invalid_field(
            field, f"{kind} {ref} is for {row['node_class']} devices, not {device['node_class']}"
        )


def update_device(
    store: Store, device_id: int, body: bodies.DeviceMutableProperties, who: AccessGrant
) -> None:
    changes = body.changes()
    with store.transaction() as conn:
        # Checked against the row as it stays until this commits: a concurrent move to another
        # organization must not leave this change's location outside it.
        device = _device(conn, device_id, for_update=True)
        if "organization_id" in changes or "location_id" in changes:
            _placement(conn, device, changes)
        if "node_role_id" in changes:
            role = catalog_sql.get_role(conn, changes["node_role_id"])
            _same_class("nodeRoleId", "device role", role, changes["node_role_id"], device)
        if changes.get("policy_id") is not None:
            policy = catalog_sql.get_policy(conn, changes["policy_id"])
            _same_class("policyId", "policy", policy, changes["policy_id"], device)
        if "warranty" in changes:
            warranty = body.warranty
            changes["warranty"] = (
                warranty.model_dump(by_alias=True, exclude_none=True) if warranty else None
            )
        device_sql.update_device(conn, device_id, changes)
        record(
            conn,
            who,
            device_id=device_id,
            activity_type="SYSTEM",
            status_code="NODE_UPDATED",
            status="Device updated",
            message=f"Device {device_id} updated through the API.",
            data={"changed": sorted(body.model_dump(by_alias=True, exclude_unset=True))},
        )


def update_custom_fields(
    store: Store, device_id: int, values: dict[str, Any], who: AccessGrant
) -> None:
    """Set the named custom fields; a null value clears one."""
    with store.transaction() as conn:
        # Read, merge and write back under the row's lock: on PostgreSQL two concurrent changes
        # of different fields then both survive (as an organization's: lists.organization_fields).
        device = _device(conn, device_id, for_update=True)
        fields = dict(device["custom_fields"])
        for name, value in values.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        device_sql.update_device(conn, device_id, {"custom_fields": fields})
        record(
            conn,
            who,
            device_id=device_id,
            activity_type="SYSTEM",
            status_code="NODE_UPDATED",
            status="Custom fields updated",
            message=f"Custom fields of device {device_id} updated through the API.",
            data={"fields": sorted(values)},
        )


def decide_approval(
    store: Store, mode: Literal["APPROVE", "REJECT"], device_ids: list[int], who: AccessGrant
) -> None:
    """Approve or reject devices waiting for approval, all of them or none."""
    with store.transaction() as conn:
        # Locked until the decision commits: of two concurrent decisions on one device, the
        # second reads the first's outcome and is refused as any decision on a settled device.
        found = device_sql.devices_by_id(conn, device_ids, for_update=True)
        missing = sorted(set(device_ids) - set(found))
        if missing:
            raise NotFound("Devices not found: " + ", ".join(map(str, missing)) + ".")
        settled = sorted(i for i, row in found.items() if row["approval_status"] != "PENDING")
        if settled:
            listed = ", ".join(map(str, settled))
            raise invalid_field("devices", f"not waiting for approval: {listed}")
        approve = mode == "APPROVE"
        settled_now = device_sql.settle_approval(conn, found, "APPROVED" if approve else "REJECTED")
        # Unreachable while the rows are locked; the update's own PENDING condition still
        # keeps one decision from overturning another.
        if settled_now != len(found):
            raise Conflict("Devices changed while being decided: read them again and retry.")
        for device_id in sorted(found):
            record(
                conn,
                who,
                device_id=device_id,
                activity_type="SYSTEM",
                status_code="NODE_MANUALLY_APPROVED" if approve else "NODE_MANUALLY_REJECTED",
                status="Device approved" if approve else "Device rejected",
                message=f"Device {device_id} {'approved' if approve else 'rejected'} "
                "through the API.",
            )


def run_script(
    store: Store, device_id: int, body: bodies.RunScriptRequest, who: AccessGrant
) -> None:
    with store.transaction() as conn:
        device = _managed_device(conn, device_id)
        script = catalog_sql.get_script(conn, body.script)
        field = "id" if body.id is not None else "scriptId"
        if script is None:
            raise invalid_field(field, f"no script {body.script}")
        if not script["active"]:
            raise invalid_field(field, f"script {body.script} is not active")
        # What GET .../scripting/options offers this device, and nothing else.
        family = FAMILY.get(device["node_class"])
        if family is None:
            raise invalid_field(field, f"device {device_id} has no agent to run scripts")
        if family not in script["operating_systems"]:
            raise invalid_field(field, f"script {body.script} does not run on {family}")
        if body.run_as is not None and body.run_as not in RUN_AS[family]:
            raise invalid_field(
                "runAs", f"a script runs on {family} as one of {', '.join(RUN_AS[family])}"
            )
        data = {"scriptId": script["id"], "parameters": body.parameters, "runAs": body.run_as}
        record(
            conn,
            who,
            device_id=device_id,
            activity_type="ACTION",
            status_code="START_REQUESTED",
            status="Start requested",
            source_name=script["name"],
            message=f"Script '{script['name']}' requested on device {device_id} through the API.",
            data={k: v for k, v in data.items() if v is not None},
        )


def reboot(
    store: Store, device_id: int, mode: RebootMode, reason: str | None, who: AccessGrant
) -> None:
    with store.transaction() as conn:
        _managed_device(conn, device_id)
        data: dict[str, Any] = {"mode": mode}
        if reason:
            data["reason"] = reason
        record(
            conn,
            who,
            device_id=device_id,
            activity_type="SYSTEM",
            status_code="SYSTEM_REBOOTED",
            status=f"Reboot ({mode}) requested",
            message=f"Reboot ({mode}) of device {device_id} requested through the API.",
            data=data,
        )


def start_remote_session(
    store: Store, device_id: int, issuer: str, who: AccessGrant
) -> dict[str, Any]:
    """A remote-access session: its id, URL (on the server's public base URL, ``issuer``) and
    expiry (Control scope; ninja-oauth's own)."""
    with store.transaction() as conn:
        device = _managed_device(conn, device_id)
        if device["offline"]:
            raise Conflict(f"Device {device_id} is offline.")
        session_id = str(uuid.uuid4())
        started = now()
        expires = started + REMOTE_SESSION_TTL
        device_sql.insert_remote_session(
            conn,
            {
                "uid": session_id,
                "device_id": device_id,
                "client_id": who.client_id,
                "user_id": who.user_id,
                "created_at": started,
                "expires_at": expires,
            },
        )
        record(
            conn,
            who,
            device_id=device_id,
            activity_type="REMOTE_TOOLS",
            status_code="STARTED",
            status="Remote session started",
            message=f"Remote-access session started on device {device_id} through the API.",
            data={"sessionId": session_id, "expires": expires},
        )
    return {
        "sessionId": session_id,
        "deviceId": device_id,
        "url": f"{issuer}/remote/{session_id}",
        "expires": float(expires),
    }
