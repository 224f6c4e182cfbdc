"""Ticketing over HTTP: tickets and their log, boards and their runs, on the demo data.

Demo (seeded): 40 tickets, 27 not resolved or closed (17 of those assigned to user 1); ticket 1
"Printer offline at reception", WAITING, version 2, organization 4, device 122, with a
DESCRIPTION, a SAVE and a COMMENT entry; boards 1 "All open tickets", 2 "My tickets",
3 "Unassigned", 4 "High priority"; ticket forms 1-3.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import (
    ADMIN_ID,
    EVERY_SCOPE,
    MintToken,
    PgApi,
    bearer,
    mint,
)
from .endpoints import ENDPOINTS
from .endpoints_ticketing import NEW_TICKET, TICKET_1, create_ticket

OPEN_TICKETS = 27
MINE_OPEN = 17


def _run(
    client: TestClient, headers: dict[str, str], board: int = 1, **body: Any
) -> dict[str, Any]:
    response = client.post(f"/v2/ticketing/trigger/board/{board}/run", json=body, headers=headers)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def _newest_activity(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    activity: dict[str, Any] = client.get("/v2/activities?pageSize=10", headers=headers).json()[
        "activities"
    ][0]
    return activity


def test_a_demo_ticket_reads_as_the_specs_ticket(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    ticket = client.get("/v2/ticketing/ticket/1", headers=monitoring).json()
    assert {k: ticket[k] for k in ("id", "version", "clientId", "nodeId", "subject")} == {
        "id": 1,
        "version": 2,
        "clientId": 4,
        "nodeId": 122,
        "subject": "Printer offline at reception",
    }
    assert ticket["status"] == {"name": "WAITING", "displayName": "Waiting", "statusId": 3000}
    assert ticket["ccList"] == {"uids": [], "emails": []}


def test_a_tickets_log_is_newest_first_and_pages_by_anchor_id(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    entries = client.get("/v2/ticketing/ticket/1/log-entry", headers=monitoring).json()
    assert [(e["id"], e["type"]) for e in entries] == [
        (3, "COMMENT"),
        (2, "SAVE"),
        (1, "DESCRIPTION"),
    ]
    assert entries[1]["changeDiff"] == {"status": {"old": "NEW", "new": "WAITING"}}
    first = client.get("/v2/ticketing/ticket/1/log-entry?pageSize=2", headers=monitoring).json()
    rest = client.get(
        f"/v2/ticketing/ticket/1/log-entry?pageSize=2&anchorId={first[-1]['id']}",
        headers=monitoring,
    ).json()
    assert [e["id"] for e in first + rest] == [3, 2, 1]
    only = client.get("/v2/ticketing/ticket/1/log-entry?type=DESCRIPTION", headers=monitoring)
    assert [e["type"] for e in only.json()] == ["DESCRIPTION"]
    later = client.get(
        f"/v2/ticketing/ticket/1/log-entry?createTime={entries[0]['createTime']}",
        headers=monitoring,
    )
    assert [e["id"] for e in later.json()] == [3]


def test_creating_a_ticket_logs_its_description_and_records_an_activity(
    client: TestClient, everything: dict[str, str]
) -> None:
    created = create_ticket(client, everything)
    assert created["status"]["name"] == "NEW"
    assert (created["version"], created["clientId"], created["nodeId"]) == (1, 1, 5)
    assert created["requesterUid"] == client.get("/v2/users", headers=everything).json()[0]["uid"]
    assert client.get(f"/v2/ticketing/ticket/{created['id']}", headers=everything).json() == created
    entries = client.get(
        f"/v2/ticketing/ticket/{created['id']}/log-entry", headers=everything
    ).json()
    assert [(e["type"], e["body"], e["publicEntry"]) for e in entries] == [
        ("DESCRIPTION", "The left monitor flickers.", True)
    ]
    activity = _newest_activity(client, everything)
    assert (activity["statusCode"], activity["activityType"], activity["deviceId"]) == (
        "NINJA_TICKETING_TICKET_CREATED",
        "NINJA_TICKETING",
        5,
    )
    assert activity["data"]["ticketId"] == created["id"]
    assert activity["userId"] == ADMIN_ID
    assert entries[0]["activityId"] == activity["id"]


def test_a_status_given_by_id_and_the_optional_fields_are_kept(
    client: TestClient, everything: dict[str, str]
) -> None:
    created = create_ticket(
        client,
        everything,
        status="2000",
        tags=["monitor"],
        cc={"emails": ["boss@example.test"]},
        assignedAppUserId=ADMIN_ID,
        additionalAssignedTechnicianIds=[2],
        attributes=[{"attributeId": 3, "value": "27 inch"}],
        parentTicketId=1,
    )
    assert created["status"]["name"] == "OPEN"
    assert created["tags"] == ["monitor"]
    assert created["ccList"] == {"uids": [], "emails": ["boss@example.test"]}
    assert (created["assignedAppUserId"], created["additionalAssignedTechnicianIds"]) == (1, [2])
    assert created["attributeValues"] == [{"attributeId": 3, "value": "27 inch"}]
    assert created["parentTicketId"] == 1


def test_an_update_changes_the_ticket_logs_the_diff_and_records_an_activity(
    client: TestClient, everything: dict[str, str]
) -> None:
    body = {**TICKET_1, "assignedAppUserId": 2}
    response = client.put("/v2/ticketing/ticket/1", json=body, headers=everything)
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert (ticket["version"], ticket["status"]["name"], ticket["priority"]) == (3, "OPEN", "LOW")
    assert ticket["nodeId"] == 122  # left out: kept
    assert client.get("/v2/ticketing/ticket/1", headers=everything).json() == ticket
    newest = client.get("/v2/ticketing/ticket/1/log-entry", headers=everything).json()[0]
    assert newest["type"] == "SAVE"
    assert newest["body"] == (
        "Status changed from Waiting to Open. Assignee changed from 1 to 2. "
        "Priority changed from HIGH to LOW."
    )
    assert newest["changeDiff"]["status"] == {"old": "WAITING", "new": "OPEN"}
    assert newest["changeDiff"]["assignedAppUserId"] == {"old": 1, "new": 2}
    assert set(newest["changeDiff"]) == {"status", "assignedAppUserId", "priority"}
    activity = _newest_activity(client, everything)
    assert activity["statusCode"] == "NINJA_TICKETING_UPDATED"
    assert activity["data"] == {
        "ticketId": 1,
        "changed": ["assignedAppUserId", "priority", "status"],
        "clientId": "test-integration",
    }
    assert newest["activityId"] == activity["id"]


def test_an_update_with_an_old_version_is_refused_and_changes_nothing(
    client: TestClient, everything: dict[str, str]
) -> None:
    assert (
        client.put("/v2/ticketing/ticket/1", json=TICKET_1, headers=everything).status_code == 200
    )
    again = client.put(
        "/v2/ticketing/ticket/1", json={**TICKET_1, "status": "CLOSED"}, headers=everything
    )
    assert again.status_code == 409
    assert again.json() == {
        "error": "conflict",
        "error_description": "Ticket 1 is at version 3, not 2: read it again and retry.",
    }
    assert (
        client.get("/v2/ticketing/ticket/1", headers=everything).json()["status"]["name"] == "OPEN"
    )


def test_an_update_that_changes_nothing_adds_no_log_entry(
    client: TestClient, everything: dict[str, str]
) -> None:
    same = {**TICKET_1, "status": "WAITING", "priority": "HIGH"}
    ticket = client.put("/v2/ticketing/ticket/1", json=same, headers=everything).json()
    assert ticket["version"] == 2
    entries = client.get("/v2/ticketing/ticket/1/log-entry", headers=everything).json()
    assert len(entries) == 3


@pytest.mark.parametrize(
    ("changes", "description"),
    [
        ({"clientId": 999}, "clientId: no organization 999"),
        ({"locationId": 4}, "locationId: location 4 is not in organization 1"),
        ({"nodeId": 37}, "nodeId: device 37 is not in organization 1"),
        ({"ticketFormId": 9}, "ticketFormId: no ticket form 9"),
        ({"assignedAppUserId": 77}, "assignedAppUserId: no technician 77"),
        ({"additionalAssignedTechnicianIds": [1, 88]}, "additionalAssignedTechnicianIds: no technician 88"),
        ({"parentTicketId": 4444}, "parentTicketId: no other ticket 4444"),
        ({"status": "DONE"}, "status: unknown status 'DONE'; known: NEW (1000), OPEN (2000), "
         "WAITING (3000), PAUSED (4000), RESOLVED (5000), CLOSED (6000)"),
        ({"subject": "x" * 201}, "subject: String should have at most 200 characters"),
        ({"requesterUid": "someone"}, "requesterUid: Input should be a valid UUID, invalid "
         "character: found `s` at 0"),
    ],
    ids=["client", "location", "node", "form", "assignee", "technicians", "parent", "status",
         "subject", "requester"],
)  # fmt: skip
def test_a_bad_reference_or_value_is_a_400_naming_the_field_and_writes_nothing(
    client: TestClient, everything: dict[str, str], changes: dict[str, Any], description: str
) -> None:
    response = client.post(
        "/v2/ticketing/ticket", json={**NEW_TICKET, **changes}, headers=everything
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert client.get("/v2/ticketing/ticket/41", headers=everything).status_code == 404


def test_an_update_checks_references_against_the_merged_ticket(
    client: TestClient, everything: dict[str, str]
) -> None:
    # Ticket 1's location (12) and device (122) are in organization 4: moving only the
    # organization is refused.
    response = client.put(
        "/v2/ticketing/ticket/1", json={**TICKET_1, "clientId": 1}, headers=everything
    )
    assert response.json()["error_description"] == (
        "locationId: location 12 is not in organization 1"
    )
    response = client.put(
        "/v2/ticketing/ticket/1",
        json={**TICKET_1, "clientId": 1, "locationId": None},
        headers=everything,
    )
    assert response.json()["error_description"] == "nodeId: device 122 is not in organization 1"
    moved = client.put(
        "/v2/ticketing/ticket/1",
        json={**TICKET_1, "clientId": 1, "nodeId": None, "locationId": None},
        headers=everything,
    )
    assert moved.status_code == 200
    assert (moved.json()["clientId"], moved.json().get("nodeId")) == (1, None)


def test_boards_count_the_tickets_they_show(
    client: TestClient, everything: dict[str, str], token: MintToken
) -> None:
    boards = client.get("/v2/ticketing/trigger/boards", headers=everything).json()
    assert [(b["id"], b["name"]) for b in boards] == [
        (1, "All open tickets"),
        (2, "My tickets"),
        (3, "Unassigned"),
        (4, "High priority"),
    ]
    counts = {b["id"]: b["ticketCount"] for b in boards}
    assert (counts[1], counts[2]) == (OPEN_TICKETS, MINE_OPEN)
    assert counts[3] == OPEN_TICKETS - MINE_OPEN
    for board_id, count in counts.items():
        assert len(_run(client, everything, board_id, pageSize=1000)["data"]) == count
    # An app acting alone (client credentials) has no tickets of its own.
    app_only = bearer(token("monitoring"))
    mine = client.get("/v2/ticketing/trigger/boards", headers=app_only).json()[1]
    assert mine["ticketCount"] == 0
    assert _run(client, app_only, 2)["data"] == []


def test_a_board_run_sorts_pages_by_cursor_and_filters(
    client: TestClient, everything: dict[str, str]
) -> None:
    whole = _run(client, everything, pageSize=1000)
    assert whole["metadata"]["sortBy"] == [{"field": "createTime", "direction": "DESC"}]
    times = [t["createTime"] for t in whole["data"]]
    assert times == sorted(times, reverse=True)
    assert {t["status"]["name"] for t in whole["data"]} <= {"NEW", "OPEN", "WAITING", "PAUSED"}
    by_priority = {"sortBy": [{"field": "priority", "direction": "DESC"}], "pageSize": 7}
    seen: list[int] = []
    page = _run(client, everything, **by_priority)
    while page["data"]:
        seen += [t["id"] for t in page["data"]]
        page = _run(client, everything, **by_priority, lastCursorId=seen[-1])
    assert len(seen) == len(set(seen)) == OPEN_TICKETS
    ranks = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}
    everything_sorted = _run(client, everything, pageSize=1000, **{"sortBy": by_priority["sortBy"]})
    expected = [t["id"] for t in everything_sorted["data"]]
    assert seen == expected
    assert [ranks[t["priority"]] for t in everything_sorted["data"]] == sorted(
        (ranks[t["priority"]] for t in everything_sorted["data"]), reverse=True
    )
    high = _run(
        client,
        everything,
        pageSize=1000,
        filters=[{"field": "priority", "operator": "greater_or_equal_than", "value": "MEDIUM"}],
    )
    assert high["data"] and {t["priority"] for t in high["data"]} <= {"MEDIUM", "HIGH"}
    assert high["metadata"]["filters"] == [
        {"field": "priority", "operator": "greater_or_equal_than", "value": "MEDIUM"}
    ]


def test_a_board_run_searches_subjects_and_adds_columns(
    client: TestClient, everything: dict[str, str]
) -> None:
    found = _run(client, everything, 1, searchCriteria="PRINTER", includeColumns=["requesterUid"])
    assert found["data"]
    assert all("printer" in t["subject"].lower() for t in found["data"])
    assert "requesterUid" in found["metadata"]["columns"]
    assert all("requesterUid" in t for t in found["data"])
    assert set(found["data"][0]) <= set(found["metadata"]["columns"])
    by_id = _run(client, everything, 1, searchCriteria="1", pageSize=1000)["data"]
    assert 1 in [t["id"] for t in by_id]
    assert _run(client, everything, 1, searchCriteria="\u00b2")["data"] == []


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"sortBy": [{"field": "color"}]}, "sortBy.0.field: cannot sort by 'color'; sortable: "
         "assignedAppUserId, clientId, createTime, id, lastUpdated, locationId, nodeId, "
         "priority, requesterUid, severity, status, subject, ticketFormId, type"),
        ({"filters": [{"field": "status", "operator": "resembles", "value": "OPEN"}]},
         "filters.0.operator: unknown operator 'resembles'; known: is, equals, eq, in, is_not, "
         "not_equals, neq, not_in, present, not_present, contains, greater_than, "
         "greater_or_equal_than, less_than, less_or_equal_than"),
        ({"filters": [{"field": "status", "operator": "is", "value": "DONE"}]},
         "filters.0.value: unknown status 'DONE'; known: NEW, OPEN, WAITING, PAUSED, RESOLVED, "
         "CLOSED"),
        ({"filters": [{"field": "nodeId", "operator": "is", "value": "five"}]},
         "filters.0.value: expected a nodeId, not 'five'"),
        ({"includeColumns": ["colour"]}, "includeColumns: unknown column 'colour'; known: id, "
         "version, subject, status, type, priority, severity, clientId, locationId, nodeId, "
         "ticketFormId, assignedAppUserId, additionalAssignedTechnicianIds, requesterUid, "
         "source, tags, ccList, attributeValues, parentTicketId, createTime, lastUpdated"),
        ({"lastCursorId": 4444}, "lastCursorId: no ticket 4444"),
        # A digit that is not ASCII is no number.
        ({"filters": [{"field": "status", "operator": "less_than", "value": "\u00b2"}]},
         "filters.0.value: unknown status '\u00b2'; known: NEW, OPEN, WAITING, PAUSED, "
         "RESOLVED, CLOSED"),
    ],
    ids=["sort", "operator", "status", "integer", "column", "cursor", "superscript"],
)  # fmt: skip
def test_a_bad_board_run_is_a_400_naming_the_field(
    client: TestClient, monitoring: dict[str, str], body: dict[str, Any], description: str
) -> None:
    response = client.post("/v2/ticketing/trigger/board/1/run", json=body, headers=monitoring)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_a_board_run_without_a_body_uses_the_boards_defaults(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    response = client.post("/v2/ticketing/trigger/board/3/run", headers=monitoring)
    assert response.status_code == 200
    assert len(response.json()["data"]) == OPEN_TICKETS - MINE_OPEN
    assert all("assignedAppUserId" not in t for t in response.json()["data"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/ticketing/ticket/4444"),
        ("PUT", "/v2/ticketing/ticket/4444"),
        ("GET", "/v2/ticketing/ticket/4444/log-entry"),
    ],
)
def test_an_unknown_ticket_is_a_404(
    client: TestClient, everything: dict[str, str], method: str, path: str
) -> None:
    response = client.request(method, path, json=TICKET_1, headers=everything)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": "Ticket 4444 not found."}


# -- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(pg_api: PgApi) -> tuple[TestClient, dict[str, str]]:
    """As the admin: a ticket's writes name their technician."""
    return pg_api.client, bearer(mint(pg_api.store, EVERY_SCOPE, user_id=ADMIN_ID))


