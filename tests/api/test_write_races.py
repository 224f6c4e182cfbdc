"""Writes that race for one device (DESIGN §3: "two nodes can never both win"): concurrent
custom-field changes each keep their fields, and of concurrent decisions on one pending device
exactly one is taken. PostgreSQL runs writes on several writer threads, so these are its tests;
SQLite, one writer at a time, must give the same answers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient

from .conftest import PgApi
from .endpoints import WINDOWS_DESKTOP

T = TypeVar("T")
RACERS = 8
ROUNDS = 5


class Api(NamedTuple):
    client: TestClient
    headers: dict[str, str]


@pytest.fixture(params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest) -> Api:
    if request.param == "sqlite":
        return Api(request.getfixturevalue("client"), request.getfixturevalue("everything"))
    pg: PgApi = request.getfixturevalue("pg_api")
    return Api(pg.client, pg.headers)


def _at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run ``calls`` on as many threads, released together by a barrier."""
    start = threading.Barrier(len(calls), timeout=30)

    def one(call: Callable[[], T]) -> T:
        start.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_concurrent_custom_field_changes_of_one_device_all_survive(api: Api) -> None:
    client, headers = api
    url = f"/v2/device/{WINDOWS_DESKTOP}/custom-fields"
    before = client.get(url, headers=headers).json()
    wanted: dict[str, Any] = {}
    for round_ in range(ROUNDS):
        values = {f"race{round_}x{n}": n for n in range(RACERS)}

        def patch(name: str, value: int) -> Callable[[], httpx.Response]:
            return lambda: client.patch(url, json={name: value}, headers=headers)

        answers = _at_once([patch(name, value) for name, value in values.items()])
        assert [a.status_code for a in answers] == [204] * RACERS
        wanted.update(values)
    assert client.get(url, headers=headers).json() == {**before, **wanted}


def test_of_concurrent_decisions_on_one_pending_device_exactly_one_is_taken(api: Api) -> None:
    client, headers = api
    pending = [
        d["id"]
        for d in client.get("/v2/devices?df=status = PENDING", headers=headers).json()[:ROUNDS]
    ]
    assert len(pending) == ROUNDS
    newest = client.get("/v2/activities?pageSize=10", headers=headers).json()["lastActivityId"]
    for device_id in pending:
        modes = ["APPROVE", "REJECT"] * (RACERS // 2)

        def decide(mode: str, device: int) -> Callable[[], tuple[str, httpx.Response]]:
            return lambda: (
                mode,
                client.post(
                    f"/v2/devices/approval/{mode}", json={"devices": [device]}, headers=headers
                ),
            )

        answers = _at_once([decide(mode, device_id) for mode in modes])
        winners = [mode for mode, answer in answers if answer.status_code == 204]
        assert len(winners) == 1, [(mode, answer.status_code) for mode, answer in answers]
        winner = winners[0]
        # The others get what a decision on a device settled before gets: an approved device
        # is not waiting for approval any more, a rejected one is gone.
        refusal = (
            {"error": "invalid_request",
             "error_description": f"devices: not waiting for approval: {device_id}"}
            if winner == "APPROVE"
            else {"error": "not_found", "error_description": f"Devices not found: {device_id}."}
        )  # fmt: skip
        losers = [answer for _mode, answer in answers if answer.status_code != 204]
        assert [(a.status_code, a.json()) for a in losers] == [
            (400 if winner == "APPROVE" else 404, refusal)
        ] * (RACERS - 1)
        device = client.get(f"/v2/device/{device_id}", headers=headers)
        if winner == "APPROVE":
            assert device.json()["approvalStatus"] == "APPROVED"
        else:
            assert device.status_code == 404
    recorded = client.get(
        f"/v2/activities?newerThan={newest}&pageSize=1000", headers=headers
    ).json()["activities"]
    decisions = Counter(
        a["deviceId"]
        for a in recorded
        if a["statusCode"] in ("NODE_MANUALLY_APPROVED", "NODE_MANUALLY_REJECTED")
    )
    assert decisions == dict.fromkeys(pending, 1)


def test_concurrent_moves_of_one_device_never_leave_it_outside_its_organization(api: Api) -> None:
    """One change picks another location of the device's organization while another moves the
    device to a second organization: whichever goes second is checked against the first's
    outcome, so the device's location is always one of its organization's."""
    client, headers = api
    by_org: dict[int, list[int]] = {}
    for location in client.get("/v2/locations", headers=headers).json():
        by_org.setdefault(location["organizationId"], []).append(location["id"])
    url = f"/v2/device/{WINDOWS_DESKTOP}"
    home = client.get(url, headers=headers).json()
    first, second = home["organizationId"], next(o for o in by_org if o != home["organizationId"])
    assert len(by_org[first]) >= 2
    for round_ in range(ROUNDS):
        start = client.get(url, headers=headers).json()
        here, there = (first, second) if start["organizationId"] == first else (second, first)
        stay = (
            next(x for x in by_org[here] if x != start["locationId"])
            if len(by_org[here]) > 1
            else start["locationId"]
        )
        moves = [{"locationId": stay}, {"organizationId": there, "locationId": by_org[there][0]}]
        answers = _at_once(
            [
                lambda body=body: client.patch(url, json=body, headers=headers)
                for body in moves * (RACERS // 2)
            ]
        )
        assert {a.status_code for a in answers} <= {204, 400}, [a.text for a in answers]
        device = client.get(url, headers=headers).json()
        assert device["locationId"] in by_org[device["organizationId"]], (round_, device)
