"""Ticketing: tickets, their log entries, and the trigger boards (issue 14).

Reads need monitoring; creating and updating a ticket, management. Running a board is a POST
in the spec (its filters and sort travel in a body) but changes nothing, so it needs monitoring,
as every read does. A ticket's creation and each change are recorded as activities (the
``NINJA_TICKETING`` type, which webhooks deliver) and in the ticket's own log.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import schemas_ticketing as s
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import NotFound, invalid_field
from ninja_oauth.api.filters import PathId, QueryModel, parse_day, text
from ninja_oauth.api.guard import GuardedRoute, require_scope
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads
from ninja_oauth.api.ticketing_boards import (
    ALL_COLUMNS,
    board_condition,
    board_page,
    columns_of,
    dashboard_row,
)
from ninja_oauth.api.writes import ticketing as changes
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import ticketing as ticket_sql

reads = Reads(tags=["ticketing"])
writes = APIRouter(tags=["ticketing"], route_class=GuardedRoute)

# Running a board reads (documents, "Scopes": monitoring is read access), though it is a POST.
MonitoringDep = Annotated[AccessGrant, Depends(require_scope(Scope.MONITORING))]


def status_object(name: str) -> dict[str, Any]:
    """The spec's TicketStatusPublicApiDTO of a stored status name."""
    return {
        "name": name,
        "displayName": changes.DISPLAY.get(name, name.title()),
        "statusId": ticket_sql.STATUS_IDS.get(name, 0),
    }


def ticket(row: RowMapping) -> dict[str, Any]:
    """A ticket row as the spec's TicketDTO."""
    data = row["data"]
    cc = row["cc"] or {}
    return {
        "id": row["id"],
        "version": data.get("version", 1),
        "nodeId": row["node_id"],
        "clientId": row["client_id"],
        "locationId": row["location_id"],
        "assignedAppUserId": row["assigned_app_user_id"],
        "requesterUid": row["requester_uid"],
        "subject": row["subject"],
        "status": status_object(row["status"]),
        "type": row["type"],
        "priority": row["priority"],
        "severity": row["severity"],
        "ticketFormId": row["ticket_form_id"],
        "source": data.get("source"),
        "tags": row["tags"],
        "ccList": {"uids": cc.get("uids") or [], "emails": cc.get("emails") or []},
        "createTime": row["created_at"] / 1000,
        "deleted": False,
        "attributeValues": row["attributes"],
        "additionalAssignedTechnicianIds": data.get("additionalAssignedTechnicianIds") or [],
        "parentTicketId": data.get("parentTicketId"),
    }


def log_entry(row: RowMapping) -> dict[str, Any]:
    data = row["data"]
    contact = data.get("appUserContactId")
    return {
        "id": row["id"],
        "appUserContactId": contact,
        "appUserContactUid": changes.user_uid(contact),
        "appUserContactType": "TECHNICIAN" if contact is not None else None,
        "type": row["type"],
        "body": row["body"],
        "htmlBody": row["html_body"],
        "publicEntry": row["public"],
        "system": data.get("system", False),
        "createTime": row["created_at"] / 1000,
        "changeDiff": data.get("changeDiff"),
        "activityId": data.get("activityId"),
        "timeTracked": data.get("timeTracked"),
    }


# -- reads ------------------------------------------------------------------------------------


@reads.get("/v2/ticketing/ticket/{ticketId}", response=s.TicketDTO, kept_per=("tickets",))
async def get_ticket(call: ReadCall[NoQuery]) -> dict[str, Any]:
    """One ticket (scope: monitoring)."""
    row = await call.store.read(partial(changes.ticket_or_404, ticket_id=call.path["ticketId"]))
    return ticket(row)


class LogEntriesQuery(QueryModel):
    type: s.LogEntryType | None = None
    create_time: Annotated[
        str | None,
        text(
            "createTime",
            max_length=40,
            description="Only entries created at or after this time (Unix seconds, YYYYMMDD "
            "or ISO 8601).",
        ),
    ] = None
    anchor_id: Annotated[
        int | None,
        Field(
            alias="anchorId",
            ge=0,
            le=INT32_MAX,
            description="The last entry id of the previous page: older entries follow.",
        ),
    ] = None
    page_size: Annotated[int, Field(alias="pageSize", ge=1, le=INT32_MAX)] = 500


