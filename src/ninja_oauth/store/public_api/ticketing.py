"""The SQL of the ticketing endpoints (api/routes/ticketing.py), and their demo data.

A ticket's times are kept in milliseconds (``created_at``, ``updated_at``; the spec answers
seconds with a fraction). What the spec's TicketDTO says beyond the table's columns is in
``data``: ``version`` (bumped by every change: an update naming an older one is refused),
``source``, ``parentTicketId``, ``additionalAssignedTechnicianIds``.

Boards and the run of a board filter tickets with rules the API layer has already checked and
normalized (``TicketRule``); this module only turns them into SQL.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.engine import RowMapping

from ninja_oauth.store.api_tables import (
    catalog_items,
    ticket_boards,
    ticket_log_entries,
    tickets,
)
from ninja_oauth.store.public_api import all_rows, new_id, one_row
from ninja_oauth.store.tables import users

# The system statuses: name, display name, statusId (NinjaOne's ids; a new ticket is 1000).
STATUSES: list[tuple[str, str, int]] = [
    ("NEW", "New", 1000),
    ("OPEN", "Open", 2000),
    ("WAITING", "Waiting", 3000),
    ("PAUSED", "Paused", 4000),
    ("RESOLVED", "Resolved", 5000),
    ("CLOSED", "Closed", 6000),
]
STATUS_IDS = {name: status_id for name, _display, status_id in STATUSES}
PRIORITIES = ["NONE", "LOW", "MEDIUM", "HIGH"]
SEVERITIES = ["NONE", "MINOR", "MODERATE", "MAJOR", "CRITICAL"]
TICKET_FORM = "ticket_form"  # catalog_items.kind of the ticket forms

# The fields a rule or a sort may name (the spec's TicketDTO names), and their SQL.
_COLUMNS: dict[str, Any] = {
    "id": tickets.c.id,
    "subject": tickets.c.subject,
    "status": tickets.c.status,
    "type": tickets.c.type,
    "priority": tickets.c.priority,
    "severity": tickets.c.severity,
    "clientId": tickets.c.client_id,
    "locationId": tickets.c.location_id,
    "nodeId": tickets.c.node_id,
    "ticketFormId": tickets.c.ticket_form_id,
    "assignedAppUserId": tickets.c.assigned_app_user_id,
    "requesterUid": tickets.c.requester_uid,
    "createTime": tickets.c.created_at,
    "lastUpdated": tickets.c.updated_at,
}
RULE_FIELDS = frozenset(_COLUMNS)
INT_FIELDS = frozenset(
    {"id", "clientId", "locationId", "nodeId", "ticketFormId", "assignedAppUserId"}
)
TIME_FIELDS = frozenset({"createTime", "lastUpdated"})


def _rank(column: Any, order: Mapping[str, int]) -> ColumnElement[int]:
    return case(dict(order), value=column, else_=0)


# Sorting: enums by their rank (a status by its id), nulls as the lowest value, so that both
# databases sort alike (SQLite puts NULL first, PostgreSQL last) and a cursor compares them.
_SORT: dict[str, ColumnElement[Any]] = {
    **{name: column for name, column in _COLUMNS.items()},
    "status": _rank(tickets.c.status, STATUS_IDS),
    "priority": _rank(tickets.c.priority, {p: i + 1 for i, p in enumerate(PRIORITIES)}),
    "severity": _rank(tickets.c.severity, {s: i + 1 for i, s in enumerate(SEVERITIES)}),
    "type": func.coalesce(tickets.c.type, ""),
    "locationId": func.coalesce(tickets.c.location_id, 0),
    "nodeId": func.coalesce(tickets.c.node_id, 0),
    "clientId": func.coalesce(tickets.c.client_id, 0),
    "assignedAppUserId": func.coalesce(tickets.c.assigned_app_user_id, 0),
    "requesterUid": func.coalesce(tickets.c.requester_uid, ""),
}
SORT_FIELDS = frozenset(_SORT)

Operator = Literal["in", "not_in", "present", "not_present", "contains", "gt", "ge", "lt", "le"]


@dataclass(frozen=True)
class TicketRule:
    """One condition on a ticket field, normalized: equality is ``in`` of one value, and an
    enum compared by rank is already the set of names it means."""

    field: str
    operator: Operator
    values: tuple[Any, ...] = ()

    def condition(self) -> ColumnElement[bool]:
        column: ColumnElement[Any] = _COLUMNS[self.field]
        op = self.operator
        if op == "present":
            return column.is_not(None)
        if op == "not_present":
            return column.is_(None)
        if op == "in":
            return column.in_(self.values) if self.values else false()
        if op == "not_in":
            return or_(column.is_(None), column.not_in(self.values)) if self.values else true()
        if op == "contains":
            needle = str(self.values[0]).lower()
            return func.lower(column).contains(needle, autoescape=True)
        value = self.values[0]
        compared: ColumnElement[bool]
        if op == "gt":
            compared = column > value
        elif op == "ge":
            compared = column >= value
        elif op == "lt":
            compared = column < value
        else:
            compared = column <= value
        return compared


@dataclass(frozen=True)
class TicketCondition:
    """A board's or a request's rules: every one of ``all``, and one of ``any`` if given."""

    all: tuple[TicketRule, ...] = ()
    any: tuple[TicketRule, ...] = ()

    def condition(self) -> ColumnElement[bool]:
        parts = [r.condition() for r in self.all]
        if self.any:
            parts.append(or_(*(r.condition() for r in self.any)))
        return and_(true(), *parts)


@dataclass(frozen=True)
class BoardPage:
    """One page of a board's tickets: conditions, sort ((field, descending) pairs; the id
    breaks ties), the cursor (the last ticket id of the previous page) and the page size."""

    conditions: tuple[TicketCondition, ...]
    sort: tuple[tuple[str, bool], ...]
    search: str | None
    cursor: int | None
    limit: int


# -- tickets ----------------------------------------------------------------------------------


def get_ticket(conn: Connection, ticket_id: int, *, for_update: bool = False) -> RowMapping | None:
    stmt = select(tickets).where(tickets.c.id == ticket_id)
    # On PostgreSQL, concurrent updates of one ticket wait here for each other, so that each
    # sees the version the other wrote (SQLite has one writer already).
    return one_row(conn, stmt.with_for_update() if for_update else stmt)


def insert_ticket(conn: Connection, values: Mapping[str, Any]) -> int:
    return new_id(conn.execute(insert(tickets).values(**values)))


def update_ticket(conn: Connection, ticket_id: int, values: Mapping[str, Any]) -> None:
    if values:
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(**values))


def ticket_form_exists(conn: Connection, form_id: int) -> bool:
    stmt = select(catalog_items.c.id).where(
        (catalog_items.c.kind == TICKET_FORM) & (catalog_items.c.item_key == str(form_id))
    )
    return conn.execute(stmt).first() is not None


def enabled_user_ids(conn: Connection, ids: Iterable[int]) -> set[int]:
    """Those of ``ids`` that are users who may be assigned a ticket (not disabled)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    stmt = select(users.c.id).where(users.c.id.in_(wanted) & users.c.disabled_at.is_(None))
    return {int(i) for i in conn.execute(stmt).scalars()}


