"""Organizations and locations: listing, paging, the `of` filter, and writes seen on the next
read."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, update

from ninja_oauth.api.response_cache import ResponseCache
from ninja_oauth.store.api_tables import organizations
from ninja_oauth.store.db import Store

ORG_ONE_LOCATIONS = ["Main Clinic", "Northside Clinic", "Lab"]


def names(items: list[dict[str, object]]) -> list[object]:
    return [i["name"] for i in items]


def test_organizations_page_by_page_size_and_after(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    first = client.get("/v2/organizations?pageSize=5", headers=monitoring).json()
    rest = client.get("/v2/organizations?pageSize=50&after=5", headers=monitoring).json()
    assert [o["id"] for o in first] == [1, 2, 3, 4, 5]
    assert [o["id"] for o in rest] == list(range(6, 13))
    assert first[0] == {
        "id": 1,
        "name": "Acme Dental Group",
        "description": "Managed client since 2015",
        "userData": {"accountManager": "Dana Whitfield"},
        "nodeApprovalMode": "AUTOMATIC",
        "tags": ["managed", "priority"],
        "fields": {},
    }


def test_the_of_filter_matches_names_case_insensitively(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    response = client.get("/v2/organizations-detailed?of=CLINIC", headers=monitoring)
    assert response.status_code == 200
    assert names(response.json()) == []
    response = client.get("/v2/organizations?of=dental", headers=monitoring)
    assert names(response.json()) == ["Acme Dental Group"]
    response = client.get("/v2/organizations?of=%25", headers=monitoring)
    assert response.json() == []  # a LIKE wildcard is matched literally


def test_an_organization_comes_with_its_locations_and_policy_mappings(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    body = client.get("/v2/organization/1", headers=monitoring).json()
    assert names(body["locations"]) == ORG_ONE_LOCATIONS
    assert body["policies"][:3] == [
        {"nodeRoleId": 1, "policyId": 1},
        {"nodeRoleId": 2, "policyId": 1},
        {"nodeRoleId": 3, "policyId": 3},
    ]
    assert len(body["policies"]) == 17
    detailed = client.get("/v2/organizations-detailed?pageSize=1", headers=monitoring).json()
    assert detailed == [body]


def test_a_created_organization_is_there_on_the_next_read(
    client: TestClient, everything: dict[str, str]
) -> None:
    created = client.post(
        "/v2/organizations",
        json={
            "name": "Nimbus Dental",
            "description": "New client",
            "nodeApprovalMode": "MANUAL",
            "tags": ["onboarding"],
            "locations": [{"name": "HQ", "address": "1 Cloud St"}, {"name": "Lab"}],
            "policies": [{"nodeRoleId": 3, "policyId": 4}],
            "somethingNinjaOneAddsLater": True,
        },
        headers=everything,
    )
    assert created.status_code == 200
    body = created.json()
    assert body == {
        "id": 13,
        "name": "Nimbus Dental",
        "description": "New client",
        "userData": {},
        "nodeApprovalMode": "MANUAL",
        "tags": ["onboarding"],
        "fields": {},
        "locations": [
            {"id": 29, "name": "HQ", "address": "1 Cloud St", "userData": {}, "tags": [],
             "fields": {}},
            {"id": 30, "name": "Lab", "userData": {}, "tags": [], "fields": {}},
        ],
        "policies": [{"nodeRoleId": 3, "policyId": 4}],
    }  # fmt: skip
    assert client.get("/v2/organization/13", headers=everything).json() == body
    listed = client.get("/v2/organizations?after=12", headers=everything).json()
    assert names(listed) == ["Nimbus Dental"]


def test_a_template_organization_lends_its_approval_mode_and_policies(
    client: TestClient, everything: dict[str, str]
) -> None:
    template = client.get("/v2/organization/2", headers=everything).json()
    created = client.post(
        "/v2/organizations?templateOrganizationId=2", json={"name": "Copy"}, headers=everything
    ).json()
    assert created["nodeApprovalMode"] == template["nodeApprovalMode"] == "MANUAL"
    assert created["policies"] == template["policies"]
    missing = client.post(
        "/v2/organizations?templateOrganizationId=99", json={"name": "X"}, headers=everything
    )
    assert missing.status_code == 404
    assert missing.json() == {
        "error": "not_found",
        "error_description": "Organization 99 not found.",
    }


def test_a_second_organization_with_the_same_name_is_a_conflict(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.post(
        "/v2/organizations", json={"name": "Acme Dental Group"}, headers=everything
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "error_description": "An organization named 'Acme Dental Group' already exists.",
    }
    renamed = client.patch(
        "/v2/organization/2", json={"name": "Acme Dental Group"}, headers=everything
    )
    assert renamed.status_code == 409


def test_a_bad_policy_mapping_names_the_field_and_writes_nothing(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.post(
        "/v2/organizations",
        json={"name": "Half", "locations": [{"name": "A"}], "policies": [
            {"nodeRoleId": 1, "policyId": 1}, {"nodeRoleId": 3, "policyId": 6}]},
        headers=everything,
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "policies.1.policyId: policy 6 is for MAC devices, "
        "role 3 for WINDOWS_SERVER",
    }
    assert client.get("/v2/organizations?of=Half", headers=everything).json() == []
    assert len(client.get("/v2/locations", headers=everything).json()) == 28


def test_creating_an_organization_without_a_name_is_a_400_naming_name(
    client: TestClient, management: dict[str, str]
) -> None:
    response = client.post("/v2/organizations", json={"description": "x"}, headers=management)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "name: Field required",
    }


def test_patching_an_organization_changes_only_the_fields_sent(
    client: TestClient, everything: dict[str, str]
) -> None:
    before = client.get("/v2/organization/1", headers=everything).json()
    response = client.patch(
        "/v2/organization/1",
        json={"description": "Renewed contract", "nodeApprovalMode": "MANUAL"},
        headers=everything,
    )
    assert response.status_code == 204
    assert response.content == b""
    after = client.get("/v2/organization/1", headers=everything).json()
    assert after == {**before, "description": "Renewed contract", "nodeApprovalMode": "MANUAL"}


def test_null_is_refused_where_it_means_nothing(
    client: TestClient, management: dict[str, str]
) -> None:
    response = client.patch("/v2/organization/1", json={"name": None}, headers=management)
    assert response.status_code == 400
    assert response.json()["error_description"] == "name must not be null"


def test_locations_are_created_and_patched_in_their_organization(
    client: TestClient, everything: dict[str, str]
) -> None:
    created = client.post(
        "/v2/organization/1/locations",
        json={"name": "Annex", "description": "Overflow"},
        headers=everything,
    )
    assert created.status_code == 200
    assert created.json() == {
        "id": 29, "name": "Annex", "description": "Overflow", "userData": {}, "tags": [],
        "fields": {},
    }  # fmt: skip
    patched = client.patch(
        "/v2/organization/1/locations/29", json={"address": "2 Side St"}, headers=everything
    )
    assert patched.json() == {**created.json(), "address": "2 Side St"}
    listed = client.get("/v2/organization/1/locations", headers=everything).json()
    assert names(listed) == [*ORG_ONE_LOCATIONS, "Annex"]
    everywhere = client.get("/v2/locations?after=28", headers=everything).json()
    assert everywhere == [{**patched.json(), "organizationId": 1}]


def test_a_location_of_another_organization_is_not_found(
    client: TestClient, management: dict[str, str]
) -> None:
    response = client.patch(
        "/v2/organization/2/locations/1", json={"name": "Stolen"}, headers=management
    )
    assert response.status_code == 404
    assert response.json() == {
        "error": "not_found",
        "error_description": "Location 1 not found in organization 2.",
    }


def test_locations_page_with_their_organization_ids(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    page = client.get("/v2/locations?pageSize=4&after=2", headers=monitoring).json()
    assert [(loc["id"], loc["organizationId"]) for loc in page] == [(3, 1), (4, 2), (5, 2), (6, 3)]


def test_an_organizations_devices_page_by_id(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    all_of_them = client.get("/v2/organization/1/devices", headers=monitoring).json()
    assert len(all_of_them) == 34
    assert {d["organizationId"] for d in all_of_them} == {1}
    page = client.get("/v2/organization/1/devices?pageSize=3&after=3", headers=monitoring)
    assert [d["id"] for d in page.json()] == [4, 5, 6]


def test_the_organizations_list_follows_every_change_whoever_makes_it(
    client: TestClient, store: Store, everything: dict[str, str]
) -> None:
    """The list's body is kept per version of the organizations table (api/response_cache.py); a
    change through the API, or straight in the database as the CLI or another worker would
    make it, shows on the very next read."""

    def listed() -> list[object]:
        response = client.get("/v2/organizations", headers=everything)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        return names(response.json())

    first = listed()
    assert listed() == first  # the kept body
    patched = client.patch("/v2/organization/2", json={"name": "Renamed"}, headers=everything)
    assert patched.status_code == 204
    assert listed()[1] == "Renamed"
    with store.transaction() as conn:
        conn.execute(update(organizations).where(organizations.c.id == 3).values(name="By SQL"))
    assert listed()[2] == "By SQL"
    with store.transaction() as conn:
        conn.execute(
            insert(organizations).values(
                name="Inserted by SQL",
                node_approval_mode="AUTOMATIC",
                user_data={},
                tags=[],
                fields={},
                created_at=1,
            )
        )
    assert listed() == [first[0], "Renamed", "By SQL", *first[3:], "Inserted by SQL"]
    with store.transaction() as conn:
        conn.execute(delete(organizations).where(organizations.c.name == "Inserted by SQL"))
    assert len(listed()) == len(first)


def test_kept_bodies_stay_within_their_byte_budget() -> None:
    kept = ResponseCache(max_bytes=100)
    kept.put("a", 1, b"x" * 60)
    assert kept.get("a", 1) == b"x" * 60
    assert kept.get("a", 2) is None  # another version
    kept.put("b", 1, b"y" * 60)  # over budget: what was kept goes
    assert kept.get("a", 1) is None
    assert kept.get("b", 1) == b"y" * 60
    kept.put("c", 1, b"z" * 101)  # larger than the budget: never kept
    assert kept.get("c", 1) is None


def names_found_whatever_their_case(client: TestClient, headers: dict[str, str]) -> None:
    """Case-insensitive filters fold every letter, not only ASCII ones (on SQLite, whose own
    ``lower()`` leaves "Ä" alone, the store gives it Python's)."""
    created = client.post("/v2/organizations", json={"name": "Ärzte Zentrum Süd"}, headers=headers)
    assert created.status_code == 200, created.text
    for needle in ("Ärzte", "ärzte", "ÄRZTE", "SÜD"):
        found = client.get("/v2/organizations", params={"of": needle}, headers=headers).json()
        assert names(found) == ["Ärzte Zentrum Süd"], needle
    renamed = client.patch(
        "/v2/device/7", json={"displayName": "Büro-PC Österreich"}, headers=headers
    )
    assert renamed.status_code == 204, renamed.text
    for needle in ("Österreich", "ÖSTERREICH", "büro-pc"):
        search = client.get("/v2/devices/search", params={"q": needle}, headers=headers).json()
        assert [d["id"] for d in search["devices"]] == [7], needle


def test_filters_fold_non_ascii_capitals(client: TestClient, everything: dict[str, str]) -> None:
    names_found_whatever_their_case(client, everything)
