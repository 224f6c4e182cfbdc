"""Devices: paging, the `df` filter, one device with its references, and changes seen on the
next read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import ISSUER
from .endpoints import MAC_DEVICE, OFFLINE_DEVICE, PENDING_DEVICE, WINDOWS_DESKTOP

ALL_DEVICES = 360


def ids(client: TestClient, url: str, headers: dict[str, str]) -> list[int]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return [d["id"] for d in response.json()]


def test_paging_with_after_visits_every_device_once(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    seen: list[int] = []
    after = 0
    while page := ids(client, f"/v2/devices?pageSize=100&after={after}", monitoring):
        seen += page
        after = page[-1]
    assert seen == list(range(1, ALL_DEVICES + 1))
    assert len(ids(client, "/v2/devices", monitoring)) == ALL_DEVICES


@pytest.mark.parametrize(
    ("df", "wanted", "count"),
    [
        ("org = 1", lambda d: d["organizationId"] == 1, 34),
        ("loc = 2", lambda d: d["locationId"] == 2, 9),
        ("class = MAC", lambda d: d["nodeClass"] == "MAC", 29),
        ("status = PENDING", lambda d: d["approvalStatus"] == "PENDING", 19),
        (
            "org = 3 AND class = WINDOWS_WORKSTATION and status = APPROVED",
            lambda d: d["organizationId"] == 3 and d["nodeClass"] == "WINDOWS_WORKSTATION",
            39,
        ),
        ("org = 1 AND org = 2", lambda d: False, 0),
        ("", lambda d: True, ALL_DEVICES),
    ],
    ids=["org", "loc", "class", "status", "three clauses", "contradiction", "empty"],
)
def test_the_device_filter_selects_by_org_location_class_and_status(
    client: TestClient,
    monitoring: dict[str, str],
    df: str,
    wanted: Callable[[dict[str, Any]], bool],
    count: int,
) -> None:
    everything = client.get("/v2/devices", headers=monitoring).json()
    expected = [d["id"] for d in everything if wanted(d)]
    found = client.get("/v2/devices", params={"df": df}, headers=monitoring).json()
    assert [d["id"] for d in found] == expected
    assert len(expected) == count
    detailed = client.get("/v2/devices-detailed", params={"df": df}, headers=monitoring).json()
    assert [d["id"] for d in detailed] == expected


@pytest.mark.parametrize(
    ("df", "clause"),
    [
        ("org in (1,2)", "org in (1,2)"),
        ("class = TOASTER", "class = TOASTER"),
        ("org = 1 OR org = 2", "org = 1 OR org = 2"),
        ("org = 1 AND offline", "offline"),
        ("status = REJECTED", "status = REJECTED"),
    ],
    ids=["in", "unknown class", "or", "bare word", "rejected status"],
)
def test_any_other_device_filter_is_a_400_naming_the_clause(
    client: TestClient, monitoring: dict[str, str], df: str, clause: str
) -> None:
    response = client.get("/v2/devices", params={"df": df}, headers=monitoring)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"df: unsupported clause {clause!r}; supported: org = N, "
        "loc = N, class = NODE_CLASS, status = PENDING|APPROVED, joined by AND",
    }


def test_a_device_comes_with_its_references(client: TestClient, monitoring: dict[str, str]) -> None:
    device = client.get(f"/v2/device/{WINDOWS_DESKTOP}", headers=monitoring).json()
    assert {k: device[k] for k in ("id", "organizationId", "locationId", "nodeClass")} == {
        "id": 5,
        "organizationId": 1,
        "locationId": 2,
        "nodeClass": "WINDOWS_WORKSTATION",
    }
    assert device["systemName"] == "ACME-WS-005"
    assert device["nodeRoleId"] == 1
    assert device["rolePolicyId"] == 1
    assert "policyId" not in device  # no override: absent, never null
    refs = device["references"]
    assert refs["organization"]["name"] == "Acme Dental Group"
    assert refs["location"]["name"] == "Northside Clinic"
    assert refs["role"]["name"] == "Windows Desktop"
    assert refs["rolePolicy"]["name"] == "Windows Workstations"
    assert device["ipAddresses"] == ["10.1.2.14"]


def test_the_basic_listing_has_no_references_and_the_detailed_one_has(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    basic = client.get("/v2/devices?pageSize=1", headers=monitoring).json()[0]
    detailed = client.get("/v2/devices-detailed?pageSize=1", headers=monitoring).json()[0]
    assert "references" not in basic
    assert "ipAddresses" not in basic
    assert detailed == client.get("/v2/device/1", headers=monitoring).json()


def test_a_device_update_is_seen_on_the_next_read(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.patch(
        f"/v2/device/{WINDOWS_DESKTOP}",
        json={
            "displayName": "Reception PC",
            "userData": {"desk": "front"},
            "nodeRoleId": 2,
            "policyId": 2,
            "locationId": 3,
            "warranty": {"startDate": 1700000000, "endDate": 1800000000},
        },
        headers=everything,
    )
    assert response.status_code == 204
    device = client.get(f"/v2/device/{WINDOWS_DESKTOP}", headers=everything).json()
    assert device["displayName"] == "Reception PC"
    assert device["userData"] == {"desk": "front"}
    assert (device["nodeRoleId"], device["policyId"], device["locationId"]) == (2, 2, 3)
    assert device["references"]["policy"]["name"] == "Windows Workstations - Locked Down"
    assert device["references"]["warranty"] == {"startDate": 1.7e9, "endDate": 1.8e9}


def test_a_null_policy_reverts_to_the_organizations_mapping(
    client: TestClient, management: dict[str, str], monitoring: dict[str, str]
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}"
    assert client.patch(url, json={"policyId": 2}, headers=management).status_code == 204
    assert client.patch(url, json={"policyId": None}, headers=management).status_code == 204
    device = client.get(url, headers=monitoring).json()
    assert "policyId" not in device
    assert device["rolePolicyId"] == 1


def test_moving_a_device_to_another_organization_needs_a_location_there(
    client: TestClient, everything: dict[str, str]
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}"
    alone = client.patch(url, json={"organizationId": 2}, headers=everything)
    assert alone.status_code == 400
    assert alone.json()["error_description"] == "locationId: location 2 is not in organization 2"
    moved = client.patch(url, json={"organizationId": 2, "locationId": 4}, headers=everything)
    assert moved.status_code == 204
    device = client.get(url, headers=everything).json()
    assert (device["organizationId"], device["locationId"]) == (2, 4)


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"nodeRoleId": 4}, "nodeRoleId: device role 4 is for MAC devices, not WINDOWS_WORKSTATION"),
        ({"nodeRoleId": 99}, "nodeRoleId: no device role 99"),
        ({"policyId": 3}, "policyId: policy 3 is for WINDOWS_SERVER devices, not WINDOWS_WORKSTATION"),
        ({"organizationId": 77, "locationId": 1}, "organizationId: no organization 77"),
        ({"locationId": 999}, "locationId: no location 999"),
        ({"nodeRoleId": "two"}, "nodeRoleId: Input should be a valid integer, unable to parse "
         "string as an integer"),
        ({"nodeRoleId": 2**40}, "nodeRoleId: Input should be less than or equal to 2147483647"),
        ({"warranty": {"endDate": "NaN"}}, "warranty.endDate: Input should be a finite number"),
        ({"displayName": "a\x00b"}, "displayName: Value error, must not contain NUL characters"),
    ],
    ids=["role of another class", "unknown role", "policy of another class", "unknown org",
         "unknown location", "not a number", "beyond int32", "not finite", "NUL"],
)  # fmt: skip
def test_a_bad_device_update_is_a_400_naming_the_field_and_changes_nothing(
    client: TestClient, everything: dict[str, str], body: dict[str, object], description: str
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}"
    before = client.get(url, headers=everything).json()
    response = client.patch(url, json={"displayName": "Changed?", **body}, headers=everything)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}
    assert client.get(url, headers=everything).json() == before


def test_custom_fields_are_set_and_cleared_by_name(
    client: TestClient, everything: dict[str, str]
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}/custom-fields"
    assert client.get(url, headers=everything).json() == {"assetTag": "AT-010005"}
    response = client.patch(
        url, json={"assetTag": None, "owner": "Front desk", "racked": False}, headers=everything
    )
    assert response.status_code == 204
    assert client.get(url, headers=everything).json() == {"owner": "Front desk", "racked": False}
    not_an_object = client.patch(url, json=["owner"], headers=everything)
    assert not_an_object.status_code == 400
    assert not_an_object.json()["error_description"] == "body: Input should be a valid dictionary"


def test_the_dashboard_url_points_at_this_server(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    url = f"/v2/device/{MAC_DEVICE}/dashboard-url"
    response = client.get(url, headers=monitoring)
    assert response.json() == {"url": f"{ISSUER}/#/deviceDashboard/3/overview"}
    redirected = client.get(url + "?redirect=true", headers=monitoring, follow_redirects=False)
    assert redirected.status_code == 302
    assert redirected.headers["location"] == f"{ISSUER}/#/deviceDashboard/3/overview"


def test_offline_and_pending_devices_say_so(client: TestClient, monitoring: dict[str, str]) -> None:
    offline = client.get(f"/v2/device/{OFFLINE_DEVICE}", headers=monitoring).json()
    pending = client.get(f"/v2/device/{PENDING_DEVICE}", headers=monitoring).json()
    assert (offline["offline"], offline["approvalStatus"]) == (True, "APPROVED")
    assert (pending["offline"], pending["approvalStatus"]) == (False, "PENDING")
