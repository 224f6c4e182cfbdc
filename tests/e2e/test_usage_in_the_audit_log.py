"""Tokens issued are counted per app and grant, never recorded one by one: each worker writes
its counts to the audit log every NINJA_OAUTH_USAGE_FLUSH_SECONDS and at shutdown, with the
app's last use (oauth/usage.py). Through HTTP: issue tokens, read the admin API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import LiveServer, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("usage")
    server = start_server(
        f"sqlite:///{tmp / 'db.sqlite'}", tmp, workers=2, NINJA_OAUTH_USAGE_FLUSH_SECONDS="0.5"
    )
    try:
        yield server
    finally:
        server.stop()


def _app(live: LiveServer, *extra: str) -> dict[str, Any]:
    out = live.cli(
        "apps", "create", "--name", "Counted", "--platform", "api_services", "--json", *extra
    )
    created: dict[str, Any] = json.loads(out.stdout)
    return created


def _issued(admin: httpx.Client, client_id: str) -> int:
    events = admin.get(
        "/admin/api/audit", params={"kind": "tokens_issued", "client_id": client_id}
    ).json()
    assert all(e["detail"]["grant_type"] == "client_credentials" for e in events)
    assert all("access_token" not in json.dumps(e) for e in events)
    return sum(int(e["detail"]["count"]) for e in events)


def test_tokens_issued_are_counted_per_app_and_the_app_shows_its_last_use(
    live: LiveServer,
) -> None:
    admin_app = _app(live, "--admin")
    counted = _app(live)
    bearer = {"Authorization": "Bearer " + live.client_credentials_token(admin_app, "admin")}
    before = int(time.time())
    tokens = [live.client_credentials_token(counted, "monitoring") for _ in range(7)]
    assert len(set(tokens)) == 7
    with live.client(headers=bearer) as admin:
        deadline = time.monotonic() + 15
        while _issued(admin, counted["client_id"]) < 7 and time.monotonic() < deadline:
            time.sleep(0.2)
        # Both workers' counts arrive, none twice.
        assert _issued(admin, counted["client_id"]) == 7
        shown = admin.get(f"/admin/api/apps/{counted['client_id']}").json()
        assert shown["last_used_at"] is not None and shown["last_used_at"] >= before
        never = _app(live)
        assert admin.get(f"/admin/api/apps/{never['client_id']}").json()["last_used_at"] is None
    log = Path(live.log_path).read_text()
    assert all(token not in log for token in tokens)
