"""Reads declared ``kept_per`` tables keep their bodies per those tables' versions (issue 14's
reads, api/reads.py): a change made by any writer (the API, plain SQL) shows on the next read,
and the token is checked on every request, kept body or not."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, update

from ninja_oauth.api import reads
from ninja_oauth.api.routes import queries
from ninja_oauth.store.api_tables import (
    alerts,
    device_inventory,
    device_maintenance,
    devices,
    locations,
    node_roles,
    organizations,
    policies,
    scripts,
    ticket_log_entries,
    tickets,
)
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import devices as device_sql

from .endpoints import WINDOWS_DESKTOP

SOFTWARE = f"/v2/device/{WINDOWS_DESKTOP}/software"


def _get(client: TestClient, url: str, headers: dict[str, str]) -> Any:
    answer = client.get(url, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_change_in_plain_sql_shows_on_the_next_read(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    first = _get(client, SOFTWARE, monitoring)
    assert first == _get(client, SOFTWARE, monitoring)  # the kept body, the same bytes
    with store.transaction() as conn:
        conn.execute(
            delete(device_inventory).where(
                (device_inventory.c.device_id == WINDOWS_DESKTOP)
                & (device_inventory.c.kind == "software")
            )
        )
    assert first and _get(client, SOFTWARE, monitoring) == []


def test_a_rejected_device_is_gone_from_its_kept_reads(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    assert _get(client, SOFTWARE, monitoring)
    with store.transaction() as conn:
        conn.execute(
            update(devices)
            .where(devices.c.id == WINDOWS_DESKTOP)
            .values(approval_status="REJECTED")
        )
    assert client.get(SOFTWARE, headers=monitoring).status_code == 404


def test_an_alert_removed_by_any_writer_leaves_the_kept_list(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    listed = _get(client, "/v2/alerts", monitoring)
    gone = listed[0]["uid"]
    with store.transaction() as conn:
        conn.execute(delete(alerts).where(alerts.c.uid == gone))
    assert gone not in {a["uid"] for a in _get(client, "/v2/alerts", monitoring)}


def test_a_kept_body_still_needs_a_valid_token_with_the_scope(
    client: TestClient, monitoring: dict[str, str], management: dict[str, str]
) -> None:
    assert _get(client, SOFTWARE, monitoring)
    assert client.get(SOFTWARE).status_code == 401
    assert client.get(SOFTWARE, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(SOFTWARE, headers=management).status_code == 403


def test_the_query_is_part_of_the_key(client: TestClient, monitoring: dict[str, str]) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}/windows-services"
    everything = _get(client, url, monitoring)
    stopped = _get(client, url + "?state=STOPPED", monitoring)
    assert all(s["state"] == "STOPPED" for s in stopped)
    assert len(stopped) < len(everything)
    assert _get(client, url, monitoring) == everything


REPORT = "/v2/queries/software?pageSize=5"


def test_a_report_page_is_kept_until_the_inventory_changes(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    first = _get(client, REPORT, monitoring)
    assert first == _get(client, REPORT, monitoring)
    gone = first["results"][0]
    with store.transaction() as conn:
        conn.execute(
            delete(device_inventory).where(
                (device_inventory.c.kind == "software")
                & (device_inventory.c.device_id == gone["deviceId"])
            )
        )
    after = _get(client, REPORT, monitoring)
    assert gone["deviceId"] not in {item["deviceId"] for item in after["results"]}


def test_a_cursor_expires_at_an_hour_boundary_one_to_two_hours_ahead(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    before = time.time()
    expires = _get(client, REPORT, monitoring)["cursor"]["expires"]
    assert expires % 3600 == 0
    assert before + 3600 <= expires <= time.time() + 7200


def test_a_kept_body_is_not_served_past_its_hour(
    client: TestClient, monitoring: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing changed in the tables, but the hour did: the body is built again, with the next
    hour's expiry (the reads' and the reports' clocks moved; the token's is left alone)."""
    expires = _get(client, REPORT, monitoring)["cursor"]["expires"]
    later = SimpleNamespace(time=lambda: time.time() + 3600)
    monkeypatch.setattr(reads, "time", later)
    monkeypatch.setattr(queries, "time", later)
    assert _get(client, REPORT, monitoring)["cursor"]["expires"] == expires + 3600


