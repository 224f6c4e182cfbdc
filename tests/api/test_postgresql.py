"""The slice on PostgreSQL: reads take psycopg's async path there and writes the thread pool,
so the same calls run once more against a fresh PostgreSQL database (skipped only off CI when
no server is reachable; see tests/conftest.py)."""

from __future__ import annotations

from .conftest import PgApi
from .test_organizations import names_found_whatever_their_case


def test_reads_page_and_filter_on_postgresql(pg_api: PgApi) -> None:
    _store, client, headers = pg_api
    page = client.get("/v2/devices?pageSize=3&after=3&df=org = 1", headers=headers)
    assert [d["id"] for d in page.json()] == [4, 5, 6]
    device = client.get("/v2/device/5", headers=headers).json()
    assert device["references"]["organization"]["name"] == "Acme Dental Group"
    orgs = client.get("/v2/organizations?of=DENTAL", headers=headers).json()
    assert [o["name"] for o in orgs] == ["Acme Dental Group"]


def test_writes_are_atomic_and_visible_on_postgresql(pg_api: PgApi) -> None:
    _store, client, headers = pg_api
    created = client.post(
        "/v2/organizations", json={"name": "Pg Org", "locations": [{"name": "HQ"}]}, headers=headers
    )
    assert created.status_code == 200
    assert created.json()["locations"][0]["name"] == "HQ"
    again = client.post("/v2/organizations", json={"name": "Pg Org"}, headers=headers)
    assert again.status_code == 409
    bad = client.post(
        "/v2/organizations",
        json={"name": "Half", "policies": [{"nodeRoleId": 999, "policyId": 1}]},
        headers=headers,
    )
    assert bad.status_code == 400
    assert client.get("/v2/organizations?of=Half", headers=headers).json() == []
    assert (
        client.post("/v2/device/5/script/run", json={"scriptId": 1}, headers=headers).status_code
        == 204
    )
    newest = client.get("/v2/activities?pageSize=10", headers=headers).json()["activities"][0]
    assert (newest["deviceId"], newest["statusCode"]) == (5, "START_REQUESTED")


def test_filters_fold_non_ascii_capitals_on_postgresql(pg_api: PgApi) -> None:
    _store, client, headers = pg_api
    names_found_whatever_their_case(client, headers)
