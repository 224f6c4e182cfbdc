"""The other lists over HTTP: groups, scheduled tasks, software products, custom field
definitions, device search, document templates and organization custom fields."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ninja_oauth.oauth.domain import AccessGrant

from .conftest import NOW, PgApi
from .endpoints import ENDPOINTS, MAC_DEVICE, WINDOWS_DESKTOP


def _ids(client: TestClient, headers: dict[str, str], df: str) -> list[int]:
    devices = client.get("/v2/devices", params={"df": df}, headers=headers).json()
    return [d["id"] for d in devices]


def test_groups_count_and_list_the_devices_their_filter_selects(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    groups = client.get("/v2/groups", headers=monitoring).json()
    assert [g["name"] for g in groups] == [
        "Windows workstations",
        "Acme Dental Group devices",
        "Cedar Valley servers",
        "Waiting for approval",
        "Macs",
    ]
    filters = [
        "class = WINDOWS_WORKSTATION",
        "org = 1",
        "org = 3 AND class = WINDOWS_SERVER",
        "status = PENDING",
        "class = MAC",
    ]
    for group, df in zip(groups, filters, strict=True):
        expected = _ids(client, monitoring, df)
        assert expected, df
        assert group["deviceCount"] == len(expected)
        listed = client.get(f"/v2/group/{group['id']}/device-ids", headers=monitoring).json()
        assert listed == expected
    assert len(_ids(client, monitoring, "org = 1")) == 34


def test_a_group_counts_the_devices_as_they_are_now(
    client: TestClient, everything: dict[str, str]
) -> None:
    before = client.get("/v2/group/5/device-ids", headers=everything).json()
    assert MAC_DEVICE in before
    # Approving a pending device changes the count of "Waiting for approval" at once.
    pending = client.get("/v2/group/4/device-ids", headers=everything).json()
    assert (
        client.post(
            "/v2/devices/approval/APPROVE", json={"devices": pending[:1]}, headers=everything
        ).status_code
        == 204
    )
    groups = client.get("/v2/groups", headers=everything).json()
    assert groups[3]["deviceCount"] == len(pending) - 1


def test_tasks_and_software_products_are_listed(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    tasks = client.get("/v2/tasks", headers=monitoring).json()
    assert [t["id"] for t in tasks] == [1, 2, 3, 4]
    assert tasks[0]["name"] == "Weekly workstation reboot"
    assert [t["enabled"] for t in tasks] == [True, True, True, False]
    products = client.get("/v2/software-products", headers=monitoring).json()
    assert len(products) == 8
    assert (products[0]["vendorName"], products[0]["productName"]) == ("Google", "Chrome")
    assert len({p["id"] for p in products}) == 8


def test_custom_field_definitions_cover_the_devices_fields_and_filter_by_scope(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    every = client.get("/v2/device-custom-fields", headers=monitoring).json()
    names = [f["name"] for f in every]
    assert names == [
        "assetTag",
        "warrantyNotes",
        "contractTier",
        "backupRetentionDays",
        "siteContact",
    ]
    device_fields = client.get(f"/v2/device/{WINDOWS_DESKTOP}/custom-fields", headers=monitoring)
    assert set(device_fields.json()) <= set(names)
    node = client.get("/v2/device-custom-fields?scopes=node", headers=monitoring).json()
    assert [f["name"] for f in node] == ["assetTag", "warrantyNotes"]
    places = client.get(
        "/v2/device-custom-fields?scopes=Location,organization", headers=monitoring
    ).json()
    assert [f["name"] for f in places] == ["contractTier", "backupRetentionDays", "siteContact"]
    both = client.get("/v2/device-custom-fields?scopes=all,node", headers=monitoring).json()
    assert both == every
    tier = next(f for f in every if f["name"] == "contractTier")
    assert [v["name"] for v in tier["content"]["values"]] == ["Gold", "Silver", "Bronze"]


def test_device_search_finds_by_name_and_address_best_match_first(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    exact = client.get("/v2/devices/search?q=acme-ws-008", headers=monitoring).json()
    assert exact["query"] == "acme-ws-008"
    first = exact["devices"][0]
    assert (first["id"], first["score"], first["matchAttr"]) == (8, 100, "systemName")
    assert first["matchAttrValue"] == "ACME-WS-008"
    assert all(d["score"] < 100 for d in exact["devices"][1:])
    many = client.get("/v2/devices/search?q=ACME-WS", headers=monitoring).json()["devices"]
    assert len(many) > 5
    assert all("acme-ws" in d["systemName"].lower() for d in many)
    assert [d["id"] for d in many] == sorted(d["id"] for d in many)  # all prefixes: by id
    device = client.get(f"/v2/device/{WINDOWS_DESKTOP}", headers=monitoring).json()
    ip = device["ipAddresses"][0]
    by_ip = client.get(f"/v2/devices/search?q={ip}", headers=monitoring).json()["devices"]
    assert (by_ip[0]["id"], by_ip[0]["matchAttr"], by_ip[0]["matchAttrValue"]) == (
        WINDOWS_DESKTOP,
        "ipAddresses",
        ip,
    )
    assert by_ip[0]["score"] == 100
    dns = client.get("/v2/devices/search?q=.bwl.example", headers=monitoring).json()["devices"]
    assert dns and {d["organizationId"] for d in dns} == {2}
    assert {d["matchAttr"] for d in dns} == {"dnsName"}


def test_device_search_limits_and_escapes(client: TestClient, monitoring: dict[str, str]) -> None:
    limited = client.get("/v2/devices/search?q=acme&limit=3", headers=monitoring).json()
    assert len(limited["devices"]) == 3
    # ninjapy sends its page size as pageSize.
    paged = client.get("/v2/devices/search?q=acme&pageSize=2", headers=monitoring).json()
    assert len(paged["devices"]) == 2
    for needle in ("%", "_", "zzz-no-such-device", "   "):
        found = client.get("/v2/devices/search", params={"q": needle}, headers=monitoring)
        assert found.status_code == 200
        assert found.json()["devices"] == []
    missing = client.get("/v2/devices/search", headers=monitoring)
    assert missing.status_code == 400
    assert missing.json()["error_description"] == "q: Field required"


def test_document_templates_show_roles_only_when_asked(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    template = client.get("/v2/document-templates/3", headers=monitoring).json()
    assert template["name"] == "Line-of-Business Application"
    assert [f["fieldName"] for f in template["fields"]] == [
        "vendor",
        "supportPhone",
        "licenseKey",
        "notes",
    ]
    assert "allowedTechnicianRoles" not in template
    with_roles = client.get(
        "/v2/document-templates/3?includeTechnicianRoles=true", headers=monitoring
    ).json()
    assert with_roles["allowedTechnicianRoles"] == [1]
    assert client.get("/v2/document-templates/4", headers=monitoring).status_code == 404


def test_organization_custom_fields_are_set_cleared_read_back_and_recorded(
    client: TestClient, everything: dict[str, str]
) -> None:
    assert client.get("/v2/organization/2/custom-fields", headers=everything).json() == {}
    # The cached list of organizations is read first, so that the change must show through it.
    assert client.get("/v2/organizations", headers=everything).json()[1]["fields"] == {}
    patched = client.patch(
        "/v2/organization/2/custom-fields",
        json={"contractTier": "Gold", "backupRetentionDays": 30},
        headers=everything,
    )
    assert (patched.status_code, patched.content) == (204, b"")
    fields = {"contractTier": "Gold", "backupRetentionDays": 30}
    assert client.get("/v2/organization/2/custom-fields", headers=everything).json() == fields
    assert client.get("/v2/organization/2", headers=everything).json()["fields"] == fields
    assert client.get("/v2/organizations", headers=everything).json()[1]["fields"] == fields
    client.patch(
        "/v2/organization/2/custom-fields", json={"contractTier": None}, headers=everything
    )
    assert client.get("/v2/organization/2/custom-fields", headers=everything).json() == {
        "backupRetentionDays": 30
    }
    newest = client.get("/v2/activities?pageSize=10", headers=everything).json()["activities"][0]
    assert (newest["statusCode"], newest["status"]) == ("CLIENT_UPDATED", "Custom fields updated")
    assert newest["data"] == {
        "organizationId": 2,
        "fields": ["contractTier"],
        "clientId": "test-integration",
    }


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (
            {"tier": float("nan")},
            "tier: numbers must be finite: NaN, Infinity and values beyond a double's range "
            "(such as 1e400) are refused",
        ),
        # As PATCH /v2/device/{id}/custom-fields words it (bodies.CustomFieldValues).
        ({"": "x"}, ".[key]: String should have at least 1 character"),
    ],
    ids=["nan", "empty-name"],
)
def test_bad_organization_custom_fields_are_a_400(
    client: TestClient, management: dict[str, str], body: dict[str, Any], description: str
) -> None:
    response = client.patch(
        "/v2/organization/1/custom-fields",
        content=json.dumps(body, allow_nan=True),
        headers={**management, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_every_lists_operation_is_in_the_shared_table() -> None:
    spec_paths = {(e.method, e.spec_path) for e in ENDPOINTS}
    assert {
        ("GET", "/v2/groups"),
        ("GET", "/v2/group/{id}/device-ids"),
        ("GET", "/v2/tasks"),
        ("GET", "/v2/software-products"),
        ("GET", "/v2/device-custom-fields"),
        ("GET", "/v2/devices/search"),
        ("GET", "/v2/document-templates/{documentTemplateId}"),
        ("GET", "/v2/organization/{id}/custom-fields"),
        ("PATCH", "/v2/organization/{id}/custom-fields"),
    } <= spec_paths


# -- PostgreSQL -------------------------------------------------------------------------------


def test_device_search_and_groups_on_postgresql(pg_api: PgApi) -> None:
    _store, client, headers = pg_api
    exact = client.get("/v2/devices/search?q=ACME-WS-008", headers=headers).json()["devices"]
    assert (exact[0]["id"], exact[0]["score"]) == (8, 100)
    ip = client.get(f"/v2/device/{WINDOWS_DESKTOP}", headers=headers).json()["ipAddresses"][0]
    by_ip = client.get(f"/v2/devices/search?q={ip}", headers=headers).json()["devices"]
    assert by_ip[0]["id"] == WINDOWS_DESKTOP
    assert client.get("/v2/devices/search?q=%25", headers=headers).json()["devices"] == []
    groups = client.get("/v2/groups", headers=headers).json()
    assert groups[1]["deviceCount"] == 34


def test_concurrent_custom_field_changes_both_survive_on_postgresql(pg_api: PgApi) -> None:
    from ninja_oauth.api.routes.lists import update_organization_fields

    store, client, headers = pg_api
    who = AccessGrant(0, "test-integration", None, frozenset({"management"}), NOW + 3600)
    start = threading.Barrier(8)

    def write(n: int) -> None:
        start.wait()
        update_organization_fields(store, 3, {f"field{n}": n}, who)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fields = client.get("/v2/organization/3/custom-fields", headers=headers).json()
    assert fields == {f"field{n}": n for n in range(8)}
