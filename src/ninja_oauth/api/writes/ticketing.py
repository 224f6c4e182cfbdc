"""Writes on tickets (api/routes/ticketing.py): create and update, each one transaction that
checks the ids the ticket names (an update: those it changes), writes the ticket, records an
activity (NINJA_TICKETING, which webhooks deliver) and adds the ticket's log entry (DESCRIPTION
on creation, SAVE with the ``changeDiff`` on a change)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import mappers
from ninja_oauth.api import schemas_ticketing as s
from ninja_oauth.api.errors import Conflict, NotFound, invalid_field
from ninja_oauth.api.writes import now, record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api import organizations as organization_sql
from ninja_oauth.store.public_api import ticketing as ticket_sql

_STATUS_BY_ID = {str(i): name for name, _display, i in ticket_sql.STATUSES}
DISPLAY = {name: display for name, display, _i in ticket_sql.STATUSES}


def user_uid(user_id: int | None) -> str | None:
    """The uid /v2/users answers for the same user (``mappers.user``)."""
    if user_id is None:
        return None
    uid: str = mappers.user({"id": user_id, "email": "", "is_admin": False}, include_roles=False)[
        "uid"
    ]
    return uid


def ticket_or_404(conn: Connection, ticket_id: int, *, for_update: bool = False) -> RowMapping:
    row = ticket_sql.get_ticket(conn, ticket_id, for_update=for_update)
    if row is None:
        raise NotFound(f"Ticket {ticket_id} not found.")
    return row


def _status(value: str) -> str:
    name = _STATUS_BY_ID.get(value.strip(), value.strip().upper())
    if name not in ticket_sql.STATUS_IDS:
        known = ", ".join(f"{n} ({i})" for n, _d, i in ticket_sql.STATUSES)
        raise invalid_field("status", f"unknown status {value!r}; known: {known}")
    return name


def _in_organization(row: RowMapping | None, field: str, what: str, org_id: int) -> None:
    """``what`` (``location 3``, ``device 7``) exists and belongs to the ticket's organization:
    otherwise a 400 naming ``field``."""
    if row is None:
        raise invalid_field(field, f"no {what}")
    if row["organization_id"] != org_id:
        raise invalid_field(field, f"{what} is not in organization {org_id}")


def _check_references(
    conn: Connection,
    values: dict[str, Any],
    ticket_id: int | None = None,
    before: RowMapping | None = None,
) -> None:
    """Every id a ticket names exists and they belong together: 400 naming the field. On an
    update (``before``: the ticket as it was), only what it changes is checked: an id sent back
    unchanged, a technician disabled or a device moved since, does not block other changes."""
    old = dict(before) if before is not None else {}
    old_data = old.get("data") or {}
    data = values.get("data", {})

    def changed(column: str) -> bool:
        return before is None or values.get(column) != old[column]

    def changed_data(key: str) -> bool:
        return before is None or data.get(key) != old_data.get(key)

    org_id = values["client_id"]
    # A new organization must hold the location and device the ticket keeps.
    moved = changed("client_id")
    if moved and organization_sql.get_organization(conn, org_id) is None:
        raise invalid_field("clientId", f"no organization {org_id}")
    location_id = values.get("location_id")
    if location_id is not None and (moved or changed("location_id")):
        location = organization_sql.get_location(conn, location_id)
        _in_organization(location, "locationId", f"location {location_id}", org_id)
    node_id = values.get("node_id")
    if node_id is not None and (moved or changed("node_id")):
        device = device_sql.get_device(conn, node_id)
        _in_organization(device, "nodeId", f"device {node_id}", org_id)
    if changed("ticket_form_id") and not ticket_sql.ticket_form_exists(
        conn, values["ticket_form_id"]
    ):
        raise invalid_field("ticketFormId", f"no ticket form {values['ticket_form_id']}")
    kept = set(old_data.get("additionalAssignedTechnicianIds") or [])
    technicians = [t for t in data.get("additionalAssignedTechnicianIds") or [] if t not in kept]
    assignee = values.get("assigned_app_user_id") if changed("assigned_app_user_id") else None
    wanted = [*technicians, *([assignee] if assignee is not None else [])]
    known = ticket_sql.enabled_user_ids(conn, wanted)
    if assignee is not None and assignee not in known:
        raise invalid_field("assignedAppUserId", f"no technician {assignee}")
    missing = sorted(set(technicians) - known)
    if missing:
        listed = ", ".join(map(str, missing))
        raise invalid_field("additionalAssignedTechnicianIds", f"no technician {listed}")
    parent = data.get("parentTicketId") if changed_data("parentTicketId") else None
    if parent is not None and (parent == ticket_id or ticket_sql.get_ticket(conn, parent) is None):
        raise invalid_field("parentTicketId", f"no other ticket {parent}")


def _values(body: s.TicketFields) -> dict[str, Any]:
    """The sent fields as columns (``data`` holds those without one)."""
    sent = body.model_fields_set
    values: dict[str, Any] = {}
    data: dict[str, Any] = {}
    columns = {
        "client_id",
        "ticket_form_id",
        "location_id",
        "node_id",
        "subject",
        "type",
        "assigned_app_user_id",
        "severity",
        "priority",
    }
    for name in sent & columns:
        values[name] = getattr(body, name)
    if "status" in sent and body.status is not None:
        values["status"] = _status(body.status)
    if "requester_uid" in sent:
        values["requester_uid"] = str(body.requester_uid) if body.requester_uid else None
    if "tags" in sent:
        values["tags"] = body.tags or []
    if "cc" in sent:
        cc = body.cc
        values["cc"] = {
            "uids": [str(u) for u in dict.fromkeys(cc.uids or [])] if cc else [],
            "emails": list(dict.fromkeys(cc.emails or [])) if cc else [],
        }
    if "attributes" in sent:
        values["attributes"] = [
            a.model_dump(by_alias=True, exclude_none=True) for a in body.attributes or []
        ]
    if "parent_ticket_id" in sent:
        data["parentTicketId"] = body.parent_ticket_id
    if "additional_assigned_technician_ids" in sent:
        ids = body.additional_assigned_technician_ids or []
        data["additionalAssignedTechnicianIds"] = list(dict.fromkeys(ids))
    values["data"] = data
    return values


def _actor(who: AccessGrant) -> dict[str, Any]:
    # A log entry's author: the token's user, or the system for an app acting alone.
    if who.user_id is None:
        return {"system": True}
    return {"system": False, "appUserContactId": who.user_id}


def create_ticket(store: Store, body: s.NewTicket, who: AccessGrant) -> int:
    values = _values(body)
    values.setdefault("status", _status(body.status))
    data = {"version": 1, "source": "TECHNICIAN", **values.pop("data")}
    values["data"] = data
    with store.transaction() as conn:
        _check_references(conn, values)
        if values.get("requester_uid") is None:
            values["requester_uid"] = user_uid(who.user_id)
        at = now() * 1000
        values.update(created_at=at, updated_at=at)
        for name, empty in (("tags", list), ("attributes", list), ("cc", dict)):
            if values.get(name) is None:
                values[name] = empty()
        ticket_id = ticket_sql.insert_ticket(conn, values)
        activity_id = record(
            conn,
            who,
            device_id=values.get("node_id"),
            activity_type="NINJA_TICKETING",
            status_code="NINJA_TICKETING_TICKET_CREATED",
            status="Ticket created",
            message=f"Ticket {ticket_id} '{body.subject}' created through the API.",
            data={"ticketId": ticket_id, "organizationId": values["client_id"]},
        )
        description = body.description or s.NewTicketLogEntry()
        entry_data: dict[str, Any] = {**_actor(who), "activityId": activity_id}
        if description.time_tracked is not None:
            entry_data["timeTracked"] = description.time_tracked
        ticket_sql.insert_log_entry(
            conn,
            {
                "ticket_id": ticket_id,
                "type": "DESCRIPTION",
                "public": description.public,
                "body": description.body,
                "html_body": description.html_body,
                "created_at": at,
                "data": entry_data,
            },
        )
    return ticket_id


# The fields an update's SAVE log entry reports, by column, with the spec's names.
_TRACKED = {
    "status": "status",
    "assigned_app_user_id": "assignedAppUserId",
    "priority": "priority",
    "severity": "severity",
    "type": "type",
    "subject": "subject",
    "client_id": "clientId",
    "location_id": "locationId",
    "node_id": "nodeId",
    "ticket_form_id": "ticketFormId",
    "requester_uid": "requesterUid",
    "tags": "tags",
    "cc": "cc",
    "attributes": "attributes",
}
_DESCRIBED = {"status": "Status", "assigned_app_user_id": "Assignee", "priority": "Priority"}


def _describe(column: str, old: Any, new: Any) -> str:
    def shown(value: Any) -> str:
        if value is None:
            return "none"
        return DISPLAY.get(value, str(value)) if column == "status" else str(value)

    return f"{_DESCRIBED[column]} changed from {shown(old)} to {shown(new)}."


def update_ticket(store: Store, ticket_id: int, body: s.UpdateTicket, who: AccessGrant) -> None:
    """Change the fields sent, if ``version`` is the ticket's; log and record what changed."""
    values = _values(body)
    data_changes = values.pop("data")
    with store.transaction() as conn:
        current = ticket_or_404(conn, ticket_id, for_update=True)
        data = dict(current["data"])
        version = data.get("version", 1)
        if body.version != version:
            raise Conflict(
                f"Ticket {ticket_id} is at version {version}, not {body.version}: "
                "read it again and retry."
            )
        merged = {**dict(current), **values, "data": {**data, **data_changes}}
        _check_references(conn, merged, ticket_id, current)
        diff = {
            name: {"old": current[column], "new": values[column]}
            for column, name in _TRACKED.items()
            if column in values and values[column] != current[column]
        }
        for key, value in data_changes.items():
            if data.get(key) != value:
                diff[key] = {"old": data.get(key), "new": value}
        if not diff:
            return
        at = now() * 1000
        changes = {column: values[column] for column in values if column in _TRACKED}
        changes.update(data={**merged["data"], "version": version + 1}, updated_at=at)
        ticket_sql.update_ticket(conn, ticket_id, changes)
        activity_id = record(
            conn,
            who,
            device_id=merged["node_id"],
            activity_type="NINJA_TICKETING",
            status_code="NINJA_TICKETING_UPDATED",
            status="Ticket updated",
            message=f"Ticket {ticket_id} updated through the API.",
            data={"ticketId": ticket_id, "changed": sorted(diff)},
        )
        described = [
            _describe(column, current[column], values[column])
            for column in _DESCRIBED
            if _TRACKED[column] in diff
        ]
        ticket_sql.insert_log_entry(
            conn,
            {
                "ticket_id": ticket_id,
                "type": "SAVE",
                "public": False,
                "body": " ".join(described) or "Ticket updated.",
                "html_body": None,
                "created_at": at,
                "data": {**_actor(who), "activityId": activity_id, "changeDiff": diff},
            },
        )
