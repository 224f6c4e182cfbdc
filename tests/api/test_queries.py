"""The /v2/queries reports: on the demo data, paged by cursor, filtered, and always in agreement
with the per-device endpoints that read the same rows."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, update

from ninja_oauth.store.api_tables import alerts, device_inventory, devices, organizations
from ninja_oauth.store.db import Store

from .conftest import NOW, PgApi, bearer, mint
from .endpoints import PENDING_DEVICE, WINDOWS_DESKTOP
from .endpoints_queries import ENDPOINTS

REPORTS = [e.path for e in ENDPOINTS]
Headers = dict[str, str]


def get(client: TestClient, url: str, headers: Headers) -> dict[str, Any]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def walk(client: TestClient, url: str, headers: Headers) -> Iterator[dict[str, Any]]:
    """Every page of a report, following ``cursor.name`` until a page has none."""
    separator = "&" if "?" in url else "?"
    page = get(client, url, headers)
    yield page
    while "name" in page["cursor"]:
        page = get(client, f"{url}{separator}cursor={page['cursor']['name']}", headers)
        yield page


def everything(client: TestClient, url: str, headers: Headers) -> list[dict[str, Any]]:
    return [item for page in walk(client, url, headers) for item in page["results"]]


def bad(client: TestClient, url: str, headers: Headers, description: str) -> None:
    response = client.get(url, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": "invalid_request", "error_description": description}


def q(df: str) -> str:
    return quote(df)


def canonical(items: list[dict[str, Any]]) -> list[str]:
    """The items as a sorted list, whatever the order of the items and of their keys."""
    return sorted(json.dumps(i, sort_keys=True) for i in items)


# -- on the demo data ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", REPORTS)
def test_every_report_has_rows_on_the_demo_data(
    client: TestClient, monitoring: Headers, path: str
) -> None:
    body = get(client, path, monitoring)
    assert body["results"], path
    assert body["cursor"]["offset"] == 0
    assert body["cursor"]["count"] == len(body["results"])


def test_the_software_report_lists_exactly_each_devices_software(
    client: TestClient, monitoring: Headers
) -> None:
    by_device: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for item in everything(client, "/v2/queries/software?pageSize=500", monitoring):
        device_id = item.pop("deviceId")
        assert isinstance(item.pop("timestamp"), float)
        by_device[device_id].append(item)
    assert len(by_device) > 200
    for device_id in [WINDOWS_DESKTOP, *sorted(by_device)[::40]]:
        own = get(client, f"/v2/device/{device_id}/software", monitoring)
        assert canonical(by_device[device_id]) == canonical(own)


@pytest.mark.parametrize(
    ("report", "per_device"),
    [
        ("windows-services", "windows-services"),
        ("processors", "processors"),
        ("disks", "disks"),
        ("volumes?include=bl", "volumes?include=bl"),
        ("volumes", "volumes"),
        ("network-interfaces", "network-interfaces"),
        ("os-patches", "os-patches"),
        ("os-patch-installs", "os-patch-installs"),
        ("software-patches", "software-patches"),
        ("software-patch-installs", "software-patch-installs"),
    ],
)
def test_a_report_agrees_with_the_per_device_endpoint(
    client: TestClient, monitoring: Headers, report: str, per_device: str
) -> None:
    items = everything(client, f"/v2/queries/{report}", monitoring)
    device_id = items[0]["deviceId"]
    mine = [
        {k: v for k, v in item.items() if k not in ("deviceId", "timestamp")}
        for item in items
        if item["deviceId"] == device_id
    ]
    own = get(client, f"/v2/device/{device_id}/{per_device}", monitoring)
    assert canonical(mine) == canonical(own)


def test_the_timestamp_is_when_the_device_last_sent_its_data(
    client: TestClient, monitoring: Headers
) -> None:
    item = get(client, "/v2/queries/operating-systems?df=org%20%3D%201", monitoring)["results"][0]
    device = get(client, f"/v2/device/{item['deviceId']}", monitoring)
    assert item["timestamp"] == device["lastUpdate"]


# -- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/v2/queries/software",
        "/v2/queries/device-health",
        "/v2/queries/custom-fields-detailed",
        "/v2/queries/scoped-custom-fields",
    ],
)
def test_cursor_paging_returns_every_item_once_in_order(
    client: TestClient, monitoring: Headers, path: str
) -> None:
    whole = get(client, f"{path}?pageSize=10000", monitoring)
    assert "name" not in whole["cursor"]
    pages = list(walk(client, f"{path}?pageSize=37", monitoring))
    assert len(pages) == -(-len(whole["results"]) // 37)
    assert [item for p in pages for item in p["results"]] == whole["results"]
    offsets = [p["cursor"]["offset"] for p in pages]
    assert offsets == [37 * n for n in range(len(pages))]
    assert all(p["cursor"]["count"] == len(p["results"]) for p in pages)
    assert all(p["cursor"]["expires"] > NOW for p in pages[:-1])
    assert "name" not in pages[-1]["cursor"] and "expires" not in pages[-1]["cursor"]


def test_a_page_exactly_at_the_end_has_no_next_cursor(
    client: TestClient, monitoring: Headers
) -> None:
    total = len(get(client, "/v2/queries/processors?pageSize=10000", monitoring)["results"])
    page = get(client, f"/v2/queries/processors?pageSize={total}", monitoring)
    assert page["cursor"] == {"offset": 0, "count": total}


def test_a_page_size_beyond_the_largest_page_is_served_in_pages_of_10000(
    client: TestClient, monitoring: Headers
) -> None:
    page = get(client, "/v2/queries/software?pageSize=2147483647", monitoring)
    assert "name" not in page["cursor"] and page["results"]


def test_pages_of_ten_need_the_bounded_reports_smallest_page(
    client: TestClient, monitoring: Headers
) -> None:
    pages = list(walk(client, "/v2/queries/logged-on-users?pageSize=10", monitoring))
    assert len(pages) > 2 and all(len(p["results"]) == 10 for p in pages[:-1])


def test_a_cursor_serves_only_the_report_and_filters_that_issued_it(
    client: TestClient, monitoring: Headers
) -> None:
    name = get(client, "/v2/queries/software?pageSize=10", monitoring)["cursor"]["name"]
    other = "cursor: issued for another report or other filters"
    bad(client, f"/v2/queries/processors?cursor={name}", monitoring, other)
    bad(client, f"/v2/queries/software?cursor={name}&df={q('org = 1')}", monitoring, other)
    # Well formed, but not from this report and filters (its digest is made up).
    bad(client, "/v2/queries/software?cursor=MS4xMjM0NTY3ODlhYmNkZWYwLjEwLjU", monitoring, other)
    # Another page size is the same query: the cursor goes on from where it was.
    assert get(client, f"/v2/queries/software?cursor={name}&pageSize=20", monitoring)["results"]


@pytest.mark.parametrize(
    "cursor",
    ["x", "bm90LWEtY3Vyc29y", "%E2%82%AC", "==", "MS4", "MS4xMjM0NTY3ODlhYmNkZWYwLjEwLjUtNi03"],
)
def test_a_cursor_this_server_did_not_issue_is_a_400(
    client: TestClient, monitoring: Headers, cursor: str
) -> None:
    url = f"/v2/queries/software?cursor={cursor}"
    bad(client, url, monitoring, "cursor: not a cursor this server issued")


# -- filters -----------------------------------------------------------------------------------


def device_ids(client: TestClient, df: str, headers: Headers) -> set[int]:
    return {d["id"] for d in get_list(client, f"/v2/devices?df={q(df)}", headers)}


def get_list(client: TestClient, url: str, headers: Headers) -> list[dict[str, Any]]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


@pytest.mark.parametrize("df", ["org = 1", "class = WINDOWS_SERVER", "loc = 2 AND org = 1"])
@pytest.mark.parametrize("report", ["software", "device-health", "custom-fields-detailed"])
def test_df_keeps_the_items_of_the_devices_it_selects(
    client: TestClient, monitoring: Headers, df: str, report: str
) -> None:
    wanted = device_ids(client, df, monitoring)
    items = everything(client, f"/v2/queries/{report}?df={q(df)}", monitoring)
    found = {i.get("deviceId", i.get("entityId")) for i in items}
    assert found and found <= wanted
    unfiltered = everything(client, f"/v2/queries/{report}", monitoring)
    assert [i for i in unfiltered if i.get("deviceId", i.get("entityId")) in wanted] == items


def test_installed_after_and_before_split_the_software_by_install_date(
    client: TestClient, monitoring: Headers
) -> None:
    every = everything(client, "/v2/queries/software", monitoring)
    after = everything(client, "/v2/queries/software?installedAfter=20240601", monitoring)
    before = everything(client, "/v2/queries/software?installedBefore=2024-06-01", monitoring)
    assert after and before and len(after) + len(before) == len(every)
    assert all(i["installDate"] >= "2024-06-01" for i in after)
    assert all(i["installDate"] < "2024-06-01" for i in before)
    seconds = everything(client, "/v2/queries/software?installedAfter=1717200000", monitoring)
    assert seconds == after


@pytest.mark.parametrize(
    ("url", "field", "allowed"),
    [
        ("/v2/queries/os-patch-installs?status=failed", "status", {"FAILED"}),
        ("/v2/queries/os-patches?status=PENDING,REJECTED", "status", {"PENDING", "REJECTED"}),
        ("/v2/queries/os-patches?severity=CRITICAL", "severity", {"CRITICAL"}),
        ("/v2/queries/os-patches?type=SECURITY_UPDATES", "type", {"SECURITY_UPDATES"}),
        ("/v2/queries/software-patches?impact=critical", "impact", {"CRITICAL"}),
        ("/v2/queries/software-patch-installs?status=INSTALLED", "status", {"INSTALLED"}),
        ("/v2/queries/antivirus-status?productState=OFF", "productState", {"OFF"}),
        ("/v2/queries/windows-services?state=STOPPED", "state", {"STOPPED"}),
    ],
)
def test_a_value_filter_keeps_only_matching_items(
    client: TestClient, monitoring: Headers, url: str, field: str, allowed: set[str]
) -> None:
    items = everything(client, url, monitoring)
    assert items and {i[field] for i in items} == allowed


def test_filters_combine_and_product_name_is_exact(client: TestClient, monitoring: Headers) -> None:
    url = "/v2/queries/antivirus-status?productName=Windows%20Defender&productState=ON"
    items = everything(client, url, monitoring)
    assert items and {(i["productName"], i["productState"]) for i in items} == {
        ("Windows Defender", "ON")
    }
    assert get(client, "/v2/queries/antivirus-status?productName=Windows", monitoring) == {
        "cursor": {"offset": 0, "count": 0},
        "results": [],
    }


def test_a_product_identifier_keeps_one_products_patches(
    client: TestClient, monitoring: Headers
) -> None:
    first = get(client, "/v2/queries/software-patch-installs", monitoring)["results"][0]
    product = first["productIdentifier"]
    url = f"/v2/queries/software-patch-installs?productIdentifier={product}"
    items = everything(client, url, monitoring)
    assert first in items and {i["productIdentifier"] for i in items} == {product}


def test_the_service_name_matches_part_of_a_name_or_display_name(
    client: TestClient, monitoring: Headers
) -> None:
    items = everything(client, "/v2/queries/windows-services?name=spool", monitoring)
    assert items and {i["name"] for i in items} == {"Spooler"}
    by_display = everything(client, "/v2/queries/windows-services?name=PRINT%20SP", monitoring)
    assert by_display == items
    assert get(client, "/v2/queries/windows-services?name=%25", monitoring)["results"] == []


def test_volumes_carry_their_bitlocker_status_only_when_asked(
    client: TestClient, monitoring: Headers
) -> None:
    plain = everything(client, "/v2/queries/volumes", monitoring)
    with_bl = everything(client, "/v2/queries/volumes?include=bl", monitoring)
    assert not any("bitLockerStatus" in v for v in plain)
    assert any("bitLockerStatus" in v for v in with_bl)
    bad(client, "/v2/queries/volumes?include=tpm", monitoring,
        "include: supported: bl (the BitLocker status)")  # fmt: skip


def test_ts_keeps_what_devices_sent_at_or_after_a_time(
    client: TestClient, monitoring: Headers
) -> None:
    every = everything(client, "/v2/queries/computer-systems", monitoring)
    cut = sorted(i["timestamp"] for i in every)[len(every) // 2]
    recent = everything(client, f"/v2/queries/computer-systems?ts={int(cut)}", monitoring)
    assert recent == [i for i in every if i["timestamp"] >= int(cut)]
    assert 0 < len(recent) < len(every)


def test_device_health_keeps_the_statuses_asked_for(
    client: TestClient, monitoring: Headers
) -> None:
    every = everything(client, "/v2/queries/device-health", monitoring)
    statuses = {d["healthStatus"] for d in every}
    assert {"HEALTHY", "NEEDS_ATTENTION", "UNHEALTHY"} <= statuses
    unhealthy = everything(client, "/v2/queries/device-health?health=unhealthy", monitoring)
    assert unhealthy == [d for d in every if d["healthStatus"] == "UNHEALTHY"]
    paged = everything(client, "/v2/queries/device-health?health=UNHEALTHY&pageSize=3", monitoring)
    assert paged == unhealthy


# -- what device health is made of --------------------------------------------------------------


def add_items(store: Store, device_id: int, kind: str, *data: dict[str, Any]) -> None:
    with store.transaction() as conn:
        conn.execute(
            insert(device_inventory),
            [{"device_id": device_id, "kind": kind, "item_key": None, "at_ms": NOW * 1000,
              "data": d} for d in data],
        )  # fmt: skip


def health_of(client: TestClient, device_id: int, headers: Headers) -> dict[str, Any]:
    found = [
        d
        for d in everything(client, "/v2/queries/device-health?pageSize=1000", headers)
        if d["deviceId"] == device_id
    ]
    assert len(found) == 1
    return found[0]


def test_device_health_counts_what_the_store_knows_of_the_device(
    client: TestClient, monitoring: Headers, store: Store
) -> None:
    device_id = WINDOWS_DESKTOP
    with store.transaction() as conn:
        conn.execute(update(devices).where(devices.c.id == device_id).values(offline=False))
        conn.execute(device_inventory.delete().where(device_inventory.c.device_id == device_id))
        conn.execute(alerts.delete().where(alerts.c.device_id == device_id))
    assert health_of(client, device_id, monitoring)["healthStatus"] == "HEALTHY"
    add_items(store, device_id, "os_patch", {"status": "PENDING"}, {"status": "MANUAL"},
              {"status": "REJECTED"})  # fmt: skip
    add_items(store, device_id, "software_patch_install", {"status": "FAILED"})
    add_items(store, device_id, "antivirus_threat", {"status": "QUARANTINED"},
              {"status": "ALLOWED"}, {"status": "REMOVED"})  # fmt: skip
    add_items(store, device_id, "job", {"jobStatus": "IN_PROCESS"}, {"jobStatus": "COMPLETED"})
    add_items(store, device_id, "operating_system", {"needsReboot": True})
    add_items(store, device_id, "antivirus_status", {"productName": "Windows Defender"})
    with store.transaction() as conn:
        conn.execute(
            insert(alerts).values(
                uid="00000000-0000-4000-8000-000000000001", device_id=device_id,
                source_type="CONDITION_AGENT_CPU", message="CPU above 90%", create_ms=NOW,
                update_ms=NOW, data={},
            )
        )  # fmt: skip
    assert health_of(client, device_id, monitoring) == {
        "deviceId": device_id,
        "activeThreatsCount": 1,
        "quarantinedThreatsCount": 1,
        "blockedThreatsCount": 0,
        "failedOSPatchesCount": 0,
        "pendingOSPatchesCount": 2,
        "failedSoftwarePatchesCount": 1,
        "pendingSoftwarePatchesCount": 0,
        "alertCount": 1,
        "activeJobCount": 1,
        "pendingRebootReason": "Operating system updates",
        "avInstallStatus": "INSTALLED",
        "offline": False,
        "healthStatus": "UNHEALTHY",
        "installationIssuesCount": 0,
    }


# -- custom fields -----------------------------------------------------------------------------


def test_custom_fields_detailed_shows_each_devices_values_and_a_write_at_once(
    client: TestClient, monitoring: Headers, management: Headers
) -> None:
    def entry(device_id: int) -> dict[str, Any]:
        return next(
            d
            for d in everything(client, "/v2/queries/custom-fields-detailed", monitoring)
            if d["entityId"] == device_id
        )

    own = get(client, f"/v2/device/{WINDOWS_DESKTOP}/custom-fields", monitoring)
    assert entry(WINDOWS_DESKTOP) == {
        "entityType": "NODE",
        "entityId": WINDOWS_DESKTOP,
        "fields": [{"name": k, "value": v} for k, v in sorted(own.items())],
    }
    response = client.patch(
        f"/v2/device/{WINDOWS_DESKTOP}/custom-fields",
        json={"warrantyTier": "gold", "seats": 3},
        headers=management,
    )
    assert response.status_code == 204
    assert {f["name"]: f["value"] for f in entry(WINDOWS_DESKTOP)["fields"]} == {
        **own, "warrantyTier": "gold", "seats": 3,
    }  # fmt: skip
    picked = everything(
        client, "/v2/queries/custom-fields-detailed?fields=seats,nothing", monitoring
    )
    assert picked == [{"entityType": "NODE", "entityId": WINDOWS_DESKTOP,
                       "fields": [{"name": "seats", "value": 3}]}]  # fmt: skip


def test_scoped_custom_fields_walk_organizations_locations_then_devices(
    client: TestClient, monitoring: Headers, store: Store
) -> None:
    with store.transaction() as conn:
        conn.execute(
            update(organizations).where(organizations.c.id == 2).values(fields={"tier": "A"})
        )
    every = everything(client, "/v2/queries/scoped-custom-fields?pageSize=10", monitoring)
    assert every[0] == {"scope": "ORGANIZATION", "entityId": 2, "fields": {"tier": "A"}}
    assert {e["scope"] for e in every[1:]} == {"NODE"}
    nodes = everything(client, "/v2/queries/scoped-custom-fields?scopes=node", monitoring)
    assert nodes == every[1:]
    orgs = everything(
        client, "/v2/queries/scoped-custom-fields?scopes=ORGANIZATION,LOCATION", monitoring
    )
    assert orgs == every[:1]
    assert everything(client, "/v2/queries/scoped-custom-fields?fields=tier", monitoring) == orgs


def test_bad_dates_and_page_sizes_name_their_field(client: TestClient, monitoring: Headers) -> None:
    bad(client, "/v2/queries/custom-fields-detailed?updatedAfter=later", monitoring,
        "updatedAfter: expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)")  # fmt: skip
    bad(client, "/v2/queries/os-patches?ts=86400", monitoring,  # 5 digits: neither form
        "ts: expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)")  # fmt: skip
    bad(client, "/v2/queries/scoped-custom-fields?pageSize=9", monitoring,
        "pageSize: Input should be greater than or equal to 10")  # fmt: skip
    bad(client, "/v2/queries/windows-services?pageSize=10001", monitoring,
        "pageSize: Input should be less than or equal to 10000")  # fmt: skip


# -- which devices count -----------------------------------------------------------------------


def test_a_rejected_devices_items_leave_the_reports_and_pending_ones_follow_df(
    client: TestClient, monitoring: Headers, store: Store
) -> None:
    add_items(store, PENDING_DEVICE, "processor", {"name": "Pending CPU", "numCores": 4})
    pending = everything(client, f"/v2/queries/processors?df={q('status = PENDING')}", monitoring)
    assert [p["name"] for p in pending if p["deviceId"] == PENDING_DEVICE] == ["Pending CPU"]
    approved = everything(client, f"/v2/queries/processors?df={q('status = APPROVED')}", monitoring)
    assert PENDING_DEVICE not in {p["deviceId"] for p in approved}
    with store.transaction() as conn:
        conn.execute(
            update(devices).where(devices.c.id == PENDING_DEVICE).values(approval_status="REJECTED")
        )
    every = everything(client, "/v2/queries/processors", monitoring)
    assert PENDING_DEVICE not in {p["deviceId"] for p in every}


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(pg_api: PgApi) -> tuple[TestClient, Headers]:
    """A monitoring token: what the reports need."""
    return pg_api.client, bearer(mint(pg_api.store, "monitoring"))


def test_reports_filter_and_page_alike_on_postgresql(
    pg: tuple[TestClient, Headers], client: TestClient, monitoring: Headers
) -> None:
    pg_client, pg_headers = pg
    for url in [
        "/v2/queries/software?installedAfter=20240601&pageSize=50",
        f"/v2/queries/os-patches?status=pending,approved&df={q('org = 1')}",
        "/v2/queries/windows-services?name=SPOOL&state=RUNNING",
        "/v2/queries/software-patches?impact=CRITICAL",
        "/v2/queries/device-health?health=UNHEALTHY,NEEDS_ATTENTION&pageSize=25",
        "/v2/queries/custom-fields-detailed?pageSize=50",
        "/v2/queries/scoped-custom-fields?scopes=NODE&pageSize=50",
    ]:
        on_pg = everything(pg_client, url, pg_headers)
        on_sqlite = everything(client, url, monitoring)
        assert on_pg and on_pg == on_sqlite, url


def test_a_cursor_edited_past_int32_is_a_400_on_postgresql(
    pg: tuple[TestClient, Headers], monitoring: Headers
) -> None:
    """A real cursor with its key edited beyond the INTEGER ids: PostgreSQL would refuse the
    comparison (a 500); the server refuses the cursor first."""
    import base64

    pg_client, pg_headers = pg
    name = get(pg_client, "/v2/queries/software?pageSize=10", pg_headers)["cursor"]["name"]
    raw = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
    version, digest, offset, _key = raw.split(".")
    for forged in (f"{version}.{digest}.{offset}.9999999999", f"{version}.{digest}.9999999999.5"):
        edited = base64.urlsafe_b64encode(forged.encode()).rstrip(b"=").decode()
        bad(pg_client, f"/v2/queries/software?cursor={edited}", pg_headers,
            "cursor: not a cursor this server issued")  # fmt: skip
