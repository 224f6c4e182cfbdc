"""Approvals, scripts, reboots and remote access: each is stored and recorded as an activity
naming the app and the user behind the token."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import ADMIN_ID, APP_ID, ISSUER, MintToken, bearer
from .endpoints import MAC_DEVICE, OFFLINE_DEVICE, PENDING_DEVICE, WINDOWS_DESKTOP


def newest_activity(client: TestClient, headers: dict[str, str], device: int) -> dict[str, Any]:
    body = client.get(f"/v2/device/{device}/activities?pageSize=10", headers=headers).json()
    newest: dict[str, Any] = body["activities"][0]
    assert newest["id"] == body["lastNodeActivityId"] == body["lastActivityId"]
    return newest


def recorded(activity: dict[str, Any]) -> dict[str, Any]:
    """The parts of an activity a test can predict (not its id or time)."""
    return {k: v for k, v in activity.items() if k not in ("id", "activityTime")}


def test_approving_pending_devices_makes_them_approved(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.post(
        "/v2/devices/approval/APPROVE", json={"devices": [PENDING_DEVICE, 126]}, headers=everything
    )
    assert response.status_code == 204
    for device_id in (PENDING_DEVICE, 126):
        device = client.get(f"/v2/device/{device_id}", headers=everything).json()
        assert device["approvalStatus"] == "APPROVED"
    assert recorded(newest_activity(client, everything, 126)) == {
        "deviceId": 126,
        "severity": "NONE",
        "priority": "NONE",
        "activityType": "SYSTEM",
        "statusCode": "NODE_MANUALLY_APPROVED",
        "status": "Device approved",
        "activityResult": "SUCCESS",
        "userId": ADMIN_ID,
        "message": "Device 126 approved through the API.",
        "data": {"clientId": APP_ID},
    }


def test_a_rejected_device_leaves_every_listing(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.post(
        "/v2/devices/approval/REJECT", json={"devices": [PENDING_DEVICE]}, headers=everything
    )
    assert response.status_code == 204
    assert client.get(f"/v2/device/{PENDING_DEVICE}", headers=everything).status_code == 404
    listed = client.get("/v2/devices?df=org = 2", headers=everything).json()
    assert PENDING_DEVICE not in [d["id"] for d in listed]
    assert len(listed) == 21


def test_approval_is_all_or_nothing(client: TestClient, everything: dict[str, str]) -> None:
    unknown = client.post(
        "/v2/devices/approval/APPROVE", json={"devices": [PENDING_DEVICE, 9999]}, headers=everything
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "error_description": "Devices not found: 9999."}
    settled = client.post(
        "/v2/devices/approval/APPROVE",
        json={"devices": [PENDING_DEVICE, WINDOWS_DESKTOP]},
        headers=everything,
    )
    assert settled.status_code == 400
    assert settled.json()["error_description"] == "devices: not waiting for approval: 5"
    device = client.get(f"/v2/device/{PENDING_DEVICE}", headers=everything).json()
    assert device["approvalStatus"] == "PENDING"


@pytest.mark.parametrize(
    ("path", "body", "description"),
    [
        ("/v2/devices/approval/ACCEPT", {"devices": [1]},
         "mode: Input should be 'APPROVE' or 'REJECT'"),
        ("/v2/devices/approval/APPROVE", {"devices": []},
         "devices: List should have at least 1 item after validation, not 0"),
        ("/v2/devices/approval/APPROVE", None, "body: a JSON body is required"),
    ],
    ids=["unknown mode", "empty list", "no body"],
)  # fmt: skip
def test_a_bad_approval_request_is_a_400_naming_the_field(
    client: TestClient, management: dict[str, str], path: str, body: Any, description: str
) -> None:
    response = client.post(path, json=body, headers=management)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


@pytest.mark.parametrize(
    "body",
    [{"type": "SCRIPT", "id": 2}, {"scriptId": 2}, {"scriptId": 2, "parameters": "-Verbose"}],
    ids=["spec spelling", "ninjapy spelling", "with parameters"],
)
def test_running_a_script_is_recorded_with_the_app_and_user(
    client: TestClient, token: MintToken, body: dict[str, Any]
) -> None:
    headers = bearer(token("monitoring management", user_id=ADMIN_ID))
    response = client.post(f"/v2/device/{WINDOWS_DESKTOP}/script/run", json=body, headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    data = {
        "clientId": APP_ID,
        "scriptId": 2,
        **({"parameters": "-Verbose"} if "parameters" in body else {}),
    }
    assert recorded(newest_activity(client, headers, WINDOWS_DESKTOP)) == {
        "deviceId": WINDOWS_DESKTOP,
        "severity": "NONE",
        "priority": "NONE",
        "activityType": "ACTION",
        "statusCode": "START_REQUESTED",
        "status": "Start requested",
        "activityResult": "SUCCESS",
        "sourceName": "Restart Print Spooler",
        "userId": ADMIN_ID,
        "message": "Script 'Restart Print Spooler' requested on device 5 through the API.",
        "data": data,
    }


@pytest.mark.parametrize(
    ("device", "body", "status", "description"),
    [
        (WINDOWS_DESKTOP, {"scriptId": 99}, 400, "scriptId: no script 99"),
        (WINDOWS_DESKTOP, {"type": "SCRIPT", "id": 10}, 400, "id: script 10 is not active"),
        (WINDOWS_DESKTOP, {"type": "SCRIPT"}, 400, "id (or scriptId) is required"),
        (WINDOWS_DESKTOP, {"type": "ACTION", "uid": "x"}, 400,
         "built-in actions (type ACTION) are not part of this API slice"),
        (PENDING_DEVICE, {"scriptId": 1}, 409, "Device 37 is waiting for approval."),
        # Only what GET .../scripting/options offers the device:
        (WINDOWS_DESKTOP, {"scriptId": 7}, 400, "scriptId: script 7 does not run on Windows"),
        (MAC_DEVICE, {"scriptId": 2}, 400, "scriptId: script 2 does not run on Mac"),
        (11, {"scriptId": 1}, 400, "scriptId: device 11 has no agent to run scripts"),
        (MAC_DEVICE, {"scriptId": 7, "runAs": "DOMAIN_ADMIN"}, 400,
         "runAs: a script runs on Mac as one of SYSTEM, LOGGED_ON_USER"),
    ],
    ids=["unknown script", "inactive script", "no script", "built-in action", "pending device",
         "mac script on windows", "windows script on a mac", "network switch", "run as"],
)  # fmt: skip
def test_a_script_that_cannot_run_is_refused_and_not_recorded(
    client: TestClient,
    everything: dict[str, str],
    device: int,
    body: dict[str, Any],
    status: int,
    description: str,
) -> None:
    before = client.get("/v2/activities?pageSize=10", headers=everything).json()
    response = client.post(f"/v2/device/{device}/script/run", json=body, headers=everything)
    assert response.status_code == status
    assert response.json()["error_description"] == description
    after = client.get("/v2/activities?pageSize=10", headers=everything).json()
    assert after["lastActivityId"] == before["lastActivityId"]


@pytest.mark.parametrize(
    ("mode", "recorded_mode"),
    [("NORMAL", "NORMAL"), ("FORCED", "FORCED"), ("GRACEFUL", "NORMAL"), ("FORCE", "FORCED")],
)
def test_reboot_accepts_the_spec_modes_and_ninjapys_aliases(
    client: TestClient, everything: dict[str, str], mode: str, recorded_mode: str
) -> None:
    response = client.post(f"/v2/device/{MAC_DEVICE}/reboot/{mode}", headers=everything)
    assert response.status_code == 204
    activity = newest_activity(client, everything, MAC_DEVICE)
    assert activity["status"] == f"Reboot ({recorded_mode}) requested"
    assert activity["data"] == {"mode": recorded_mode, "clientId": APP_ID}


def test_a_reboot_reason_is_recorded(client: TestClient, everything: dict[str, str]) -> None:
    client.post(
        f"/v2/device/{MAC_DEVICE}/reboot/NORMAL", json={"reason": "updates"}, headers=everything
    )
    activity = newest_activity(client, everything, MAC_DEVICE)
    assert activity["data"] == {"mode": "NORMAL", "reason": "updates", "clientId": APP_ID}


def test_an_unknown_reboot_mode_is_a_400(client: TestClient, management: dict[str, str]) -> None:
    response = client.post(f"/v2/device/{MAC_DEVICE}/reboot/NOW", headers=management)
    assert response.status_code == 400
    assert response.json()["error_description"] == (
        "mode: Input should be 'NORMAL', 'FORCED', 'GRACEFUL' or 'FORCE'"
    )


def test_remote_access_starts_a_session_with_a_url_and_an_expiry(
    client: TestClient, token: MintToken
) -> None:
    headers = bearer(token("control monitoring"))
    response = client.post(f"/v2/device/{WINDOWS_DESKTOP}/remote-access", headers=headers)
    assert response.status_code == 200
    session = response.json()
    assert set(session) == {"sessionId", "deviceId", "url", "expires"}
    assert session["deviceId"] == WINDOWS_DESKTOP
    assert session["url"] == f"{ISSUER}/remote/{session['sessionId']}"
    activity = newest_activity(client, headers, WINDOWS_DESKTOP)
    assert activity["activityTime"] + 900 == session["expires"]
    assert activity["statusCode"] == "STARTED"
    assert activity["data"] == {
        "sessionId": session["sessionId"],
        "expires": int(session["expires"]),
        "clientId": APP_ID,
    }


@pytest.mark.parametrize(
    ("device", "description"),
    [
        (OFFLINE_DEVICE, "Device 6 is offline."),
        (PENDING_DEVICE, "Device 37 is waiting for approval."),
    ],
    ids=["offline", "pending"],
)
def test_remote_access_to_an_unreachable_device_is_a_conflict(
    client: TestClient, token: MintToken, device: int, description: str
) -> None:
    response = client.post(f"/v2/device/{device}/remote-access", headers=bearer(token("control")))
    assert response.status_code == 409
    assert response.json() == {"error": "conflict", "error_description": description}
