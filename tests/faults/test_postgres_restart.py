"""A PostgreSQL restart under load: while the database is down every request gets a clear 503
(never a 500, never a hang), and once it is back requests succeed again without restarting
ninja-oauth.

The test runs a PostgreSQL server of its own (tests/faults/postgres.py), never the machine's
shared one. With CI=true, missing PostgreSQL binaries fail the test; elsewhere they skip it.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from tests.faults.postgres import OwnPostgres, postgres_bin
from tests.faults.processes import Load, Outcome, Request, ServeProcess
from tests.support.server import LiveServer, free_port, server_env

CALLBACK = "http://127.0.0.1:8000/callback"
OUTAGE = 2.0  # seconds between the fast shutdown's end and the start
BOUND = 5.0  # no request may take longer, outage or not
UNAVAILABLE = "The database is unavailable; try again shortly."


@pytest.fixture(scope="module")
def postgres() -> Iterator[OwnPostgres]:
    bindir = postgres_bin()
    if bindir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (required on CI)")
        pytest.skip(message)
    server = OwnPostgres(bindir)
    try:
        server.start()
        yield server
    finally:
        server.close()


def _requests(
    token_app: dict[str, Any], web_app: dict[str, Any], bearer: str
) -> dict[str, Request]:
    """One request of each kind of caller: a protocol endpoint, the Public API, a page."""
    form = {
        "grant_type": "client_credentials",
        "client_id": token_app["client_id"],
        "client_secret": token_app["client_secret"],
    }
    authorize = "/ws/oauth/authorize?" + urlencode(
        {
            "response_type": "code",
            "client_id": web_app["client_id"],
            "redirect_uri": CALLBACK,
            "scope": "monitoring",
            "state": "s-1",
        }
    )
    return {
        "token": lambda c: c.post("/ws/oauth/token", data=form),
        "api": lambda c: c.get("/v2/organizations", headers={"Authorization": f"Bearer {bearer}"}),
        "page": lambda c: c.get(authorize, headers={"Accept": "text/html"}),
    }


def _assert_clear_503(outcome: Outcome) -> None:
    """The 503 each kind of caller understands, with Retry-After, never cached."""
    assert outcome.status == 503
    assert int(outcome.headers["retry-after"]) > 0
    assert outcome.headers["cache-control"] == "no-store"
    if outcome.kind == "page":
        assert outcome.headers["content-type"].startswith("text/html")
        assert UNAVAILABLE in outcome.body
        return
    body = httpx.Response(503, text=outcome.body).json()
    assert body == {"error": "temporarily_unavailable", "error_description": UNAVAILABLE}


@pytest.fixture(scope="module")
def served(
    postgres: OwnPostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServeProcess, dict[str, Request]]]:
    """`ninja-oauth serve --workers 2` on the test's PostgreSQL, and one request of each kind
    (with a valid token for the API)."""
    tmp = tmp_path_factory.mktemp("served")
    port = free_port()
    # Every anonymous authorize GET of the load comes from 127.0.0.1 and keeps a pending
    # sign-in: lift the per-address cap (a 429 past it) above what the load sends.
    env = server_env(postgres.url, port, NINJA_OAUTH_PENDING_PER_ADDRESS="1000000")
    cli = LiveServer(f"http://127.0.0.1:{port}", env, tmp)
    token_app = cli.create_app("api_services")
    web_app = cli.create_app("web", redirect_uris=[CALLBACK], scopes=["monitoring"])
    server = ServeProcess(env, port, tmp / "serve.log")
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            issued = _requests(token_app, web_app, "")["token"](client)
            assert issued.status_code == 200, issued.text
            kinds = _requests(token_app, web_app, issued.json()["access_token"])
            for kind, send in kinds.items():
                assert send(client).status_code == 200, kind
        yield server, kinds
    finally:
        server.stop()


def test_a_database_restart_under_load_answers_503_then_recovers_without_a_server_restart(
    postgres: OwnPostgres, served: tuple[ServeProcess, dict[str, Request]]
) -> None:
    server, kinds = served
    names = list(kinds)
    load = Load(
        server.base_url,
        lambda i: (names[i % 3], kinds[names[i % 3]]),
        clients=6,
        max_requests=30_000,
        max_seconds=40,
        timeout=BOUND * 2,
    )
    try:
        load.wait_for(150)
        down_at = time.monotonic()
        postgres.stop("fast")
        stopped_at = time.monotonic()
        time.sleep(OUTAGE)
        starting_at = time.monotonic()
        postgres.start()
        back_at = time.monotonic()
        load.wait_for(300, since=back_at + 1)
    finally:
        outcomes = load.stop()

    statuses = Counter((o.kind, o.status) for o in outcomes)
    assert {status for _, status in statuses} <= {200, 503}, (statuses, server.log_text()[-3000:])
    slowest = max(o.elapsed for o in outcomes)
    assert slowest < BOUND, slowest
    unavailable = [o for o in outcomes if o.status == 503]
    for outcome in unavailable:
        _assert_clear_503(outcome)
    # Every kind of caller met the outage, and only the outage.
    assert {o.kind for o in unavailable} == set(kinds), statuses
    outside = [
        (o.kind, o.started - down_at, o.elapsed)
        for o in unavailable
        if o.started + o.elapsed < down_at or o.started > back_at + 1
    ]
    assert outside == []
    # Down: stopped, and not yet starting (pg_ctl start -w returns a little after it accepts).
    during = [
        o for o in outcomes if o.started >= stopped_at and o.started + o.elapsed < starting_at
    ]
    assert during and all(o.status == 503 for o in during), Counter(
        (o.kind, o.status) for o in during
    )
    # Recovered: every request started a second after the database was back succeeded.
    after = [o for o in outcomes if o.started >= back_at + 1]
    assert len(after) >= 300 and all(o.status == 200 for o in after)
    last_503 = max(o.started + o.elapsed for o in unavailable)
    first_ok = {
        kind: min(o.started + o.elapsed for o in outcomes if o.kind == kind and o.started > back_at)
        for kind in kinds
    }
    print(
        f"\nPostgreSQL restart under load: {len(outcomes)} requests, {len(unavailable)} answered "
        f"503 ({dict(Counter(o.kind for o in unavailable))}) and the rest 200, slowest "
        f"{slowest * 1000:.0f} ms; database down {back_at - down_at:.1f} s; last 503 "
        f"{last_503 - back_at:+.2f} s from pg_ctl start's return, first 200 after it: "
        + ", ".join(f"{k} {t - back_at:+.2f} s" for k, t in first_ok.items())
    )


def test_after_a_database_restart_while_idle_the_first_requests_succeed(
    postgres: OwnPostgres, served: tuple[ServeProcess, dict[str, Request]]
) -> None:
    """The pools' idle connections and the writer threads' kept ones were closed by the
    restart: they are replaced before use, so no request meets one."""
    server, kinds = served
    # Every pool and writer thread of both workers holds connections before the restart.
    warm = Load(server.base_url, lambda i: ("any", list(kinds.values())[i % 3]), clients=8)
    warm.wait_for(300)
    assert {o.status for o in warm.stop()} == {200}
    postgres.stop("fast")
    postgres.start()
    statuses: Counter[tuple[str, int]] = Counter()
    for _ in range(20):
        for kind, send in kinds.items():
            # A new connection each time: the kernel spreads them over both workers.
            with httpx.Client(base_url=server.base_url, timeout=BOUND) as client:
                statuses[kind, send(client).status_code] += 1
    assert statuses == {(kind, 200): 20 for kind in kinds}
