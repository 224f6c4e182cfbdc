"""The slice on PostgreSQL: reads take psycopg's async path there and writes the thread pool,
so the same calls run once more against a fresh PostgreSQL database (skipped only off CI when
no server is reachable; see tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate

from .conftest import NOW, build_app, front_door, mint


@pytest.fixture(scope="module")
def pg_store(pg_database_url: str) -> Store:
    migrate(pg_database_url)
    return Store(pg_database_url)


@pytest.fixture(scope="module")
def pg(pg_store: Store) -> Iterator[tuple[TestClient, dict[str, str]]]:
    assert load_demo_api_data(pg_store, now=NOW) is True
    from sqlalchemy import insert

    from ninja_oauth.store.tables import apps

    with pg_store.transaction() as conn:
        conn.execute(
            insert(apps).values(
                client_id="test-integration", name="PG", platform="api_services",
                redirect_uris="[]", scopes="monitoring management control",
                grant_types="client_credentials", created_at=NOW,
            )
        )  # fmt: skip
    headers = {"Authorization": "Bearer " + mint(pg_store, "monitoring management control")}
    # One client for the module: the async engine's connections belong to its event loop.
    with TestClient(front_door(build_app(pg_store))) as client:
        yield client, headers
        assert client.portal is not None
        client.portal.call(pg_store.aclose)


def test_reads_page_and_filter_on_postgresql(pg: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = pg
    page = client.get("/v2/devices?pageSize=3&after=3&df=org = 1", headers=headers)
    assert [d["id"] for d in page.json()] == [4, 5, 6]
    device = client.get("/v2/device/5", headers=headers).json()
    assert device["references"]["organization"]["name"] == "Acme Dental Group"
    orgs = client.get("/v2/organizations?of=DENTAL", headers=headers).json()
    assert [o["name"] for o in orgs] == ["Acme Dental Group"]


def test_writes_are_atomic_and_visible_on_postgresql(pg: tuple[TestClient, dict[str, str]]) -> None:
    client, headers = pg
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