@reads.get(
    "/v2/ticketing/ticket/{ticketId}/log-entry",
    response=list[s.TicketLogEntry],
    query=LogEntriesQuery,
    kept_per=("tickets", "ticket_log_entries"),
)
async def get_ticket_log_entries(call: ReadCall[LogEntriesQuery]) -> list[dict[str, Any]]:
    """A ticket's log entries, newest first; page with `anchorId` (the last id of the previous
    page) and `pageSize` (scope: monitoring)."""
    ticket_id, q = call.path["ticketId"], call.query
    since = parse_day("createTime", q.create_time)

    def read(conn: Connection) -> list[RowMapping]:
        changes.ticket_or_404(conn, ticket_id)
        return ticket_sql.list_log_entries(
            conn,
            ticket_id,
            entry_type=q.type,
            since_ms=None if since is None else since * 1000,
            anchor_id=q.anchor_id,
            limit=min(q.page_size, 1000),
        )

    return [log_entry(r) for r in await call.store.read(read)]


def board(row: RowMapping, count: int) -> dict[str, Any]:
    data = row["data"]
    return {
        "id": row["id"],
        "uid": data["uid"],
        "name": row["name"],
        "description": row["description"],
        "conditions": data["conditions"],
        "createTime": data["createTime"] / 1000,
        "updateTime": data["updateTime"] / 1000,
        "system": data.get("system", False),
        "columns": data["columns"],
        "sortBy": data["sortBy"],
        "ticketCount": count,
    }


@reads.get("/v2/ticketing/trigger/boards", response=list[s.TicketingBoard])
async def get_boards(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """The ticketing boards with how many tickets each shows to the caller (scope:
    monitoring)."""
    user_id = call.grant.user_id

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = ticket_sql.list_boards(conn)
        conditions = [board_condition(r["data"]["conditions"], user_id) for r in rows]
        counts = ticket_sql.count_tickets(conn, conditions)
        return [board(r, n) for r, n in zip(rows, counts, strict=True)]

    return await call.store.read(read)


@writes.post(
    "/v2/ticketing/trigger/board/{boardId}/run",
    response_model=s.TicketDashboard,
    response_model_exclude_none=True,
)
async def run_board(
    store: StoreDep,
    access: MonitoringDep,
    boardId: PathId,
    body: s.TicketBoardScrollingRequestDTO | None = None,
) -> dict[str, Any]:
    """The board's tickets in its sort order (or the body's `sortBy`), filtered by the body's
    `filters` and `searchCriteria`; page with `pageSize` (default 50) and `lastCursorId`, the
    id of the last ticket of the previous page (scope: monitoring: it changes nothing)."""
    request = body or s.TicketBoardScrollingRequestDTO()

    def read(conn: Connection) -> dict[str, Any]:
        row = ticket_sql.get_board(conn, boardId)
        if row is None:
            raise NotFound(f"Board {boardId} not found.")
        page, sort, filters = board_page(row["data"], request, access.user_id)
        rows = ticket_sql.run_board(conn, page)
        if rows is None:
            raise invalid_field("lastCursorId", f"no ticket {request.last_cursor_id}")
        columns = columns_of(row["data"], request)
        return {
            "data": [dashboard_row(ticket(r), r["updated_at"], columns) for r in rows],
            "metadata": {
                "columns": columns,
                "sortBy": sort,
                "attributes": {},
                "filters": filters,
                "allRequiredColumns": ["id"],
                "allColumns": ALL_COLUMNS,
                "columnNamesForExporting": columns,
            },
        }

    return await store.read(read)


# -- writes -----------------------------------------------------------------------------------


async def _answer(store: Store, ticket_id: int) -> dict[str, Any]:
    return ticket(await store.read(partial(changes.ticket_or_404, ticket_id=ticket_id)))


@writes.post("/v2/ticketing/ticket", response_model=s.TicketDTO, response_model_exclude_none=True)
async def create(store: StoreDep, access: ManagementDep, body: s.NewTicket) -> dict[str, Any]:
    """Create a ticket; its `description` becomes the first (DESCRIPTION) log entry
    (scope: management). `status` takes a status name or id (default 1000, NEW). Recorded
    as a NINJA_TICKETING_TICKET_CREATED activity."""
    ticket_id = await store.run(partial(changes.create_ticket, store, body, access), Writes.CHANGES)
    return await _answer(store, ticket_id)


@writes.put(
    "/v2/ticketing/ticket/{ticketId}",
    response_model=s.TicketDTO,
    response_model_exclude_none=True,
)
async def update(
    store: StoreDep, access: ManagementDep, ticketId: PathId, body: s.UpdateTicket
) -> dict[str, Any]:
    """Change a ticket (scope: management). `version` must be the ticket's current one (409
    otherwise); optional fields left out keep their value, null clears them. A change adds a
    SAVE log entry with the `changeDiff` and a NINJA_TICKETING_UPDATED activity."""
    await store.run(partial(changes.update_ticket, store, ticketId, body, access), Writes.CHANGES)
    return await _answer(store, ticketId)
