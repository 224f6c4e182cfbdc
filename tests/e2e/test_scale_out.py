"""Scale-out (DESIGN §3, §6): stateless `serve` processes share one store, and every racing state
change — code redemption, refresh rotation — has exactly one winner, on two PostgreSQL nodes and
on one SQLite server with two workers. A replay that loses the race still revokes the winner's
tokens.

On PostgreSQL each worker keeps the rows of its hot reads (a live token's row with the tables'
versions, an app with its caller's throttle blocks) until the database notifies a change
(store/pg_changes.py): a change made through one node is honoured by the other, which had been
serving the old row from memory, once the notification has arrived (RFC 7009 §2.2's propagation
delay), and by the node that made it at once."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

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
# How long a change may take to reach the other node (its notification's delivery), and the
# pause between two looks.
PROPAGATION = 3.0
POLL = 0.05

T = TypeVar("T")


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


@pytest.fixture(scope="module")
def admin_bearer(pg_nodes: list[LiveServer]) -> dict[str, str]:
    """The Authorization header of an admin app's token, for the admin API of either node."""
    created = pg_nodes[0].cli(
        "apps",
        "create",
        "--name",
        "Admin script",
        "--platform",
        "api_services",
        "--admin",
        "--json",
    )
    token = pg_nodes[0].client_credentials_token(json.loads(created.stdout), "admin")
    return {"Authorization": f"Bearer {token}"}


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


def _organizations(node: LiveServer, token: str) -> httpx.Response:
    with node.client() as http:
        return http.get("/v2/organizations", headers={"Authorization": f"Bearer {token}"})


def _kept(use: Callable[[], httpx.Response], status: int = 200) -> None:
    """Use something 5 times over about 1.6 s, each answered ``status``: the node's listener
    (started by its first read, kept rows only once its probe came back) is up by then, and the
    node serves the row from memory."""
    for i in range(5):
        if i:
            time.sleep(0.4)
        response = use()
        assert response.status_code == status, response.text


def _eventually(attempt: Callable[[], T], shows: Callable[[T], bool]) -> T:
    """``attempt`` until ``shows`` its answer, for at most PROPAGATION seconds; fails if it
    never does. Only the other node's view of a change may lag: its notification's delivery."""
    deadline = time.monotonic() + PROPAGATION
    while True:
        answer = attempt()
        if shows(answer):
            return answer
        if time.monotonic() >= deadline:
            pytest.fail(f"the change did not show within {PROPAGATION} s: {answer!r}")
        time.sleep(POLL)


def _revoke(http: httpx.Client, app: dict[str, Any], token: str) -> None:
    revoked = http.post(
        "/ws/oauth/revoke", data={"token": token}, auth=(app["client_id"], app["client_secret"])
    )
    assert revoked.status_code == 200, revoked.text


def _refused(response: httpx.Response) -> bool:
    return response.status_code == 401


def _assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


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


# -- rows a node keeps, and changes made through the other ---------------------------------


def test_a_token_revoked_through_one_node_is_refused_by_the_other_that_kept_it(
    pg_nodes: list[LiveServer],
) -> None:
    node_a, node_b = pg_nodes
    app = node_a.create_app("api_services", scopes=["monitoring"])
    token = node_a.client_credentials_token(app)
    _kept(lambda: _organizations(node_b, token))

    with node_a.client() as http:
        _revoke(http, app, token)

    _assert_invalid_token(_eventually(lambda: _organizations(node_b, token), _refused))


def test_a_secret_rotated_through_one_node_is_refused_by_the_other_and_the_new_one_accepted(
    pg_nodes: list[LiveServer], admin_bearer: dict[str, str]
) -> None:
    node_a, node_b = pg_nodes
    app = node_a.create_app("api_services", scopes=["monitoring"])
    grant = {"grant_type": "client_credentials"}
    _kept(lambda: _token(node_b, app, grant))

    with node_a.client(headers=admin_bearer) as http:
        rotated = http.post(f"/admin/api/apps/{app['client_id']}/secret")
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["client_secret"]

    old = _eventually(lambda: _token(node_b, app, grant), _refused)
    flows.assert_oauth_error(old, 401, "invalid_client")
    issued = _token(node_b, {**app, "client_secret": new_secret}, grant)
    assert issued.status_code == 200, issued.text
    assert _organizations(node_b, issued.json()["access_token"]).status_code == 200


def test_an_app_deleted_through_one_node_loses_its_tokens_and_secret_on_the_other(
    pg_nodes: list[LiveServer], admin_bearer: dict[str, str]
) -> None:
    node_a, node_b = pg_nodes
    app = node_a.create_app("api_services", scopes=["monitoring"])
    grant = {"grant_type": "client_credentials"}
    token = node_a.client_credentials_token(app)
    _kept(lambda: _organizations(node_b, token))
    _kept(lambda: _token(node_b, app, grant))

    with node_a.client(headers=admin_bearer) as http:
        deleted = http.delete(f"/admin/api/apps/{app['client_id']}")
    assert deleted.status_code == 204, deleted.text

    # README "Administration": a deleted app's tokens, codes and consents go with it.
    _assert_invalid_token(_eventually(lambda: _organizations(node_b, token), _refused))
    flows.assert_oauth_error(
        _eventually(lambda: _token(node_b, app, grant), _refused), 401, "invalid_client"
    )


def test_an_organization_created_through_one_node_is_listed_by_the_other_that_kept_the_list(
    pg_nodes: list[LiveServer],
) -> None:
    node_a, node_b = pg_nodes
    app = node_a.create_app("api_services", scopes=["monitoring", "management"])
    token = node_a.client_credentials_token(app, "monitoring management")
    _kept(lambda: _organizations(node_b, token))
    name = f"Nimbus Dental {secrets.token_hex(4)}"

    with node_a.client() as http:
        created = http.post(
            "/v2/organizations", json={"name": name}, headers={"Authorization": f"Bearer {token}"}
        )
    assert created.status_code == 200, created.text

    listed = _eventually(
        lambda: _organizations(node_b, token), lambda r: name in {o["name"] for o in r.json()}
    )
    assert {o["id"]: o["name"] for o in listed.json()}[created.json()["id"]] == name


def test_a_node_refuses_a_token_it_kept_at_once_after_revoking_it_itself(
    pg_nodes: list[LiveServer],
) -> None:
    node = pg_nodes[1]  # one worker (start_server's default): the revocation's and the GET's
    app = node.create_app("api_services", scopes=["monitoring"])
    token = node.client_credentials_token(app)
    _kept(lambda: _organizations(node, token))

    with node.client() as http:
        _revoke(http, app, token)
        # No retry: the worker that commits a write drops what it kept before answering.
        _assert_invalid_token(
            http.get("/v2/organizations", headers={"Authorization": f"Bearer {token}"})
        )