def test_custom_field_reports_follow_devices_and_locations(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    scoped = "/v2/queries/scoped-custom-fields?scopes=LOCATION"
    detailed = "/v2/queries/custom-fields-detailed"
    _get(client, scoped, monitoring), _get(client, detailed, monitoring)
    with store.transaction() as conn:
        conn.execute(update(locations).where(locations.c.id == 1).values(fields={"kept": "no"}))
        conn.execute(
            update(devices)
            .where(devices.c.id == WINDOWS_DESKTOP)
            .values(custom_fields={"kept": "no"})
        )
    assert {"scope": "LOCATION", "entityId": 1, "fields": {"kept": "no"}} in _get(
        client, scoped, monitoring
    )["results"]
    assert {
        "entityType": "NODE",
        "entityId": WINDOWS_DESKTOP,
        "fields": [{"name": "kept", "value": "no"}],
    } in _get(client, detailed, monitoring)["results"]


def test_a_ticket_and_its_log_follow_any_writer(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    ticket, log = "/v2/ticketing/ticket/1", "/v2/ticketing/ticket/1/log-entry"
    assert _get(client, ticket, monitoring) == _get(client, ticket, monitoring)
    entries = _get(client, log, monitoring)
    with store.transaction() as conn:
        conn.execute(update(tickets).where(tickets.c.id == 1).values(subject="Changed in SQL"))
        row = (
            conn.execute(
                ticket_log_entries.select().where(ticket_log_entries.c.ticket_id == 1).limit(1)
            )
            .mappings()
            .one()
        )
        copy = {k: v for k, v in row.items() if k != "id"}
        conn.execute(insert(ticket_log_entries).values({**copy, "body": "Added in SQL"}))
    assert _get(client, ticket, monitoring)["subject"] == "Changed in SQL"
    after = _get(client, log, monitoring)
    assert len(after) == len(entries) + 1
    assert "Added in SQL" in {e["body"] for e in after}


def test_a_deactivated_script_leaves_the_scripting_options(
    client: TestClient, monitoring: dict[str, str], store: Store
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}/scripting/options"
    listed = [s for s in _get(client, url, monitoring)["scripts"] if s["type"] == "SCRIPT"]
    assert listed
    with store.transaction() as conn:
        conn.execute(update(scripts).where(scripts.c.id == listed[0]["id"]).values(active=False))
    ids = {s.get("id") for s in _get(client, url, monitoring)["scripts"]}
    assert listed[0]["id"] not in ids


DEVICE = f"/v2/device/{WINDOWS_DESKTOP}"


def _device_row(store: Store) -> Any:
    with store.transaction() as conn:
        return conn.execute(devices.select().where(devices.c.id == WINDOWS_DESKTOP)).one()


@pytest.mark.parametrize("table", ["node_roles", "policies", "organizations", "locations"])
def test_a_device_follows_the_rows_its_references_come_from(
    client: TestClient, monitoring: dict[str, str], store: Store, table: str
) -> None:
    # Migration 0010 versions the roles and policies: a device's body is kept per every table
    # it reads, so a rename by plain SQL shows on the next read of the device and of the lists.
    device = _device_row(store)
    first = _get(client, DEVICE, monitoring)
    listed = _get(client, "/v2/devices-detailed", monitoring)
    assert first == _get(client, DEVICE, monitoring)  # kept
    target = {
        "node_roles": (node_roles, device.node_role_id, "role"),
        "policies": (policies, first["references"]["rolePolicy"]["id"], "rolePolicy"),
        "organizations": (organizations, device.organization_id, "organization"),
        "locations": (locations, device.location_id, "location"),
    }[table]
    rows, row_id, reference = target
    renamed = f"Renamed {table}"
    with store.transaction() as conn:
        conn.execute(update(rows).where(rows.c.id == row_id).values(name=renamed))
    assert _get(client, DEVICE, monitoring)["references"][reference]["name"] == renamed
    again = _get(client, "/v2/devices-detailed", monitoring)
    assert again != listed
    (mine,) = [d for d in again if d["id"] == WINDOWS_DESKTOP]
    assert mine["references"][reference]["name"] == renamed


def test_a_device_in_a_maintenance_window_follows_the_clock_not_a_kept_body(
    client: TestClient, monitoring: dict[str, str], store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window's status moves from PENDING to IN_MAINTENANCE with the clock alone, no table
    # changing: such a body is never kept (api/reads.py, Unkept).
    assert "maintenance" not in _get(client, DEVICE, monitoring)
    starts = int(time.time()) + 600
    with store.transaction() as conn:
        conn.execute(
            insert(device_maintenance).values(
                device_id=WINDOWS_DESKTOP,
                start_ms=starts * 1000,
                end_ms=(starts + 86_400) * 1000,
                disabled_features=["ALERTS"],
                reason_message="kept-body test",
                created_at=int(time.time()),
            )
        )
    try:
        assert _get(client, DEVICE, monitoring)["maintenance"]["status"] == "PENDING"
        assert _get(client, DEVICE, monitoring)["maintenance"]["status"] == "PENDING"
        later = SimpleNamespace(time=lambda: starts + 1.0)
        monkeypatch.setattr(device_sql, "time", later)  # the window's clock, not the key's
        assert _get(client, DEVICE, monitoring)["maintenance"]["status"] == "IN_MAINTENANCE"
        (listed,) = [
            d
            for d in _get(client, "/v2/devices-detailed", monitoring)
            if d["id"] == WINDOWS_DESKTOP
        ]
        assert listed["maintenance"]["status"] == "IN_MAINTENANCE"
    finally:
        with store.transaction() as conn:
            conn.execute(
                delete(device_maintenance).where(device_maintenance.c.device_id == WINDOWS_DESKTOP)
            )
    assert "maintenance" not in _get(client, DEVICE, monitoring)
