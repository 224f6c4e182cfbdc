"""The server's root app hands a request under /v2/ straight to the Public API
(web/__init__.py): the answer is the API's own, with the root's security headers."""

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
    settings = Settings(database_url=store.url, secret_key=KEY.decode(), issuer="http://testserver")
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
