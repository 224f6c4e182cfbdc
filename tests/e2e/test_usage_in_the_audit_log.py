"""Tokens issued are counted per app and grant, never recorded one by one: each worker writes
its counts to the audit log every NINJA_OAUTH_USAGE_FLUSH_SECONDS and at shutdown, with the
app's last use (oauth/usage.py). Through HTTP: issue tokens, read the admin API."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.flows import authorize
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


def test_a_token_whose_row_was_never_committed_is_not_counted(tmp_path: Path) -> None:
    """Counted once its row is committed: a request whose insert fails (here a trigger
    refuses it; in life, a database gone away) issued nothing and counts nothing. The counts
    are read after the server stopped, which flushes them."""
    database = tmp_path / "db.sqlite"
    live = start_server(f"sqlite:///{database}", tmp_path, NINJA_OAUTH_USAGE_FLUSH_SECONDS="3600")
    try:
        counted = _app(live)
        with sqlite3.connect(database) as conn:
            conn.execute(
                "CREATE TRIGGER refuse_tokens BEFORE INSERT ON tokens "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        form = {
            "grant_type": "client_credentials",
            "client_id": counted["client_id"],
            "client_secret": counted["client_secret"],
        }
        with live.client() as http:
            assert http.post("/ws/oauth/token", data=form).status_code >= 500
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TRIGGER refuse_tokens")
        live.client_credentials_token(counted, "monitoring")
        # The implicit grant's token is issued by the authorize page: counted there alike.
        spa = live.create_app("spa", redirect_uris=["http://127.0.0.1/callback"])
        implicit = {
            "response_type": "token",
            "client_id": spa["client_id"],
            "redirect_uri": "http://127.0.0.1/callback",
            "scope": "monitoring",
            "state": "s",
        }
        with live.client() as browser:
            assert authorize(browser, implicit, user=live.user()).status_code == 307
    finally:
        live.stop()
    audit = live.cli("audit", "--kind", "tokens_issued", "--jsonl").stdout.splitlines()
    counts = {
        (event["client_id"], event["detail"]["grant_type"]): int(event["detail"]["count"])
        for event in map(json.loads, audit)
    }
    assert counts == {
        (counted["client_id"], "client_credentials"): 1,
        (spa["client_id"], "implicit"): 1,
    }