# -- log entries ------------------------------------------------------------------------------


def insert_log_entry(conn: Connection, values: Mapping[str, Any]) -> int:
    return new_id(conn.execute(insert(ticket_log_entries).values(**values)))


def list_log_entries(
    conn: Connection,
    ticket_id: int,
    *,
    entry_type: str | None,
    since_ms: int | None,
    anchor_id: int | None,
    limit: int,
) -> list[RowMapping]:
    """Newest first; ``anchor_id``: the last id of the previous page (older entries follow)."""
    entries = ticket_log_entries.c
    stmt = select(ticket_log_entries).where(entries.ticket_id == ticket_id)
    if entry_type is not None:
        stmt = stmt.where(entries.type == entry_type)
    if since_ms is not None:
        stmt = stmt.where(entries.created_at >= since_ms)
    if anchor_id is not None:
        stmt = stmt.where(entries.id < anchor_id)
    return all_rows(conn, stmt.order_by(entries.id.desc()).limit(limit))


# -- boards -----------------------------------------------------------------------------------


def list_boards(conn: Connection) -> list[RowMapping]:
    return all_rows(conn, select(ticket_boards).order_by(ticket_boards.c.id))


def get_board(conn: Connection, board_id: int) -> RowMapping | None:
    return one_row(conn, select(ticket_boards).where(ticket_boards.c.id == board_id))


