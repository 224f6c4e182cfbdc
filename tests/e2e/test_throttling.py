"""Failed client authentications and logins are throttled per key and per address (DESIGN §6)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.flows import assert_oauth_error, log_in
from tests.support.server import LiveServer, start_server

CC = "client_credentials"


@pytest.fixture(scope="module")
def strict(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        database_url,
        tmp_path_factory.mktemp("strict"),
        NINJA_OAUTH_CLIENT_AUTH_KEY_LIMIT="3",
        NINJA_OAUTH_CLIENT_AUTH_ADDRESS_LIMIT="6",
        NINJA_OAUTH_LOGIN_KEY_LIMIT="3",
        NINJA_OAUTH_THROTTLE_BLOCK="30",
    )
    yield live
    live.stop()


def _token(live: LiveServer, app: dict[str, Any], secret: str) -> Any:
    with live.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": secret,
            },
        )


def test_guessing_a_client_secret_is_blocked_with_429_and_retry_after(strict: LiveServer) -> None:
    target = strict.create_app("api_services")
    bystander = strict.create_app("api_services")
    for _ in range(3):
        assert_oauth_error(_token(strict, target, "guess"), 400, "invalid_client")
    blocked = _token(strict, target, "guess")
    assert_oauth_error(blocked, 429, "slow_down")
    assert 1 <= int(blocked.headers["retry-after"]) <= 30
    # Blocked means blocked: even the right secret waits (the guesser cannot confirm a hit).
    assert _token(strict, target, target["client_secret"]).status_code == 429
    # Another app behind the same address is not locked out by the attack on the first.
    assert _token(strict, bystander, bystander["client_secret"]).status_code == 200


def test_without_trusted_proxies_a_forwarded_for_header_changes_no_address(
    tmp_path: Path,
) -> None:
    """NINJA_OAUTH_TRUSTED_PROXIES unset: the socket peer is the client, even from 127.0.0.1
    (uvicorn's own proxy handling, which believed any loopback peer, is off). A blocked guesser
    cannot walk out of its block by naming another address. A server of its own: its
    failures must not count against the other tests' address."""
    live = start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, NINJA_OAUTH_CLIENT_AUTH_KEY_LIMIT="3"
    )
    try:
        target = live.create_app("api_services")
        for _ in range(3):
            assert_oauth_error(_token(live, target, "guess"), 400, "invalid_client")
        for n in range(3):
            with live.client(headers={"X-Forwarded-For": f"203.0.113.{n + 1}"}) as http:
                answer = http.post(
                    "/ws/oauth/token",
                    data={"grant_type": CC, "client_id": target["client_id"], "client_secret": "x"},
                )
            assert_oauth_error(answer, 429, "slow_down")
    finally:
        live.stop()


def test_repeated_failures_across_apps_block_the_address(tmp_path: Path) -> None:
    # A database of its own: the counters of the other tests' failures must not count here.
    live = start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path,
        NINJA_OAUTH_CLIENT_AUTH_KEY_LIMIT="3",
        NINJA_OAUTH_CLIENT_AUTH_ADDRESS_LIMIT="6",
    )
    try:
        apps = [live.create_app("api_services") for _ in range(3)]
        # Two failures per app stay under the per-app limit (3); the sixth reaches the
        # per-address limit (6), and then every app behind that address waits.
        statuses = [_token(live, app, "guess").status_code for app in apps for _ in range(2)]
        assert statuses == [400] * 6
        assert _token(live, apps[2], apps[2]["client_secret"]).status_code == 429
    finally:
        live.stop()


def test_password_guessing_is_slowed_and_the_message_stays_generic(
    tmp_path: Path, database_url: str
) -> None:
    live = start_server(database_url, tmp_path, NINJA_OAUTH_LOGIN_KEY_LIMIT="3")
    try:
        email, password = live.user()
        app = live.create_app("web", redirect_uris=["https://app.example.com/cb"])
        params = {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": "https://app.example.com/cb",
            "state": "s",
        }
        with live.client() as browser:
            page = browser.get("/ws/oauth/authorize", params=params)
            for _ in range(3):
                failed = log_in(browser, page, email, "wrong-password")
                assert failed.status_code == 401
                assert "The email or password is not correct." in failed.text
                page = failed
            unknown = log_in(browser, page, "nobody@example.com", "whatever-1")
            assert unknown.status_code == 401
            assert "The email or password is not correct." in unknown.text
            blocked = log_in(browser, page, email, password)
        assert blocked.status_code == 429
        assert "Too many sign-in attempts" in blocked.text
        assert password not in blocked.text
    finally:
        live.stop()


