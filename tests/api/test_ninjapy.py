"""Unchanged NinjaOne client code (the PyPI package ninjapy, pinned) against `ninja-oauth serve`.

The server runs as a user would run it: `ninja-oauth serve --demo` on a fresh database (which
loads the demo data), and an api_services app from `ninja-oauth apps create --json`. ninjapy gets
its token from /ws/oauth/token with the client credentials grant and calls /v2 as it would
call app.ninjarmm.com.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.server import LiveServer, start_server


@pytest.fixture(scope="module")
def ninja_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Any]]:
    workdir = tmp_path_factory.mktemp("ninjapy")
    live = start_server(f"sqlite:///{workdir / 'ninja.db'}", workdir, demo=True)
    try:
        app = live.create_app("api_services", name="ninjapy integration")
        yield live, app
    finally:
        live.stop()


@pytest.fixture
def ninja(ninja_server: tuple[LiveServer, Any]) -> Iterator[Any]:
    live, app = ninja_server
    # ninjapy calls logging.basicConfig(level=INFO) on import; keep that out of other tests.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    from ninjapy import NinjaRMMClient

    root.setLevel(level)
    root.handlers[:] = handlers
    client = NinjaRMMClient(
        token_url=f"{live.base_url}/ws/oauth/token",
        client_id=app["client_id"],
        client_secret=app["client_secret"],
        scope="monitoring management control",
        base_url=live.base_url,
    )
    yield client
    client.close()


def test_ninjapy_lists_organizations_locations_devices_and_policies(ninja: Any) -> None:
    organizations = ninja.get_organizations()
    assert [o["name"] for o in organizations[:2]] == ["Acme Dental Group", "Birchwood Law LLP"]
    assert [loc["name"] for loc in ninja.get_organization_locations(1)] == [
        "Main Clinic",
        "Northside Clinic",
        "Lab",
    ]
    assert len(ninja.get_locations()) >= 28
    assert len(ninja.get_all_devices(page_size=100)) == len(ninja.get_devices()) == 360
    assert [d["organizationId"] for d in ninja.get_devices(org_filter="org = 2")] == [2] * 22
    assert ninja.list_policies()[0]["name"] == "Windows Workstations"


def test_ninjapy_updates_a_device_and_reads_the_change_back(ninja: Any) -> None:
    assert ninja.get_device(8)["systemName"] == "ACME-WS-008"
    assert ninja.update_device(8, displayName="Front desk", userData={"desk": 1}) is None
    device = ninja.get_device(8)
    assert (device["displayName"], device["userData"]) == ("Front desk", {"desk": 1})


def test_ninjapy_creates_an_organization_and_a_location_and_reads_them_back(ninja: Any) -> None:
    created = ninja.create_organization(name="Orbit Orthodontics", description="New client")
    assert created["name"] == "Orbit Orthodontics"
    assert ninja.get_organization(created["id"])["description"] == "New client"
    location = ninja.create_location(created["id"], name="Downtown", address="9 Orbit Way")
    assert location["name"] == "Downtown"
    assert ninja.get_organization_locations(created["id"]) == [location]


def test_ninjapy_runs_a_script_and_reboots_and_the_activities_show_both(ninja: Any) -> None:
    assert ninja.run_device_script(10, 1) is None
    assert ninja.reboot_device(10, "GRACEFUL") is None
    activities = ninja.get_device_activities(10, page_size=10)["activities"]
    assert [(a["statusCode"], a["status"]) for a in activities[:2]] == [
        ("SYSTEM_REBOOTED", "Reboot (NORMAL) requested"),
        ("START_REQUESTED", "Start requested"),
    ]
    assert activities[1]["sourceName"] == "Clear Temp Files"


# -- issue 14: ninjapy 0.2.3 has no ticket calls of its own (only attributes, contacts, forms
# and statuses); these are its calls for the other lists, unchanged.


def test_ninjapy_lists_groups_tasks_software_and_custom_field_definitions(ninja: Any) -> None:
    groups = ninja.list_groups()
    assert groups[0]["name"] == "Windows workstations"
    assert ninja.get_group_device_ids(groups[1]["id"]) == list(range(1, 35))
    assert len(ninja.list_scheduled_tasks()) == 4
    assert ninja.list_software_products()[0]["productName"] == "Chrome"
    assert ninja.list_device_custom_fields()[0]["name"] == "assetTag"


def test_ninjapy_searches_devices_and_reads_a_document_template(ninja: Any) -> None:
    # ninjapy sends the page size as pageSize (the spec: limit); both are accepted.
    found = ninja.search_devices("ACME-WS", page_size=3)
    assert found["query"] == "ACME-WS"
    assert len(found["devices"]) == 3
    template = ninja.get_document_template(1, include_technician_roles=True)
    assert (template["name"], template["allowedTechnicianRoles"]) == ("Network Overview", [])


def test_ninjapy_sets_organization_custom_fields_and_reads_them_back(ninja: Any) -> None:
    assert ninja.update_organization_custom_fields(5, {"contractTier": "Silver"}) is None
    assert ninja.get_organization_custom_fields(5) == {"contractTier": "Silver"}


def test_ninjapy_lists_and_resets_alerts(ninja: Any) -> None:
    alerts = ninja.list_active_alerts()
    assert alerts, "the demo data has open alerts"
    first, second = alerts[0], alerts[1]
    assert first in ninja.get_device_alerts(first["deviceId"])
    ninja.reset_alert(first["uid"])  # DELETE /v2/alert/{uid}, as ninjapy sends it
    ninja.reset_alert_with_data(second["uid"], {"note": "handled by the integration"})
    left = {a["uid"] for a in ninja.list_active_alerts()}
    assert first["uid"] not in left and second["uid"] not in left
    assert first["uid"] not in {a["uid"] for a in ninja.get_device_alerts(first["deviceId"])}


def test_ninjapy_pages_the_query_reports(ninja: Any) -> None:
    """ninjapy's own report calls, paging with the cursor it is given back."""
    seen: list[dict[str, Any]] = []
    page = ninja.query_software(device_filter="org = 1", page_size=200)
    seen += page["results"]
    while page["cursor"].get("name"):
        page = ninja.query_software(
            device_filter="org = 1", page_size=200, cursor=page["cursor"]["name"]
        )
        seen += page["results"]
    assert seen and len(seen) == len({(s["deviceId"], s["name"]) for s in seen})
    device = seen[0]["deviceId"]
    own = {s["name"] for s in ninja.get_device_software(device)}
    assert {s["name"] for s in seen if s["deviceId"] == device} == own
    assert ninja.query_device_health(page_size=50)["results"]
    running = ninja.query_windows_services(state="RUNNING", page_size=50)["results"]
    assert running and all(s["state"] == "RUNNING" for s in running)
    assert ninja.query_operating_systems(page_size=50)["results"]