def count_tickets(conn: Connection, conditions: Sequence[TicketCondition]) -> list[int]:
    """How many tickets meet each condition, in one query."""
    if not conditions:
        return []
    counts = [func.coalesce(func.sum(case((c.condition(), 1), else_=0)), 0) for c in conditions]
    row = conn.execute(select(*counts).select_from(tickets)).one()
    return [int(n) for n in row]


def run_board(conn: Connection, page: BoardPage) -> list[RowMapping] | None:
    """The page's tickets in its sort order; None when the cursor names no ticket."""
    order = list(page.sort)
    if not any(name == "id" for name, _ in order):
        order.append(("id", False))
    stmt = select(tickets).where(*(c.condition() for c in page.conditions))
    if page.search:
        needle = page.search.lower()
        matches = func.lower(tickets.c.subject).contains(needle, autoescape=True)
        if needle.isascii() and needle.isdigit() and len(needle) <= 9:
            matches = matches | (tickets.c.id == int(needle))
        stmt = stmt.where(matches)
    if page.cursor is not None:
        exprs = [_SORT[name] for name, _ in order]
        at = conn.execute(select(*exprs).where(tickets.c.id == page.cursor)).first()
        if at is None:
            return None
        stmt = stmt.where(_after(order, list(at)))
    sort_by = [_SORT[name].desc() if desc else _SORT[name].asc() for name, desc in order]
    return all_rows(conn, stmt.order_by(*sort_by).limit(page.limit))


