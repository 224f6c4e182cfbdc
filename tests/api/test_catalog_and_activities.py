"""Policies, device roles, scripts, users, and the activity log's paging and filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import APP_ID


def test_policies_roles_and_scripts_are_listed_in_id_order(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    policies = client.get("/v2/policies", headers=monitoring).json()
    roles = client.get("/v2/roles", headers=monitoring).json()
    scripts = client.get("/v2/automation/scripts?lang=de", headers=monitoring).json()
    assert [len(policies), len(roles), len(scripts)] == [17, 17, 10]
    assert policies[1] == {
        "id": 2,
        "parentPolicyId": 1,
        "name": "Windows Workstations - Locked Down",
        "description": "Windows Workstations - Locked Down policy",
        "nodeClass": "WINDOWS_WORKSTATION",
        "updated": policies[1]["updated"],
        "nodeClassDefault": False,
        "tags": [],
    }
    assert roles[15] == {
        "id": 16,
        "name": "Domain Controller",
        "nodeClass": "WINDOWS_SERVER",
        "custom": True,
        "chassisType": "UNKNOWN",
        "created": roles[15]["created"],
        "nodeRoleParentId": 3,
        "icon": "server",
    }
    assert [s["name"] for s in scripts if not s["active"]] == ["Legacy Inventory (VBScript)"]


def test_users_are_ninja_oauths_own_without_password_hashes(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    response = client.get("/v2/users?includeRoles=true", headers=monitoring)
    assert response.status_code == 200
    assert "argon2" not in response.text
    users = response.json()
    assert [(u["id"], u["email"], u["administrator"], u["roles"]) for u in users] == [
        (1, "admin@example.test", True, ["Administrator"]),
        (2, "tech@example.test", False, ["Technician"]),
    ]
    assert {u["userType"] for u in users} == {"TECHNICIAN"}
    assert client.get("/v2/users?userType=END_USER", headers=monitoring).json() == []
    assert "roles" not in client.get("/v2/users", headers=monitoring).json()[0]


def test_activities_come_newest_first_and_page_with_older_than(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    first = client.get("/v2/activities?pageSize=10", headers=monitoring).json()
    ids = [a["id"] for a in first["activities"]]
    assert first["lastActivityId"] == ids[0] == 873
    assert ids == list(range(873, 863, -1))
    older = client.get(f"/v2/activities?pageSize=10&olderThan={ids[-1]}", headers=monitoring)
    assert [a["id"] for a in older.json()["activities"]] == list(range(863, 853, -1))
    newer = client.get("/v2/activities?pageSize=10&newerThan=853", headers=monitoring).json()
    assert [a["id"] for a in newer["activities"]] == list(range(863, 853, -1))
    times = [a["activityTime"] for a in first["activities"]]
    assert times == sorted(times, reverse=True)


def test_activities_filter_by_class_type_status_and_device_filter(
    client: TestClient, monitoring: dict[str, str], management: dict[str, str]
) -> None:
    client.post("/v2/organizations", json={"name": "Quartz"}, headers=management)
    system = client.get("/v2/activities?class=SYSTEM", headers=monitoring).json()["activities"]
    assert [(a["statusCode"], a["data"]) for a in system] == [
        ("CLIENT_CREATED", {"organizationId": 13, "clientId": APP_ID})
    ]
    reboots = client.get(
        "/v2/activities?pageSize=1000&type=SYSTEM&status=SYSTEM_REBOOTED&df=org = 1",
        headers=monitoring,
    ).json()["activities"]
    assert reboots
    assert {a["statusCode"] for a in reboots} == {"SYSTEM_REBOOTED"}
    org_one = {d["id"] for d in client.get("/v2/devices?df=org = 1", headers=monitoring).json()}
    assert {a["deviceId"] for a in reboots} <= org_one


def test_activities_filter_by_date(client: TestClient, monitoring: dict[str, str]) -> None:
    body = client.get(
        "/v2/activities?pageSize=1000&after=20250601&before=2025-06-10", headers=monitoring
    ).json()
    times = [a["activityTime"] for a in body["activities"]]
    assert times
    assert min(times) >= 1748736000  # 2025-06-01T00:00:00Z
    assert max(times) < 1749513600  # 2025-06-10T00:00:00Z


@pytest.mark.parametrize(
    ("query", "description"),
    [
        ("pageSize=5", "pageSize: Input should be greater than or equal to 10"),
        ("pageSize=1001", "pageSize: Input should be less than or equal to 1000"),
        (
            "before=yesterday",
            "before: expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)",
        ),
        ("class=ROBOT", "class: Input should be 'SYSTEM', 'DEVICE', 'USER' or 'ALL'"),
        ("user=me", "user: expected user ids separated by commas"),
        ("olderThan=-1", "olderThan: Input should be greater than or equal to 0"),
    ],
    ids=["page too small", "page too big", "bad date", "bad class", "bad user", "negative id"],
)
def test_bad_activity_parameters_are_a_400_naming_them(
    client: TestClient, monitoring: dict[str, str], query: str, description: str
) -> None:
    response = client.get(f"/v2/activities?{query}", headers=monitoring)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_a_devices_activities_are_its_own(client: TestClient, monitoring: dict[str, str]) -> None:
    body = client.get("/v2/device/5/activities", headers=monitoring).json()
    assert {a["deviceId"] for a in body["activities"]} == {5}
    assert body["lastNodeActivityId"] == body["activities"][0]["id"]
    assert body["activities"][-1]["statusCode"] == "NODE_CREATED"
    by_series = client.get("/v2/device/5/activities?seriesUid=abc", headers=monitoring).json()
    assert by_series["activities"] == []