def test_boards_and_their_keyset_pages_agree_on_postgresql(
    pg: tuple[TestClient, dict[str, str]],
) -> None:
    client, headers = pg
    counts = [
        b["ticketCount"] for b in client.get("/v2/ticketing/trigger/boards", headers=headers).json()
    ]
    assert counts[:3] == [OPEN_TICKETS, MINE_OPEN, OPEN_TICKETS - MINE_OPEN]
    # Sorting on a column with nulls (the assignee) pages alike on both databases.
    order = {"sortBy": [{"field": "assignedAppUserId", "direction": "ASC"}], "pageSize": 5}
    seen: list[int] = []
    page = _run(client, headers, **order)
    while page["data"]:
        seen += [t["id"] for t in page["data"]]
        page = _run(client, headers, **order, lastCursorId=seen[-1])
    assert len(seen) == len(set(seen)) == OPEN_TICKETS
    assert [
        t.get("assignedAppUserId")
        for t in _run(client, headers, **{**order, "pageSize": 1000})["data"]
    ][:1] == [None]


def test_ticket_writes_on_postgresql(pg: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = pg
    created = create_ticket(client, headers, subject="Café au lait 100% _spilled_")
    found = _run(client, headers, 1, searchCriteria="100% _spil", pageSize=1000)["data"]
    assert [t["id"] for t in found] == [created["id"]]
    update = {
        "version": 1,
        "clientId": 1,
        "ticketFormId": 1,
        "subject": "Cleaned",
        "status": "RESOLVED",
    }
    assert (
        client.put(
            f"/v2/ticketing/ticket/{created['id']}", json=update, headers=headers
        ).status_code
        == 200
    )
    stale = client.put(f"/v2/ticketing/ticket/{created['id']}", json=update, headers=headers)
    assert stale.status_code == 409
    types = [
        e["type"]
        for e in client.get(
            f"/v2/ticketing/ticket/{created['id']}/log-entry", headers=headers
        ).json()
    ]
    assert types == ["SAVE", "DESCRIPTION"]


def test_every_ticketing_operation_is_in_the_shared_table() -> None:
    spec_paths = {(e.method, e.spec_path) for e in ENDPOINTS}
    assert {
        ("POST", "/v2/ticketing/ticket"),
        ("GET", "/v2/ticketing/ticket/{ticketId}"),
        ("PUT", "/v2/ticketing/ticket/{ticketId}"),
        ("GET", "/v2/ticketing/ticket/{ticketId}/log-entry"),
        ("GET", "/v2/ticketing/trigger/boards"),
        ("POST", "/v2/ticketing/trigger/board/{boardId}/run"),
    } <= spec_paths
