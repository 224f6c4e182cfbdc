"""The server's root app hands a request under /v2/ straight to the Public API, and a POST to
a protocol endpoint straight to its lane (web/__init__.py): the answer is the one the routes
would give, with the root's security headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.routing import Mount, Router
from starlette.types import Receive, Scope, Send

from ninja_oauth.settings import Settings
from ninja_oauth.store.db import Store
from ninja_oauth.web import create_app

from .conftest import KEY, MintToken, bearer

SECURITY_HEADERS = [
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
]


@pytest.fixture
def root(store: Store) -> Starlette:
    settings = Settings(
        database_url=store.url, secret_key=KEY.decode(), issuer="https://testserver"
    )
    return create_app(settings, store)


@pytest.fixture
def root_router_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths the root's router (a plain Starlette router) receives."""
    paths: list[str] = []
    original = Router.__call__

    async def spy(self: Router, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and type(self) is Router:
            paths.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(Router, "__call__", spy)
    return paths


@pytest.fixture
def clients(root: Starlette) -> Iterator[tuple[TestClient, TestClient]]:
    mount = root.routes[-1]
    assert isinstance(mount, Mount)
    with TestClient(root) as through_root, TestClient(mount.app) as api_alone:
        yield through_root, api_alone


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/v2/organizations", "monitoring"),
        ("GET", "/v2/organizations", None),
        ("GET", "/v2/organizations", "management"),
        ("GET", "/v2/organizations?pageSize=abc", "monitoring"),
        ("GET", "/v2/organization/999", "monitoring"),
        ("GET", "/v2/organizations/", "monitoring"),
        ("DELETE", "/v2/organizations", "monitoring"),
        ("PATCH", "/v2/organization/1", "management"),
        ("GET", "/v2/nothing-here", "monitoring"),
    ],
)
def test_a_request_under_v2_gets_the_apis_answer_with_the_security_headers(
    clients: tuple[TestClient, TestClient],
    root_router_calls: list[str],
    token: MintToken,
    method: str,
    path: str,
    scope: str | None,
) -> None:
    through_root, api_alone = clients
    kwargs: dict[str, Any] = {
        "headers": bearer(token(scope)) if scope else {},
        "follow_redirects": False,
    }
    if method == "PATCH":
        kwargs["json"] = {"description": "Same"}
    expected = api_alone.request(method, path, **kwargs)
    answer = through_root.request(method, path, **kwargs)
    assert (answer.status_code, answer.content) == (expected.status_code, expected.content)
    assert answer.headers.multi_items() == expected.headers.multi_items() + SECURITY_HEADERS
    assert root_router_calls == []


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v2", 404),
        ("/openapi.json", 200),
        ("/docs", 200),
        ("/.well-known/oauth-authorization-server", 200),
    ],
)
def test_every_other_path_takes_the_roots_routes(
    clients: tuple[TestClient, TestClient], root_router_calls: list[str], path: str, status: int
) -> None:
    through_root, _ = clients
    assert through_root.get(path).status_code == status
    assert root_router_calls == [path]


# -- the POST lanes of the protocol endpoints --------------------------------------------------

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/ws/oauth/token", "grant_type=client_credentials&client_id=test-integration"),
        ("/oauth/token", "grant_type=password"),
        ("/ws/oauth/revoke", "token=abc&client_id=no-such-app"),
        ("/oauth/introspect", "token=abc"),
    ],
)
def test_a_post_to_a_protocol_endpoint_takes_its_lane_and_gets_its_routes_answer(
    root: Starlette,
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    root_router_calls: list[str],
    path: str,
    body: str,
) -> None:
    monkeypatch.setattr("ninja_oauth.web.post_lanes", dict)  # the same app, without lanes
    settings = Settings(
        database_url=store.url, secret_key=KEY.decode(), issuer="https://testserver"
    )
    without_lanes = create_app(settings, store)
    with TestClient(root) as through_lane, TestClient(without_lanes) as through_routes:
        expected = through_routes.post(path, content=body, headers=FORM)
        assert root_router_calls == [path]
        answer = through_lane.post(path, content=body, headers=FORM)
    assert root_router_calls == [path]  # the lane's request did not reach the router
    assert (answer.status_code, answer.json()) == (expected.status_code, expected.json())
    assert answer.headers.multi_items() == expected.headers.multi_items()


def test_other_methods_on_a_protocol_endpoint_take_the_roots_routes(
    root: Starlette, root_router_calls: list[str]
) -> None:
    with TestClient(root) as client:
        answer = client.get("/ws/oauth/token")
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
    assert root_router_calls == ["/ws/oauth/token"]


def test_an_unexpected_error_in_a_lane_is_a_500_logged_once_by_type(
    root: Starlette, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("client_secret=do-not-log-me")

    monkeypatch.setattr(root.state.services.server, "token_endpoint", broken)
    with TestClient(root, raise_server_exceptions=False) as client:
        answer = client.post("/ws/oauth/token", content="grant_type=x", headers=FORM)
    assert answer.status_code == 500
    assert answer.json()["error"] == "server_error"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    logged = [r.getMessage() for r in caplog.records]
    assert logged.count("unexpected RuntimeError on POST /ws/oauth/token") == 1
    assert not any("do-not-log-me" in line for line in logged)
