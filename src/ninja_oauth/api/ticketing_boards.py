"""The rules of ticketing boards and of a board's run: the spec's ``Rule`` ({field, operator,
value}) and ``SortBy`` checked and normalized for the store (``store/public_api/ticketing.py``).

A rule names a TicketDTO field. Operators, case-insensitive: ``is``/``equals``,
``is_not``/``not_equals``, ``in``/``not_in`` (values separated by commas), ``present``/
``not_present``, ``contains`` (text), and ``greater_than``, ``greater_or_equal_than``,
``less_than``, ``less_or_equal_than``. A status is named or given by id (OPEN or 2000); statuses,
priorities and severities compare by rank (``status less_than 5000``: not yet resolved).
``assignedAppUserId is CURRENT_USER`` is the caller's user (none for an app acting alone).
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping
from typing import Any

from ninja_oauth.api import schemas_ticketing as s
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.errors import BadRequest, invalid_field
from ninja_oauth.api.filters import parse_day
from ninja_oauth.store.public_api import ticketing as ticket_sql
from ninja_oauth.store.public_api.ticketing import BoardPage, Operator, TicketCondition, TicketRule

DEFAULT_PAGE_SIZE = 50
ALL_COLUMNS = [
    "id",
    "version",
    "subject",
    "status",
    "type",
    "priority",
    "severity",
    "clientId",
    "locationId",
    "nodeId",
    "ticketFormId",
    "assignedAppUserId",
    "additionalAssignedTechnicianIds",
    "requesterUid",
    "source",
    "tags",
    "ccList",
    "attributeValues",
    "parentTicketId",
    "createTime",
    "lastUpdated",
]
_OPERATORS: dict[str, Operator] = {
    "is": "in",
    "equals": "in",
    "eq": "in",
    "in": "in",
    "is_not": "not_in",
    "not_equals": "not_in",
    "neq": "not_in",
    "not_in": "not_in",
    "present": "present",
    "not_present": "not_present",
    "contains": "contains",
    "greater_than": "gt",
    "greater_or_equal_than": "ge",
    "less_than": "lt",
    "less_or_equal_than": "le",
}
_RANKED: dict[str, list[str]] = {
    "status": [name for name, _d, _i in ticket_sql.STATUSES],
    "priority": ticket_sql.PRIORITIES,
    "severity": ticket_sql.SEVERITIES,
    "type": ["PROBLEM", "QUESTION", "INCIDENT", "TASK"],
}
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    "gt": op.gt,
    "ge": op.ge,
    "lt": op.lt,
    "le": op.le,
}
_TEXT = frozenset({"subject", "requesterUid"})
_CURRENT_USER = ("CURRENT_USER", "ME")


def _enum_value(field: str, raw: str, where: str) -> str:
    value = raw.strip().upper()
    if field == "status":
        value = {str(i): n for n, _d, i in ticket_sql.STATUSES}.get(value, value)
    if value not in _RANKED[field]:
        raise invalid_field(
            f"{where}.value", f"unknown {field} {raw!r}; known: {', '.join(_RANKED[field])}"
        )
    return value


def _rank_of(field: str, raw: str, where: str) -> int:
    text = raw.strip()
    if field == "status" and text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    name = _enum_value(field, raw, where)
    if field == "status":
        return ticket_sql.STATUS_IDS[name]
    return _RANKED[field].index(name)


def _scalar(field: str, raw: str, where: str, user_id: int | None) -> Any:
    text = raw.strip()
    if field in ticket_sql.INT_FIELDS:
        if field == "assignedAppUserId" and text.upper() in _CURRENT_USER:
            return user_id if user_id is not None else 0  # no user has id 0: nothing matches
        if not (text.isascii() and text.isdigit()) or int(text) > INT32_MAX:
            raise invalid_field(f"{where}.value", f"expected a {field}, not {raw!r}")
        return int(text)
    if field in ticket_sql.TIME_FIELDS:
        seconds = parse_day(f"{where}.value", text)
        if seconds is None:
            raise invalid_field(f"{where}.value", "expected a time")
        return seconds * 1000
    if field in _RANKED:
        return _enum_value(field, text, where)
    return raw


def rule(raw: Mapping[str, Any], where: str, user_id: int | None) -> TicketRule:
    """``{"field", "operator", "value"}`` as a store rule; a 400 naming the part at fault."""
    field = str(raw.get("field") or "")
    if field not in ticket_sql.RULE_FIELDS:
        known = ", ".join(sorted(ticket_sql.RULE_FIELDS))
        raise invalid_field(f"{where}.field", f"unknown field {field!r}; known: {known}")
    name = str(raw.get("operator") or "").strip().lower()
    kind = _OPERATORS.get(name)
    if kind is None:
        raise invalid_field(
            f"{where}.operator", f"unknown operator {name!r}; known: {', '.join(_OPERATORS)}"
        )
    if kind in ("present", "not_present"):
        return TicketRule(field, kind)
    value = raw.get("value")
    if value is None or not str(value).strip():
        raise invalid_field(f"{where}.value", f"operator {name} needs a value")
    value = str(value)
    if kind == "contains":
        if field not in _TEXT:
            raise invalid_field(f"{where}.operator", f"contains applies to subject, not {field}")
        return TicketRule(field, kind, (value,))
    if kind in ("in", "not_in"):
        parts = value.split(",") if name in ("in", "not_in") else [value]
        return TicketRule(field, kind, tuple(_scalar(field, p, where, user_id) for p in parts))
    if field in _RANKED:
        # An enum by rank: the names it means (status less_than 5000 → NEW ... PAUSED).
        bound = _rank_of(field, value, where)
        ranks = {
            n: (ticket_sql.STATUS_IDS[n] if field == "status" else i)
            for i, n in enumerate(_RANKED[field])
        }
        compare = _COMPARE[kind]
        return TicketRule(field, "in", tuple(n for n, r in ranks.items() if compare(r, bound)))
    if field in _TEXT:
        raise invalid_field(f"{where}.operator", f"{name} does not apply to {field}")
    return TicketRule(field, kind, (_scalar(field, value, where, user_id),))


def board_condition(conditions: Mapping[str, Any], user_id: int | None) -> TicketCondition:
    """A stored board's conditions ({"all": [...], "any": [...]})."""
    return TicketCondition(
        all=tuple(rule(r, "conditions.all", user_id) for r in conditions.get("all") or []),
        any=tuple(rule(r, "conditions.any", user_id) for r in conditions.get("any") or []),
    )


