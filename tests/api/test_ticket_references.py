"""A ticket update checks the references it changes, not those it keeps
(``_check_references`` in api/writes/ticketing.py): a device moved or rejected since, or a
technician disabled since, does not block a status change, even when a read-modify-write client
sends the unchanged ids back; changing to such a reference is still refused."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.administration import SqlAdministration

from .conftest import NOW
from .endpoints import PENDING_DEVICE, WINDOWS_DESKTOP
from .endpoints_ticketing import create_ticket

TECHNICIAN = 2  # tech@example.test (tests/api/conftest.py)


def _put(
    client: TestClient, headers: dict[str, str], ticket: dict[str, Any], **changes: Any
) -> Any:
    """PUT the ticket's required fields at its version, with ``changes``."""
    body = {
        "version": ticket["version"],
        "clientId": ticket["clientId"],
        "ticketFormId": ticket["ticketFormId"],
        "subject": ticket["subject"],
        "status": ticket["status"]["name"],
        **changes,
    }
    return client.put(f"/v2/ticketing/ticket/{ticket['id']}", json=body, headers=headers)


def _move_to_another_organization(
    client: TestClient, headers: dict[str, str], device_id: int
) -> int:
    org = client.get(f"/v2/device/{device_id}", headers=headers).json()["organizationId"]
    other = next(o["id"] for o in client.get("/v2/organizations", headers=headers).json()
                 if o["id"] != org)  # fmt: skip
    location = client.get(f"/v2/organization/{other}/locations", headers=headers).json()[0]["id"]
    moved = client.patch(
        f"/v2/device/{device_id}",
        json={"organizationId": other, "locationId": location},
        headers=headers,
    )
    assert moved.status_code == 204, moved.text
    return other


def _reject(client: TestClient, headers: dict[str, str], device_id: int) -> None:
    rejected = client.post(
        "/v2/devices/approval/REJECT", json={"devices": [device_id]}, headers=headers
    )
    assert rejected.status_code == 204, rejected.text


@pytest.mark.parametrize(
    ("device_id", "since", "refusal"),
    [
        (WINDOWS_DESKTOP, "moved", f"nodeId: device {WINDOWS_DESKTOP} is not in organization 1"),
        (PENDING_DEVICE, "rejected", f"nodeId: no device {PENDING_DEVICE}"),
    ],
    ids=["moved", "rejected"],
)
def test_a_ticket_whose_device_changed_since_can_still_be_updated(
    client: TestClient,
    everything: dict[str, str],
    device_id: int,
    since: str,
    refusal: str,
) -> None:
    device = client.get(f"/v2/device/{device_id}", headers=everything).json()
    ticket = create_ticket(
        client,
        everything,
        clientId=device["organizationId"],
        locationId=device["locationId"],
        nodeId=device_id,
    )
    if since == "moved":
        _move_to_another_organization(client, everything, device_id)
    else:
        _reject(client, everything, device_id)
    closed = _put(client, everything, ticket, status="CLOSED")
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"]["name"], closed.json()["nodeId"]) == ("CLOSED", device_id)
    # A read-modify-write client sends the ids back as it read them: still not a change.
    again = _put(
        client,
        everything,
        closed.json(),
        nodeId=device_id,
        locationId=device["locationId"],
        priority="HIGH",
    )
    assert again.status_code == 200, again.text
    # Naming the device on a ticket that did not have it is checked.
    other = create_ticket(
        client,
        everything,
        clientId=device["organizationId"],
        locationId=device["locationId"],
        nodeId=None,
    )
    refused = _put(client, everything, other, nodeId=device_id)
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_request", "error_description": refusal}


def test_a_disabled_technician_sent_back_unchanged_does_not_block_an_update(
    client: TestClient, everything: dict[str, str], store: Store
) -> None:
    ticket = create_ticket(
        client,
        everything,
        assignedAppUserId=TECHNICIAN,
        additionalAssignedTechnicianIds=[TECHNICIAN],
    )
    assert SqlAdministration(store).set_user(TECHNICIAN, disabled_at=NOW)
    kept = _put(
        client,
        everything,
        ticket,
        status="OPEN",
        assignedAppUserId=TECHNICIAN,
        additionalAssignedTechnicianIds=[TECHNICIAN],
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["status"]["name"], kept.json()["assignedAppUserId"]) == (
        "OPEN",
        TECHNICIAN,
    )
    # Only the technicians an update adds are checked, and named when refused.
    added = _put(client, everything, kept.json(), additionalAssignedTechnicianIds=[TECHNICIAN, 77])
    assert added.json() == {
        "error": "invalid_request",
        "error_description": "additionalAssignedTechnicianIds: no technician 77",
    }
    # Assigning the disabled technician to a ticket that was not theirs is refused.
    other = create_ticket(client, everything, assignedAppUserId=1)
    refused = _put(client, everything, other, assignedAppUserId=TECHNICIAN)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "invalid_request",
        "error_description": f"assignedAppUserId: no technician {TECHNICIAN}",
    }
