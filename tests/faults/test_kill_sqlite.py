"""Crashes on the SQLite store: `kill -9` of one worker, then of the whole server, under load.

Every token a client was answered 200 for is durable (the WAL commit happened before the
answer), no token is issued twice, and the server restarted on the same file serves at once.
Requests in flight at a kill may get no answer; none may get a wrong one.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.processes import Load, Outcome, Request, ServeProcess
from tests.support.server import LiveServer, free_port, server_env

CLIENTS = 4
MAX_REQUESTS = 8_000  # the load's bound, whatever the machine's speed
BATCH = 300  # tokens answered between two events (start, worker kill, respawn, crash)


def _token_request(app: dict[str, Any]) -> Request:
    form = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
    }
    return lambda client: client.post("/ws/oauth/token", data=form)


def _tokens(outcomes: list[Outcome]) -> list[str]:
    tokens = []
    for outcome in outcomes:
        if outcome.status == 200:
            body = httpx.Response(200, text=outcome.body).json()
            assert body["token_type"] == "bearer"
            tokens.append(body["access_token"])
    return tokens


def _valid(base_url: str, tokens: list[str]) -> Counter[int]:
    """The status of GET /v2/organizations with each token, counted."""

    def check(chunk: list[str]) -> list[int]:
        with httpx.Client(base_url=base_url, timeout=10) as client:
            return [
                client.get(
                    "/v2/organizations", headers={"Authorization": f"Bearer {token}"}
                ).status_code
                for token in chunk
            ]

    chunks = [tokens[i::CLIENTS] for i in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        return Counter(status for statuses in pool.map(check, chunks) for status in statuses)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[dict[str, str], int, dict[str, Any], Path]:
    """A SQLite database with one API Services app, created with the CLI."""
    port = free_port()
    db = tmp_path / "ninja-oauth.db"
    env = server_env(f"sqlite:///{db}", port)
    app = LiveServer(f"http://127.0.0.1:{port}", env, tmp_path).create_app("api_services")
    return env, port, app, db


def test_tokens_answered_before_kill_9_of_a_worker_and_of_the_server_stay_valid(
    setup: tuple[dict[str, str], int, dict[str, Any], Path], tmp_path: Path
) -> None:
    env, port, app, db = setup
    server = ServeProcess(env, port, tmp_path / "first.log")
    try:
        server.wait_ready()
        send = _token_request(app)
        load = Load(
            server.base_url,
            lambda _: ("token", send),
            clients=CLIENTS,
            max_requests=MAX_REQUESTS,
            max_seconds=40,
        )
        try:
            load.wait_for(BATCH)
            before = set(server.workers())
            assert len(before) == 2, server.log_text()
            victim = server.kill_worker()
            killed_at = time.monotonic()
            # The surviving worker keeps answering while uvicorn starts a new one.
            load.wait_for(BATCH, since=killed_at)
            deadline = time.monotonic() + 15
            while len(server.workers()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            respawned = set(server.workers()) - before
            assert len(respawned) == 1 and victim not in server.workers(), server.log_text()
            load.wait_for(BATCH, since=time.monotonic())
            server.kill_all()
            crashed_at = time.monotonic()
            assert server.group() == []
            time.sleep(0.2)  # the clients meet the dead port
        finally:
            outcomes = load.stop()
    finally:
        server.stop()

    statuses = Counter(o.status for o in outcomes)
    # No wrong answer ever: a 200, or no answer at all (in flight at a kill, or server down).
    assert set(statuses) <= {200, None}, statuses
    tokens = _tokens(outcomes)
    assert len(set(tokens)) == len(tokens), "a token value was issued twice"
    after_worker_kill = sum(1 for o in outcomes if o.status == 200 and o.started >= killed_at)
    assert after_worker_kill >= 2 * BATCH
    assert not [o for o in outcomes if o.status == 200 and o.started > crashed_at]

    restarted = ServeProcess(env, port, tmp_path / "restarted.log")
    try:
        ready_in = restarted.wait_ready()
        # The first requests after it reports ready succeed: a new token and a bearer read.
        with httpx.Client(base_url=restarted.base_url, timeout=10) as client:
            first = _token_request(app)(client)
            assert first.status_code == 200, first.text
            fresh = first.json()["access_token"]
            read = client.get("/v2/organizations", headers={"Authorization": f"Bearer {fresh}"})
            assert read.status_code == 200, read.text
        checked = _valid(restarted.base_url, tokens)
    finally:
        restarted.stop()
    assert checked == {200: len(tokens)}, checked

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        duplicates = conn.execute(
            "SELECT access_digest FROM tokens GROUP BY access_digest HAVING COUNT(*) > 1"
        ).fetchall()
        rows = conn.execute("SELECT COUNT(*) FROM tokens").fetchone()[0]
    assert duplicates == []
    # Every answered token has its row (plus the restarted server's first, and rows whose
    # request was killed between the commit and the answer).
    assert rows >= len(tokens) + 1
    in_flight = sum(1 for o in outcomes if o.status is None and o.started < crashed_at)
    print(
        f"\nkill -9 on SQLite: {len(outcomes)} requests, {len(tokens)} tokens answered "
        f"({after_worker_kill} after the worker kill), {in_flight} unanswered at the worker "
        f"kill, {statuses[None] - in_flight} at or after the crash; "
        f"{checked[200]} valid after the restart, 0 duplicates, {rows} rows; "
        f"restarted server ready in {ready_in:.2f} s"
    )
