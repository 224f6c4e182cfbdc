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