def test_a_burst_of_concurrent_guesses_gets_no_more_password_checks_than_the_limit(
    tmp_path: Path,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from tests.support.flows import parse_form

    live = start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, NINJA_OAUTH_LOGIN_KEY_LIMIT="3"
    )
    try:
        email, _ = live.user()
        with live.client() as browser:
            app = live.create_app("web", redirect_uris=["https://app.example.com/cb"])
            page = browser.get(
                "/ws/oauth/authorize",
                params={
                    "response_type": "code",
                    "client_id": app["client_id"],
                    "redirect_uri": "https://app.example.com/cb",
                },
            )
            form = parse_form(page.text)
            data = {**form.fields, "email": email, "password": "wrong-password"}
            cookies = dict(browser.cookies)

        def guess(_: int) -> int:
            with live.client(cookies=cookies) as http:
                return http.post(form.action or "", data=data).status_code

        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(guess, range(12)))
        # Each attempt is counted before its password is checked: at most the limit (3) are.
        assert statuses.count(401) <= 3
        assert statuses.count(429) >= 9
        assert set(statuses) <= {401, 429}
    finally:
        live.stop()


def test_an_ipv6_client_is_limited_by_its_64_and_audited_by_its_own_address(
    tmp_path: Path,
) -> None:
    live = start_server(
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        tmp_path,
        NINJA_OAUTH_CLIENT_AUTH_KEY_LIMIT="3",
        NINJA_OAUTH_TRUSTED_PROXIES='["127.0.0.1"]',
    )

    def post(path: str, app: dict[str, Any], address: str, **form: str) -> Any:
        credentials = {"client_id": app["client_id"], "client_secret": app["client_secret"]}
        with live.client(headers={"X-Forwarded-For": address}) as http:
            return http.post(path, data={**credentials, **form})

    try:
        app = live.create_app("api_services")
        guesser = {**app, "client_secret": "guess"}
        # Three guesses from three addresses of one /64 reach the (client, address) limit.
        for host in ("a", "b", "c"):
            failed = post("/ws/oauth/token", guesser, f"2001:db8:1:2::{host}", grant_type=CC)
            assert_oauth_error(failed, 400, "invalid_client")
        blocked = post("/ws/oauth/token", app, "2001:db8:1:2::d", grant_type=CC)
        assert_oauth_error(blocked, 429, "slow_down")
        # The app from another /64 is not blocked; its revocation is audited by its address.
        elsewhere = "2001:db8:1:3::1"
        issued = post("/ws/oauth/token", app, elsewhere, grant_type=CC)
        assert issued.status_code == 200
        token = issued.json()["access_token"]
        assert post("/ws/oauth/revoke", app, elsewhere, token=token).status_code == 200
        audit = live.cli("audit", "--kind", "token_revoked", "--jsonl").stdout.splitlines()
        assert [json.loads(line)["address"] for line in audit] == [elsewhere]
    finally:
        live.stop()


def test_a_single_page_app_is_never_blocked_and_its_page_reads_every_answer(
    strict: LiveServer,
) -> None:
    """A public app has no secret to guess: a secret sent to it is refused and not counted,
    and its page reads each answer (CORS)."""
    origin = "https://spa.example"
    spa = strict.create_app("spa", redirect_uris=[origin + "/callback"])
    form = {"grant_type": "authorization_code", "client_id": spa["client_id"], "code": "x"}
    with strict.client(headers={"Origin": origin}) as http:
        for _ in range(4):  # past the (client, address) limit of 3
            failed = http.post("/ws/oauth/token", data={**form, "client_secret": "guess"})
            assert_oauth_error(failed, 400, "invalid_client")
            assert failed.headers["access-control-allow-origin"] == origin
        unknown_code = http.post("/ws/oauth/token", data=form)
    assert_oauth_error(unknown_code, 400, "invalid_grant")
    assert unknown_code.headers["access-control-allow-origin"] == origin
