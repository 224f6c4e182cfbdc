"""Device inventory, maintenance, Windows service actions and jobs (issue 14), over HTTP on the
demo data: lists are filled, filters filter, writes show on the next read and are recorded as
activities naming the app, and bad input or unknown ids get the documented errors."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ninja_oauth.store.api_tables import device_inventory, device_maintenance
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.public_api.inventory import KINDS

from .conftest import APP_ID, NOW, PgApi
from .endpoints import MAC_DEVICE, OFFLINE_DEVICE, PENDING_DEVICE, WINDOWS_DESKTOP
from .endpoints_inventory import JOB_DEVICE, OVERRIDDEN_DEVICE

D = f"/v2/device/{WINDOWS_DESKTOP}"


def newest_activity(client: TestClient, headers: dict[str, str], device: int) -> dict[str, Any]:
    body = client.get(f"/v2/device/{device}/activities?pageSize=10", headers=headers).json()
    activity: dict[str, Any] = body["activities"][0]
    return activity


def assert_error(response: Any, status: int, error: str, description: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"error": error, "error_description": description}


# -- the demo data -----------------------------------------------------------------------------


def test_the_demo_fills_every_kind_and_stays_small(store: Store) -> None:
    with store.transaction() as conn:
        counts = dict(
            conn.execute(
                select(device_inventory.c.kind, func.count()).group_by(device_inventory.c.kind)
            ).all()
        )
        windows = conn.execute(select(func.count()).select_from(device_maintenance)).scalar()
    assert set(counts) == set(KINDS)
    assert all(n > 0 for n in counts.values())
    assert sum(counts.values()) < 15_000
    assert windows


def test_the_demo_is_the_same_on_every_load(tmp_path: Any) -> None:
    def rows(name: str) -> list[tuple[Any, ...]]:
        url = f"sqlite:///{tmp_path / name}"
        migrate(url)
        store = Store(url)
        try:
            load_demo_api_data(store, now=NOW)
            with store.transaction() as conn:
                stmt = select(device_inventory).order_by(device_inventory.c.id)
                return [tuple(r) for r in conn.execute(stmt)]
        finally:
            store.close()

    assert rows("a.db") == rows("b.db")


# -- reads -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rest",
    ["/software", "/windows-services", "/processors", "/disks", "/volumes",
     "/network-interfaces", "/os-patches", "/os-patch-installs"],
)  # fmt: skip
def test_a_windows_desktop_reports_each_list(
    client: TestClient, monitoring: dict[str, str], rest: str
) -> None:
    response = client.get(f"{D}{rest}", headers=monitoring)
    assert response.status_code == 200
    assert response.json(), rest


def test_a_mac_has_software_and_volumes_but_no_windows_services(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    mac = f"/v2/device/{MAC_DEVICE}"
    assert client.get(f"{mac}/windows-services", headers=monitoring).json() == []
    volumes = client.get(f"{mac}/volumes", headers=monitoring).json()
    assert volumes[0]["fileSystem"] == "APFS"
    assert client.get(f"{mac}/software", headers=monitoring).json()


def test_services_filter_by_state_and_by_part_of_the_name(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    everything = client.get(f"{D}/windows-services", headers=monitoring).json()
    stopped = client.get(f"{D}/windows-services?state=STOPPED", headers=monitoring).json()
    assert stopped and {s["state"] for s in stopped} == {"STOPPED"}
    assert len(stopped) < len(everything)
    spooler = client.get(f"{D}/windows-services?name=print spool", headers=monitoring).json()
    assert [s["name"] for s in spooler] == ["Spooler"]


def test_bitlocker_status_only_with_include_bl(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    plain = client.get(f"{D}/volumes", headers=monitoring).json()
    assert all("bitLockerStatus" not in v for v in plain)
    with_bl = client.get(f"{D}/volumes?include=bl", headers=monitoring).json()
    assert all(v["bitLockerStatus"]["conversionStatus"] for v in with_bl)


def test_patch_installs_filter_by_status_and_date(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    installs = client.get(f"{D}/os-patch-installs", headers=monitoring).json()
    assert {p["status"] for p in installs} <= {"INSTALLED", "FAILED"}
    middle = sorted(p["installedAt"] for p in installs)[len(installs) // 2]
    after = client.get(
        f"{D}/os-patch-installs?installedAfter={int(middle)}", headers=monitoring
    ).json()
    assert after and all(p["installedAt"] >= int(middle) for p in after)
    assert (
        client.get(f"{D}/os-patch-installs?installedBefore=20000101", headers=monitoring).json()
        == []
    )
    pending = client.get(f"{D}/os-patches?status=pending,approved,rejected,manual",
                         headers=monitoring).json()  # fmt: skip
    assert pending == client.get(f"{D}/os-patches", headers=monitoring).json()


def test_software_patches_filter_by_product(client: TestClient, monitoring: dict[str, str]) -> None:
    patches = client.get(
        f"/v2/device/{OVERRIDDEN_DEVICE}/software-patches", headers=monitoring
    ).json()
    assert patches
    product = patches[0]["productIdentifier"]
    same = client.get(
        f"/v2/device/{OVERRIDDEN_DEVICE}/software-patches?productIdentifier={product}",
        headers=monitoring,
    ).json()
    assert same and {p["productIdentifier"] for p in same} == {product}


def test_the_last_logged_on_user_is_one_object(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    user = client.get(f"{D}/last-logged-on-user", headers=monitoring).json()
    assert set(user) == {"userName", "logonTime"}
    # A network switch has no agent, so no user: an empty object.
    assert client.get("/v2/device/11/last-logged-on-user", headers=monitoring).json() == {}


def test_jobs_across_devices_filter_by_device_filter_and_type(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    every = client.get("/v2/jobs", headers=monitoring).json()
    assert len({j["deviceId"] for j in every}) > 5
    mine = client.get(f"/v2/device/{JOB_DEVICE}/jobs", headers=monitoring).json()
    assert mine and {j["deviceId"] for j in mine} == {JOB_DEVICE}
    org1 = client.get("/v2/jobs?df=org = 1", headers=monitoring).json()
    assert mine[0] in org1 and len(org1) < len(every)
    job_type = mine[0]["jobType"]
    typed = client.get(f"/v2/jobs?jobType={job_type}", headers=monitoring).json()
    assert typed and {j["jobType"] for j in typed} == {job_type}


def test_scripting_options_follow_the_devices_system(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    windows = client.get(f"{D}/scripting/options", headers=monitoring).json()
    names = {s["name"] for s in windows["scripts"]}
    assert "Clear Temp Files" in names and "Upgrade Linux Packages" not in names
    assert "Legacy Inventory (VBScript)" not in names  # not active
    assert {s["type"] for s in windows["scripts"]} == {"ACTION", "SCRIPT"}
    assert "SYSTEM" in windows["credentials"]["roles"]
    mac = client.get(f"/v2/device/{MAC_DEVICE}/scripting/options", headers=monitoring).json()
    assert "macOS Software Update" in {s["name"] for s in mac["scripts"]}


def test_reads_of_an_unknown_device_are_404(client: TestClient, monitoring: dict[str, str]) -> None:
    assert_error(client.get("/v2/device/9999/software", headers=monitoring),
                 404, "not_found", "Device 9999 not found.")  # fmt: skip


# -- writes ------------------------------------------------------------------------------------


def test_a_stopped_service_shows_stopped_and_is_recorded(
    client: TestClient, everything: dict[str, str]
) -> None:
    url = f"{D}/windows-service/Spooler/control"
    assert client.post(url, json={"action": "STOP"}, headers=everything).status_code == 204
    services = client.get(f"{D}/windows-services?name=Spooler", headers=everything).json()
    assert services[0]["state"] == "STOPPED"
    activity = newest_activity(client, everything, WINDOWS_DESKTOP)
    assert activity["statusCode"] == "REMOTE_TOOLS_STOP_SERVICE_SUCCESS"
    assert activity["activityType"] == "REMOTE_TOOLS"
    assert activity["data"]["clientId"] == APP_ID
    assert client.post(url, json={"action": "START"}, headers=everything).status_code == 204
    services = client.get(f"{D}/windows-services?name=Spooler", headers=everything).json()
    assert services[0]["state"] == "RUNNING"


def test_service_control_needs_control_and_configure_needs_management(
    client: TestClient, token: Any
) -> None:
    from .conftest import bearer

    management = bearer(token("monitoring management"))
    response = client.post(
        f"{D}/windows-service/Spooler/control", json={"action": "STOP"}, headers=management
    )
    assert response.status_code == 403
    response = client.post(
        f"{D}/windows-service/Spooler/configure", json={"startType": "DISABLED"},
        headers=bearer(token("control")),
    )  # fmt: skip
    assert response.status_code == 403


def test_a_configured_service_shows_its_new_start_type_and_a_disabled_one_cannot_start(
    client: TestClient, everything: dict[str, str]
) -> None:
    url = f"{D}/windows-service/Spooler"
    response = client.post(
        f"{url}/configure", json={"startType": "DISABLED", "userName": ".\\svc-print"},
        headers=everything,
    )  # fmt: skip
    assert response.status_code == 204
    service = client.get(f"{D}/windows-services?name=Spooler", headers=everything).json()[0]
    assert (service["startType"], service["userName"]) == ("DISABLED", ".\\svc-print")
    activity = newest_activity(client, everything, WINDOWS_DESKTOP)
    assert activity["data"]["startType"] == "DISABLED"
    assert_error(
        client.post(f"{url}/control", json={"action": "START"}, headers=everything),
        409,
        "conflict",
        "Service Spooler is disabled: change its start type first.",
    )


def test_service_actions_on_an_unknown_service_or_an_unusable_device(
    client: TestClient, everything: dict[str, str]
) -> None:
    body = {"action": "RESTART"}
    assert_error(
        client.post(f"{D}/windows-service/NoSuchSvc/control", json=body, headers=everything),
        404, "not_found", f"Service NoSuchSvc not found on device {WINDOWS_DESKTOP}.",
    )  # fmt: skip
    assert_error(
        client.post(f"/v2/device/{MAC_DEVICE}/windows-service/Spooler/configure",
                    json={"startType": "AUTO_START"}, headers=everything),
        404, "not_found", f"Service Spooler not found on device {MAC_DEVICE}.",
    )  # fmt: skip
    offline = f"/v2/device/{OFFLINE_DEVICE}/windows-service/Spooler/control"
    assert_error(client.post(offline, json=body, headers=everything),
                 409, "conflict", f"Device {OFFLINE_DEVICE} is offline.")  # fmt: skip
    pending = f"/v2/device/{PENDING_DEVICE}/windows-service/Spooler/control"
    assert_error(client.post(pending, json=body, headers=everything),
                 409, "conflict", f"Device {PENDING_DEVICE} is waiting for approval.")  # fmt: skip
    assert_error(
        client.post(f"{D}/windows-service/Spooler/configure", json={}, headers=everything),
        400,
        "invalid_request",
        "startType: give startType, userName or both",
    )


def test_reset_policy_overrides_removes_them_and_is_recorded(
    client: TestClient, everything: dict[str, str]
) -> None:
    url = f"/v2/device/{OVERRIDDEN_DEVICE}/policy/overrides"
    assert client.get(url, headers=everything).json()["overrides"]
    assert client.delete(url, headers=everything).status_code == 204
    assert client.get(url, headers=everything).json() == {"overrides": []}
    activity = newest_activity(client, everything, OVERRIDDEN_DEVICE)
    assert (activity["statusCode"], activity["status"]) == ("POLICY_UPDATED",
                                                            "Policy overrides reset")  # fmt: skip


def test_maintenance_is_scheduled_replaced_and_cancelled(
    client: TestClient, everything: dict[str, str], store: Store
) -> None:
    url = f"{D}/maintenance"

    def window() -> tuple[Any, ...] | None:
        with store.transaction() as conn:
            row = conn.execute(
                select(device_maintenance.c.start_ms, device_maintenance.c.end_ms,
                       device_maintenance.c.disabled_features)
                .where(device_maintenance.c.device_id == WINDOWS_DESKTOP)
            ).first()  # fmt: skip
        return None if row is None else tuple(row)

    body = {"start": 4_000_000_000, "end": 4_000_003_600, "disabledFeatures": ["ALERTS"]}
    assert client.put(url, json=body, headers=everything).status_code == 204
    assert window() == (4_000_000_000_000, 4_000_003_600_000, ["ALERTS"])
    # The device itself says so (the spec's Device.maintenance), until the window is over.
    shown = client.get(D, headers=everything).json()["maintenance"]
    assert shown == {"status": "PENDING", "start": 4_000_000_000.0, "end": 4_000_003_600.0}
    body = {"end": 4_100_000_000, "disabledFeatures": ["PATCHING", "TASKS"]}
    assert client.put(url, json=body, headers=everything).status_code == 204
    assert window()[1:] == (4_100_000_000_000, ["PATCHING", "TASKS"])  # type: ignore[index]
    assert newest_activity(client, everything, WINDOWS_DESKTOP)["status"] == (
        "Maintenance scheduled"
    )
    assert client.delete(url, headers=everything).status_code == 204
    assert window() is None
    assert "maintenance" not in client.get(D, headers=everything).json()
    assert newest_activity(client, everything, WINDOWS_DESKTOP)["status"] == (
        "Maintenance cancelled"
    )
    # Nothing left to cancel: still 204, and nothing more recorded.
    assert client.delete(url, headers=everything).status_code == 204
    assert newest_activity(client, everything, WINDOWS_DESKTOP)["status"] == (
        "Maintenance cancelled"
    )


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"end": 1_000}, "end: must be later than start and than now"),
        ({"start": 4_000_000_000, "end": 3_999_999_999},
         "end: must be later than start and than now"),
        ({"end": 4_000_000_000, "disabledFeatures": ["COFFEE"]},
         "disabledFeatures.0: Input should be 'ALERTS', 'PATCHING', 'AVSCANS' or 'TASKS'"),
        ({"end": "soon"}, "end: Input should be a valid number, unable to parse string as a "
                          "number"),
    ],
    ids=["end-in-the-past", "end-before-start", "unknown-feature", "end-not-a-number"],
)  # fmt: skip
def test_bad_maintenance_is_a_400_naming_the_field(
    client: TestClient, everything: dict[str, str], body: dict[str, Any], description: str
) -> None:
    assert_error(client.put(f"{D}/maintenance", json=body, headers=everything),
                 400, "invalid_request", description)  # fmt: skip


def test_maintenance_of_a_device_waiting_for_approval_is_refused(
    client: TestClient, everything: dict[str, str]
) -> None:
    assert_error(
        client.put(f"/v2/device/{PENDING_DEVICE}/maintenance", json={"end": 4_000_000_000},
                   headers=everything),
        409, "conflict", f"Device {PENDING_DEVICE} is waiting for approval.",
    )  # fmt: skip


# -- PostgreSQL --------------------------------------------------------------------------------


@pytest.mark.postgres
def test_inventory_reads_and_writes_on_postgresql(pg_api: PgApi) -> None:
    _store, client, headers = pg_api
    assert client.get(f"{D}/software", headers=headers).json()
    assert client.get("/v2/jobs?df=org = 1", headers=headers).json()
    # The maintenance upsert (ON CONFLICT) and the locked service update, PostgreSQL's way.
    for end in (4_000_000_000, 4_000_000_600):
        response = client.put(f"{D}/maintenance", json={"end": end}, headers=headers)
        assert response.status_code == 204
    url = f"{D}/windows-service/Spooler/control"
    assert client.post(url, json={"action": "STOP"}, headers=headers).status_code == 204
    service = client.get(f"{D}/windows-services?name=Spooler", headers=headers).json()[0]
    assert service["state"] == "STOPPED"
