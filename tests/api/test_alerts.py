"""Alerts: the open alerts of the demo fleet, their filters, and resetting one (by POST
.../reset or DELETE), which removes it from both lists and is recorded as an activity naming
the app and the user behind the token."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from ninja_oauth.store.api_tables import alerts as alert_table
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import alerts as alert_sql
from ninja_oauth.store.public_api.devices import DeviceFilter

from .conftest import ADMIN_ID, APP_ID, NOW, MintToken, PgApi, bearer, mint
from .endpoints import OFFLINE_DEVICE, PENDING_DEVICE
from .endpoints_alerts import NO_ALERT, OFFLINE_ALERT, UID_ERROR


def alerts(client: TestClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    response = client.get(f"/v2/alerts{query}", headers=headers)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def device_alerts(client: TestClient, headers: dict[str, str], device: int) -> list[str]:
    response = client.get(f"/v2/device/{device}/alerts", headers=headers)
    assert response.status_code == 200, response.text
    return [a["uid"] for a in response.json()]


def test_the_demo_fleet_has_open_alerts_of_several_sources(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    listed = alerts(client, monitoring)
    sources = Counter(a["sourceType"] for a in listed)
    assert len(listed) > 50
    assert sources["AGENT_OFFLINE"] > 10
    assert len([s for s in sources if s.startswith("CONDITION_")]) >= 4
    assert len({a["uid"] for a in listed}) == len(listed)
    # Newest first; each alert carries its device as /v2/devices lists it.
    assert [a["createTime"] for a in listed] == sorted(
        (a["createTime"] for a in listed), reverse=True
    )
    for alert in listed:
        assert alert["device"]["id"] == alert["deviceId"]
        assert alert["updateTime"] >= alert["createTime"]


def test_an_offline_device_has_its_offline_alert(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    response = client.get(f"/v2/device/{OFFLINE_DEVICE}/alerts", headers=monitoring)
    (alert,) = response.json()
    assert alert["uid"] == OFFLINE_ALERT
    assert alert["sourceType"] == "AGENT_OFFLINE"
    assert alert["deviceId"] == OFFLINE_DEVICE
    assert alert["device"]["offline"] is True
    assert alert["data"]["severity"] == "MAJOR"
    # Times are epoch seconds (the store keeps milliseconds).
    assert 1_700_000_000 < alert["createTime"] < 1_750_000_001
    assert client.get("/v2/device/5/alerts", headers=monitoring).json() == []


def test_every_offline_approved_device_and_no_pending_one_has_an_alert(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    devices = client.get("/v2/devices", headers=monitoring).json()
    offline = {d["id"] for d in devices if d["offline"] and d["approvalStatus"] == "APPROVED"}
    pending = {d["id"] for d in devices if d["approvalStatus"] == "PENDING"}
    down = alerts(client, monitoring, "?sourceType=AGENT_OFFLINE,CONDITION_PING")
    assert {a["deviceId"] for a in down} == offline
    assert not pending & {a["deviceId"] for a in alerts(client, monitoring)}


def test_source_type_filters_by_one_or_more_sources(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    cpu = alerts(client, monitoring, "?sourceType=CONDITION_AGENT_CPU")
    assert cpu and {a["sourceType"] for a in cpu} == {"CONDITION_AGENT_CPU"}
    both = alerts(client, monitoring, "?sourceType=CONDITION_AGENT_CPU,AGENT_OFFLINE")
    assert {a["sourceType"] for a in both} == {"CONDITION_AGENT_CPU", "AGENT_OFFLINE"}
    # A valid source with no open alert: an empty list, not an error.
    assert alerts(client, monitoring, "?sourceType=CONDITION_LINUX_Daemon") == []


def test_the_device_filter_keeps_the_alerts_of_the_devices_it_selects(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    everything = alerts(client, monitoring)
    org1 = alerts(client, monitoring, "?df=org = 1")
    assert org1 and {a["device"]["organizationId"] for a in org1} == {1}
    assert len(org1) == sum(a["device"]["organizationId"] == 1 for a in everything)
    servers = alerts(client, monitoring, "?df=class = WINDOWS_SERVER AND org = 1")
    assert {a["device"]["nodeClass"] for a in servers} <= {"WINDOWS_SERVER"}
    assert {a["uid"] for a in servers} <= {a["uid"] for a in org1}
    assert alerts(client, monitoring, "?df=org = 999") == []


@pytest.mark.parametrize(
    ("query", "description"),
    [
        ("?df=name = x", "df: unsupported clause 'name = x'; supported: org = N, loc = N, "
         "class = NODE_CLASS, status = PENDING|APPROVED, joined by AND"),
        ("?sourceType=AGENT_OFFLINE,cpu", "sourceType: unknown alert source 'cpu'"),
        ("?tz=../../etc/passwd", "tz: expected a time zone name such as Europe/London"),
        ("?lang=" + "x" * 21, "lang: String should have at most 20 characters"),
    ],
    ids=["df", "sourceType", "tz", "lang"],
)  # fmt: skip
def test_a_bad_filter_is_a_400_naming_it(
    client: TestClient, monitoring: dict[str, str], query: str, description: str
) -> None:
    response = client.get(f"/v2/alerts{query}", headers=monitoring)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


def test_lang_and_tz_are_accepted_and_change_nothing(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    plain = alerts(client, monitoring)
    assert alerts(client, monitoring, "?lang=de&tz=Europe/Berlin") == plain
    response = client.get(f"/v2/device/{OFFLINE_DEVICE}/alerts?tz=UTC&lang=fr", headers=monitoring)
    assert [a["uid"] for a in response.json()] == [OFFLINE_ALERT]


def newest_activity(client: TestClient, headers: dict[str, str], device: int) -> dict[str, Any]:
    body = client.get(f"/v2/device/{device}/activities?pageSize=10", headers=headers).json()
    newest: dict[str, Any] = body["activities"][0]
    return newest


def test_resetting_an_alert_removes_it_from_both_lists_and_records_the_reset(
    client: TestClient, everything: dict[str, str]
) -> None:
    before = len(alerts(client, everything))
    response = client.post(
        f"/v2/alert/{OFFLINE_ALERT}/reset", json={"ticketId": 4711}, headers=everything
    )
    assert response.status_code == 204
    assert response.content == b""
    assert device_alerts(client, everything, OFFLINE_DEVICE) == []
    remaining = alerts(client, everything)
    assert len(remaining) == before - 1
    assert OFFLINE_ALERT not in {a["uid"] for a in remaining}
    activity = newest_activity(client, everything, OFFLINE_DEVICE)
    assert {k: v for k, v in activity.items() if k not in ("id", "activityTime")} == {
        "deviceId": OFFLINE_DEVICE,
        "severity": "NONE",
        "priority": "NONE",
        "activityType": "CONDITION",
        "statusCode": "RESET",
        "status": "Reset",
        "activityResult": "SUCCESS",
        "sourceName": "Device offline",
        "userId": ADMIN_ID,
        "message": f"Alert 'ACME-LT-006 is offline' on device {OFFLINE_DEVICE} reset through "
        "the API.",
        "data": {
            "ticketId": 4711,
            "seriesUid": OFFLINE_ALERT,
            "sourceType": "AGENT_OFFLINE",
            "sourceConfigUid": activity["data"]["sourceConfigUid"],
            "clientId": APP_ID,
        },
    }
    # Resetting it again: it is no longer open.
    again = client.post(f"/v2/alert/{OFFLINE_ALERT}/reset", headers=everything)
    assert again.status_code == 404
    assert again.json()["error_description"] == f"Alert {OFFLINE_ALERT} not found."


def test_delete_resets_the_alert_too_and_is_recorded_with_the_app(
    client: TestClient, token: MintToken, monitoring: dict[str, str]
) -> None:
    app_only = bearer(token("management"))  # client_credentials: no user
    cpu = alerts(client, monitoring, "?sourceType=CONDITION_AGENT_CPU")[0]
    response = client.delete(f"/v2/alert/{cpu['uid']}", headers=app_only)
    assert response.status_code == 204
    assert cpu["uid"] not in device_alerts(client, monitoring, cpu["deviceId"])
    assert cpu["uid"] not in {a["uid"] for a in alerts(client, monitoring)}
    activity = newest_activity(client, monitoring, cpu["deviceId"])
    assert (activity["activityType"], activity["statusCode"]) == ("CONDITION", "RESET")
    assert "userId" not in activity
    assert activity["data"]["clientId"] == APP_ID
    assert activity["data"]["seriesUid"] == cpu["uid"]
    assert client.delete(f"/v2/alert/{cpu['uid']}", headers=app_only).status_code == 404


def test_a_uid_in_another_spelling_names_the_same_alert(
    client: TestClient, everything: dict[str, str]
) -> None:
    response = client.delete(f"/v2/alert/{OFFLINE_ALERT.upper()}", headers=everything)
    assert response.status_code == 204
    assert device_alerts(client, everything, OFFLINE_DEVICE) == []


@pytest.mark.parametrize("method", ["DELETE", "POST"])
@pytest.mark.parametrize("uid", ["not-a-uuid", "43f23ed4-f35c-4dc9-91f8", "' OR 1=1 --"])
def test_a_uid_that_is_not_a_uuid_is_a_400_naming_it(
    client: TestClient, everything: dict[str, str], method: str, uid: str
) -> None:
    path = f"/v2/alert/{uid}" + ("/reset" if method == "POST" else "")
    response = client.request(method, path, headers=everything)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": UID_ERROR}
    assert device_alerts(client, everything, OFFLINE_DEVICE) == [OFFLINE_ALERT]


def test_an_unknown_uid_or_device_is_a_404(client: TestClient, everything: dict[str, str]) -> None:
    for method, path in (
        ("DELETE", f"/v2/alert/{NO_ALERT}"),
        ("POST", f"/v2/alert/{NO_ALERT}/reset"),
    ):
        response = client.request(method, path, headers=everything)
        assert response.status_code == 404
        assert response.json() == {
            "error": "not_found",
            "error_description": f"Alert {NO_ALERT} not found.",
        }
    response = client.get("/v2/device/9999/alerts", headers=everything)
    assert response.status_code == 404
    assert response.json()["error_description"] == "Device 9999 not found."


def test_custom_reset_data_must_be_a_json_object_of_bounded_size(
    client: TestClient, everything: dict[str, str]
) -> None:
    path = f"/v2/alert/{OFFLINE_ALERT}/reset"
    big = client.post(path, json={"note": "x" * 70_000}, headers=everything)
    assert big.status_code == 400
    assert big.json()["error_description"] == "body: at most 65536 bytes of JSON"
    listed = client.post(path, json=[1, 2], headers=everything)
    assert listed.json()["error_description"] == "body: Input should be a valid dictionary"
    assert device_alerts(client, everything, OFFLINE_DEVICE) == [OFFLINE_ALERT]


def test_reading_needs_monitoring_and_resetting_needs_management(
    client: TestClient, token: MintToken
) -> None:
    management, monitoring = bearer(token("management")), bearer(token("monitoring"))
    assert client.get("/v2/alerts", headers=management).status_code == 403
    assert client.get(f"/v2/device/{OFFLINE_DEVICE}/alerts", headers=management).status_code == 403
    for method, path in (
        ("DELETE", f"/v2/alert/{OFFLINE_ALERT}"),
        ("POST", f"/v2/alert/{OFFLINE_ALERT}/reset"),
    ):
        response = client.request(method, path, headers=monitoring)
        assert response.status_code == 403
        assert response.json()["error_description"] == "This call needs the 'management' scope."
    assert device_alerts(client, monitoring, OFFLINE_DEVICE) == [OFFLINE_ALERT]


def test_a_rejected_devices_alerts_leave_the_lists(
    client: TestClient, store: Store, everything: dict[str, str]
) -> None:
    uid = "7d0c3c8e-1b7a-4c55-9a3e-0f6f5b1d2e11"
    with store.transaction() as conn:
        conn.execute(
            insert(alert_table).values(
                uid=uid, device_id=PENDING_DEVICE, source_type="CONDITION_AGENT_CPU",
                message="CPU high", create_ms=NOW * 1000, update_ms=NOW * 1000, data={},
            )
        )  # fmt: skip
    assert device_alerts(client, everything, PENDING_DEVICE) == [uid]
    assert uid in {a["uid"] for a in alerts(client, everything, "?df=status = PENDING")}
    rejected = client.post(
        "/v2/devices/approval/REJECT", json={"devices": [PENDING_DEVICE]}, headers=everything
    )
    assert rejected.status_code == 204
    assert uid not in {a["uid"] for a in alerts(client, everything)}
    assert client.get(f"/v2/device/{PENDING_DEVICE}/alerts", headers=everything).status_code == 404
    assert client.delete(f"/v2/alert/{uid}", headers=everything).status_code == 404


# -- PostgreSQL: the same reads and resets, and two resets racing for one alert ------------------


def test_alerts_list_filter_and_reset_on_postgresql(pg_api: PgApi) -> None:
    client, headers = pg_api.client, bearer(mint(pg_api.store, "monitoring management"))
    listed = alerts(client, headers, "?df=org = 1&sourceType=AGENT_OFFLINE")
    assert OFFLINE_ALERT in {a["uid"] for a in listed}
    assert client.delete(f"/v2/alert/{OFFLINE_ALERT}", headers=headers).status_code == 204
    assert device_alerts(client, headers, OFFLINE_DEVICE) == []
    activity = newest_activity(client, headers, OFFLINE_DEVICE)
    assert (activity["statusCode"], activity["data"]["seriesUid"]) == ("RESET", OFFLINE_ALERT)
    assert client.post(f"/v2/alert/{OFFLINE_ALERT}/reset", headers=headers).status_code == 404


def test_of_two_resets_racing_for_one_alert_exactly_one_gets_it_on_postgresql(
    pg_api: PgApi,
) -> None:
    pg_store = pg_api.store
    with pg_store.transaction() as conn:
        uid = alert_sql.list_alerts(conn, devices_filter=DeviceFilter())[0]["uid"]
    start = threading.Barrier(2)
    taken: list[bool] = []

    def reset() -> None:
        start.wait()
        with pg_store.engine.begin() as conn:
            row = alert_sql.take_alert(conn, uid)
            time.sleep(0.2)  # the other waits on the row, then finds it gone
        taken.append(row is not None)

    threads = [threading.Thread(target=reset) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert sorted(taken) == [False, True]
