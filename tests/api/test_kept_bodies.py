"""Reads declared ``kept_per`` tables keep their bodies per those tables' versions (issue 14's
reads, api/reads.py): a change made by any writer (the API, plain SQL) shows on the next read,
and the token is checked on every request, kept body or not."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from ninja_oauth.store.api_tables import alerts, device_inventory, devices
from ninja_oauth.store.db import Store

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