def board_page(
    board: Mapping[str, Any], request: s.TicketBoardScrollingRequestDTO, user_id: int | None
) -> tuple[BoardPage, list[dict[str, str]], list[dict[str, Any]]]:
    """The store's page of a board's run, with the sort and filters as the metadata shows
    them."""
    filters = [f.model_dump(exclude_none=True) for f in request.filters or []]
    extra = TicketCondition(
        all=tuple(rule(f, f"filters.{i}", user_id) for i, f in enumerate(filters))
    )
    sort = (
        [o.model_dump() for o in request.sort_by]
        if request.sort_by
        else [dict(o) for o in board.get("sortBy") or []]
    )
    for i, order in enumerate(sort):
        if order.get("field") not in ticket_sql.SORT_FIELDS:
            known = ", ".join(sorted(ticket_sql.SORT_FIELDS))
            raise invalid_field(
                f"sortBy.{i}.field", f"cannot sort by {order.get('field')!r}; sortable: {known}"
            )
    page = BoardPage(
        conditions=(board_condition(board["conditions"], user_id), extra),
        sort=tuple((o["field"], o.get("direction") == "DESC") for o in sort),
        search=request.search_criteria or None,
        cursor=request.last_cursor_id,
        limit=request.page_size or DEFAULT_PAGE_SIZE,
    )
    return page, sort, filters


def columns_of(board: Mapping[str, Any], request: s.TicketBoardScrollingRequestDTO) -> list[str]:
    """The board's columns and those the request adds, id first."""
    for name in request.include_columns or []:
        if name not in ALL_COLUMNS:
            raise BadRequest(
                f"includeColumns: unknown column {name!r}; known: {', '.join(ALL_COLUMNS)}"
            )
    wanted = ["id", *board.get("columns", []), *(request.include_columns or [])]
    return list(dict.fromkeys(wanted))


def dashboard_row(ticket: Mapping[str, Any], updated_ms: int, columns: list[str]) -> dict[str, Any]:
    """One ticket as a board's row: its values of ``columns`` (absent ones left out)."""
    values = {**ticket, "lastUpdated": updated_ms / 1000}
    return {c: values[c] for c in columns if values.get(c) is not None}