def test_ninjapy_configures_and_disables_its_webhook(
    ninja: Any, ninja_server: tuple[LiveServer, Any]
) -> None:
    """The webhook ninjapy registers takes the next alert reset (a delivery is queued for it);
    after ninjapy disables it, the next one queues nothing."""
    from sqlalchemy import create_engine, func, select

    from ninja_oauth.store.api_tables import webhook_deliveries

    live, app = ninja_server
    engine = create_engine(live.env["NINJA_OAUTH_DATABASE_URL"])

    def queued() -> int:
        with engine.connect() as conn:
            stmt = select(func.count()).where(webhook_deliveries.c.client_id == app["client_id"])
            return int(conn.execute(stmt.select_from(webhook_deliveries)).scalar_one())

    try:
        ninja.configure_webhook(
            "http://127.0.0.1:9/ninja",
            {"CONDITION": ["RESET"]},
            headers=[{"name": "X-Receiver-Key", "value": "receiver-secret"}],
        )
        uids = [a["uid"] for a in ninja.list_active_alerts()[:2]]
        ninja.reset_alert(uids[0])
        assert queued() == 1
        ninja.disable_webhook()
        ninja.reset_alert(uids[1])
        assert queued() == 0  # removing the webhook removes what was still waiting
    finally:
        engine.dispose()