def _after(order: list[tuple[str, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Keyset paging: the rows after ``values`` in ``order`` (which ends on a unique id)."""
    alternatives = []
    for i, (name, desc) in enumerate(order):
        expr = _SORT[name]
        ties = [_SORT[n] == values[j] for j, (n, _) in enumerate(order[:i])]
        alternatives.append(and_(*ties, expr < values[i] if desc else expr > values[i]))
    return or_(*alternatives)


# -- demo data --------------------------------------------------------------------------------

_FORMS = ["Default", "Hardware Request", "New Employee Onboarding"]
_SUBJECTS = [
    "Printer offline at reception",
    "Outlook keeps asking for password",
    "New laptop setup for hire",
    "VPN disconnects every hour",
    "Disk almost full on file server",
    "Cannot open shared drive",
    "Request: second monitor",
    "Slow boot after update",
    "Backup job failed overnight",
    "Phone not syncing email",
    "Certificate expiring on web server",
    "Wi-Fi drops in conference room",
    "Install accounting software",
    "Blue screen after driver update",
    "Password reset for shared mailbox",
]
_COMMENTS = [
    "Called the user; reproducing now.",
    "Waiting on the vendor's answer.",
    "Applied the fix, asked the user to confirm.",
    "Scheduled a visit for tomorrow morning.",
]
_BOARDS: list[tuple[str, str, list[dict[str, str]], list[dict[str, str]]]] = [
    (
        "All open tickets",
        "Every ticket not yet resolved or closed",
        [{"field": "status", "operator": "not_in", "value": "RESOLVED,CLOSED"}],
        [],
    ),
    (
        "My tickets",
        "Open tickets assigned to me",
        [
            {"field": "assignedAppUserId", "operator": "is", "value": "CURRENT_USER"},
            {"field": "status", "operator": "not_in", "value": "RESOLVED,CLOSED"},
        ],
        [],
    ),
    (
        "Unassigned",
        "Open tickets without an assignee",
        [
            {"field": "assignedAppUserId", "operator": "not_present", "value": ""},
            {"field": "status", "operator": "not_in", "value": "RESOLVED,CLOSED"},
        ],
        [],
    ),
    (
        "High priority",
        "High priority or major severity",
        [],
        [
            {"field": "priority", "operator": "is", "value": "HIGH"},
            {"field": "severity", "operator": "in", "value": "MAJOR,CRITICAL"},
        ],
    ),
]
BOARD_COLUMNS = [
    "id",
    "subject",
    "status",
    "priority",
    "severity",
    "type",
    "clientId",
    "nodeId",
    "assignedAppUserId",
    "createTime",
    "lastUpdated",
]
DEMO_TICKETS = 40
_DAY_MS = 86_400_000


def load_demo(
    conn: Connection, rng: random.Random, now: int, fleet: list[tuple[int, dict[str, Any]]]
) -> None:
    """Ticket forms, four boards and ~40 tickets across organizations with their log entries
    (``fleet``: each device's id and row)."""
    now_ms = now * 1000
    conn.execute(
        insert(catalog_items),
        [
            {"kind": TICKET_FORM, "item_key": str(i + 1), "name": name, "data": {"id": i + 1}}
            for i, name in enumerate(_FORMS)
        ],
    )
    conn.execute(
        insert(ticket_boards),
        [
            {
                "name": name,
                "description": description,
                "data": {
                    "uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "conditions": {"all": all_rules, "any": any_rules},
                    "columns": BOARD_COLUMNS,
                    "sortBy": [{"field": "createTime", "direction": "DESC"}],
                    "system": True,
                    "createTime": now_ms - 400 * _DAY_MS,
                    "updateTime": now_ms - 30 * _DAY_MS,
                },
            }
            for name, description, all_rules, any_rules in _BOARDS
        ],
    )
    managed = [(i, row) for i, row in fleet if row["approval_status"] == "APPROVED"]
    for n in range(DEMO_TICKETS):
        device_id, device = managed[rng.randrange(len(managed))]
        on_device = rng.random() < 0.75
        created = now_ms - rng.randint(1, 90) * _DAY_MS - rng.randint(0, _DAY_MS)
        status = rng.choices([s[0] for s in STATUSES], weights=[6, 10, 4, 2, 5, 4])[0]
        updated = created + (rng.randint(1, 5) * 3_600_000 if status != "NEW" else 0)
        assignee = 1 if status != "NEW" and rng.random() < 0.6 else None
        subject = _SUBJECTS[n % len(_SUBJECTS)]
        ticket_id = insert_ticket(
            conn,
            {
                "client_id": device["organization_id"],
                "node_id": device_id if on_device else None,
                "location_id": device["location_id"] if on_device else None,
                "ticket_form_id": 2 if "laptop" in subject or "monitor" in subject else 1,
                "subject": subject,
                "status": status,
                "type": rng.choice(["PROBLEM", "QUESTION", "INCIDENT", "TASK"]),
                "priority": rng.choices(PRIORITIES, weights=[3, 4, 3, 2])[0],
                "severity": rng.choices(SEVERITIES, weights=[5, 3, 2, 1, 1])[0],
                "requester_uid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "assigned_app_user_id": assignee,
                "tags": rng.choice([[], [], ["hardware"], ["email"], ["network", "urgent"]]),
                "cc": {"uids": [], "emails": []},
                "attributes": [],
                "created_at": created,
                "updated_at": updated,
                "data": {"version": 1 if status == "NEW" else 2, "source": "TECHNICIAN"},
            },
        )
        entries = [
            {
                "ticket_id": ticket_id,
                "type": "DESCRIPTION",
                "public": True,
                "body": f"{subject}. Reported by the user.",
                "html_body": f"<p>{subject}. Reported by the user.</p>",
                "created_at": created,
                "data": {"system": False},
            }
        ]
        if status != "NEW":
            entries.append(
                {
                    "ticket_id": ticket_id,
                    "type": "SAVE",
                    "public": False,
                    "body": f"Status changed from New to {status.title()}.",
                    "html_body": None,
                    "created_at": updated,
                    "data": {
                        "system": False,
                        "appUserContactId": 1,
                        "changeDiff": {"status": {"old": "NEW", "new": status}},
                    },
                }
            )
            entries.append(
                {
                    "ticket_id": ticket_id,
                    "type": "COMMENT",
                    "public": rng.random() < 0.5,
                    "body": rng.choice(_COMMENTS),
                    "html_body": None,
                    "created_at": updated + 60_000,
                    "data": {"system": False, "appUserContactId": 1, "timeTracked": 300},
                }
            )
        conn.execute(insert(ticket_log_entries), entries)
