"""Scale-out (DESIGN §3, §6): stateless `serve` processes share one store, and every racing state
change — code redemption, refresh rotation — has exactly one winner, on two PostgreSQL nodes and
on one SQLite server with two workers. A replay that loses the race still revokes the winner's
tokens."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support import flows
from tests.support.server import LiveServer, start_server

CALLBACK = "http://127.0.0.1/callback"
RACERS = 20
CODE_REPLAYED = "The code was already used; the tokens issued from it have been revoked."
REFRESH_REUSED = (
    "The refresh token was already used; every token of its family has been revoked. Log in again."
)


@pytest.fixture(scope="module")
def pg_nodes(
    pg_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    """Two `ninja-oauth serve` processes on one PostgreSQL database. start_server gives both
    the same NINJA_OAUTH_SECRET_KEY, as every node sharing a database must have."""
    first = start_server(pg_database_url, tmp_path_factory.mktemp("node-a"))
    try:
        second = start_server(pg_database_url, tmp_path_factory.mktemp("node-b"))
    except BaseException:
        first.stop()
        raise
    assert first.env["NINJA_OAUTH_SECRET_KEY"] == second.env["NINJA_OAUTH_SECRET_KEY"]
    assert first.base_url != second.base_url
    try:
        yield [first, second]
    finally:
        second.stop()
        first.stop()


@pytest.fixture(scope="module", params=["postgresql-two-nodes", "sqlite-two-workers"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[LiveServer]]:
    """The servers a race is split across: two PostgreSQL nodes, or one SQLite server whose two
    worker processes share the port (the kernel spreads the connections between them)."""
    if request.param == "postgresql-two-nodes":
        nodes: list[LiveServer] = request.getfixturevalue("pg_nodes")
        yield nodes
        return
    tmp = tmp_path_factory.mktemp("sqlite-workers")
    live = start_server(f"sqlite:///{tmp / 'ninja-oauth.db'}", tmp, workers=2)
    try:
        yield [live, live]
    finally:
        live.stop()


@pytest.fixture(scope="module")
def web_app(cluster: list[LiveServer]) -> dict[str, Any]:
    return cluster[0].create_app("web", redirect_uris=[CALLBACK], scopes=["monitoring"])


# -- helpers -------------------------------------------------------------------------------


def _code(
    node: LiveServer, app: dict[str, Any], scope: str, user: tuple[str, str]
) -> tuple[str, str]:
    """Log in as ``user`` and consent on ``node``; returns (code, code_verifier)."""
    verifier, challenge = flows.pkce_pair("S256")
    params = {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with node.client() as browser:
        response = flows.authorize(browser, params, user=user)
    assert response.status_code == 307, response.text
    return flows.query_of(response.headers["location"])["code"], verifier


def _token(node: LiveServer, app: dict[str, Any], form: dict[str, str]) -> httpx.Response:
    with node.client() as http:
        return http.post(
            "/ws/oauth/token", data=form, auth=(app["client_id"], app["client_secret"])
        )


def _race(
    nodes: list[LiveServer], app: dict[str, Any], form: dict[str, str]
) -> list[httpx.Response]:
    """POST the same token request RACERS times at once, alternating between ``nodes``. Every
    thread opens its connection first and then waits at a barrier, so the requests really race."""
    barrier = threading.Barrier(RACERS, timeout=30)

    def one(i: int) -> httpx.Response:
        node = nodes[i % len(nodes)]
        with node.client() as http:
            assert http.get("/.well-known/oauth-authorization-server").status_code == 200
            barrier.wait()
            return http.post(
                "/ws/oauth/token", data=form, auth=(app["client_id"], app["client_secret"])
            )

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        return list(pool.map(one, range(RACERS)))


def _exactly_one_winner(responses: list[httpx.Response], description: str) -> dict[str, Any]:
    statuses = Counter(r.status_code for r in responses)
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses == {200: 1, 400: RACERS - 1}, statuses
    for loser in (r for r in responses if r.status_code == 400):
        flows.assert_oauth_error(loser, 400, "invalid_grant", description)
    (winner,) = (r for r in responses if r.status_code == 200)
    body: dict[str, Any] = winner.json()
    assert body["token_type"] == "bearer"
    assert body["refresh_token"]
    return body


def _assert_revoked(nodes: list[LiveServer], app: dict[str, Any], tokens: dict[str, Any]) -> None:
    """The access token opens nothing on any node, and the refresh token is refused."""
    for node in nodes:
        with node.client() as http:
            response = http.get(
                "/v2/organizations", headers={"Authorization": f"Bearer {tokens['access_token']}"}
            )
        assert response.status_code == 401, (node.base_url, response.text)
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
    refused = _token(
        nodes[-1], app, {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    )
    flows.assert_oauth_error(refused, 400, "invalid_grant")


# -- tests ---------------------------------------------------------------------------------


def test_a_token_issued_by_one_node_is_accepted_by_the_other(pg_nodes: list[LiveServer]) -> None:
    app = pg_nodes[0].create_app("api_services", scopes=["monitoring"])
    for issuer, other in (pg_nodes, pg_nodes[::-1]):
        issued = _token(issuer, app, {"grant_type": "client_credentials"})
        assert issued.status_code == 200, issued.text
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        for node in (other, issuer):
            with node.client() as http:
                response = http.get("/v2/organizations", headers=bearer)
            assert response.status_code == 200, (node.base_url, response.text)
            assert isinstance(response.json(), list)


def test_an_app_created_through_one_node_is_known_to_the_other(pg_nodes: list[LiveServer]) -> None:
    app = pg_nodes[1].create_app("web", redirect_uris=[CALLBACK], scopes=["monitoring"])
    # The user was created through node A too, and logs in on node B.
    code, verifier = _code(pg_nodes[1], app, "monitoring", pg_nodes[0].user())
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    redeemed = _token(pg_nodes[0], app, form)
    assert redeemed.status_code == 200, redeemed.text
    assert redeemed.json()["scope"] == "monitoring"


def test_concurrent_redemptions_of_one_code_have_exactly_one_winner_whose_tokens_are_revoked(
    cluster: list[LiveServer], web_app: dict[str, Any]
) -> None:
    code, verifier = _code(cluster[0], web_app, "monitoring offline_access", cluster[0].user())
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }

    responses = _race(cluster, web_app, form)

    winner = _exactly_one_winner(responses, CODE_REPLAYED)
    assert winner["scope"] == "monitoring offline_access"
    # RFC 6749 §4.1.2 / DESIGN §6: the replays revoke what was issued from the code, even though
    # they raced the winner's token insert.
    _assert_revoked(cluster, web_app, winner)


def test_concurrent_uses_of_one_refresh_token_have_exactly_one_winner_whose_tokens_are_revoked(
    cluster: list[LiveServer], web_app: dict[str, Any]
) -> None:
    code, verifier = _code(cluster[-1], web_app, "monitoring offline_access", cluster[0].user())
    issued = _token(
        cluster[-1],
        web_app,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert issued.status_code == 200, issued.text
    first = issued.json()

    responses = _race(
        cluster, web_app, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )

    winner = _exactly_one_winner(responses, REFRESH_REUSED)
    assert winner["refresh_token"] != first["refresh_token"]
    assert winner["access_token"] != first["access_token"]
    # RFC 9700 §4.14.2 / DESIGN §6: the reuse revokes the whole family, the winner's new pair too.
    _assert_revoked(cluster, web_app, winner)
    _assert_revoked(cluster, web_app, first)
