"""The ticketing endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first.

Demo rows (seeded): ticket 1 "Printer offline at reception", WAITING, HIGH, version 2, organization 4,
device 122 (location 12); ticket forms 1-3; boards 1 "All open tickets", 2 "My tickets", 3 "Unassigned",
4 "High priority".
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .endpoints import INT_ERROR, WINDOWS_DESKTOP, Endpoint

NEW_TICKET = {
    "clientId": 1,
    "ticketFormId": 1,
    "locationId": 2,
    "nodeId": WINDOWS_DESKTOP,
    "subject": "Monitor flickers",
    "description": {"public": True, "body": "The left monitor flickers."},
    "type": "PROBLEM",
    "priority": "MEDIUM",
}
TICKET_1 = {
    "version": 2,
    "clientId": 4,
    "ticketFormId": 1,
    "subject": "Printer offline at reception",
    "status": "OPEN",
    "priority": "LOW",
}
NO_TICKET = "Ticket 9999 not found."

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "POST", "/v2/ticketing/ticket", "/v2/ticketing/ticket", "management", 200,
        body=NEW_TICKET,
        bad=("/v2/ticketing/ticket", {**NEW_TICKET, "nodeId": 9999}, "nodeId: no device 9999"),
    ),
    Endpoint(
        "GET", "/v2/ticketing/ticket/1", "/v2/ticketing/ticket/{ticketId}", "monitoring", 200,
        unknown=("/v2/ticketing/ticket/9999", NO_TICKET),
        bad=("/v2/ticketing/ticket/one", None, f"ticketId: {INT_ERROR}"),
    ),
    Endpoint(
        "PUT", "/v2/ticketing/ticket/1", "/v2/ticketing/ticket/{ticketId}", "management", 200,
        body=TICKET_1, unknown=("/v2/ticketing/ticket/9999", NO_TICKET),
        bad=("/v2/ticketing/ticket/1", {**TICKET_1, "priority": "URGENT"},
             "priority: Input should be 'NONE', 'LOW', 'MEDIUM' or 'HIGH'"),
    ),
    Endpoint(
        "GET", "/v2/ticketing/ticket/1/log-entry", "/v2/ticketing/ticket/{ticketId}/log-entry",
        "monitoring", 200, unknown=("/v2/ticketing/ticket/9999/log-entry", NO_TICKET),
        bad=("/v2/ticketing/ticket/1/log-entry?type=NOTE", None,
             "type: Input should be 'DESCRIPTION', 'COMMENT', 'CONDITION', 'SAVE', 'DELETE' "
             "or 'PRODUCT'"),
    ),
    # No parameter, no body.
    Endpoint(
        "GET", "/v2/ticketing/trigger/boards", "/v2/ticketing/trigger/boards", "monitoring", 200
    ),
    Endpoint(
        "POST", "/v2/ticketing/trigger/board/1/run", "/v2/ticketing/trigger/board/{boardId}/run",
        "monitoring", 200, body={"pageSize": 10},
        unknown=("/v2/ticketing/trigger/board/999/run", "Board 999 not found."),
        bad=("/v2/ticketing/trigger/board/1/run", {"pageSize": 0},
             "pageSize: Input should be greater than or equal to 1"),
    ),
]  # fmt: skip


def create_ticket(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    """POST a new ticket (NEW_TICKET with ``changes``) that must be created; its body."""
    response = client.post("/v2/ticketing/ticket", json={**NEW_TICKET, **changes}, headers=headers)
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket
