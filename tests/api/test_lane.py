"""The lane (api/lane.py) answers exactly as the FastAPI app answers, and answers the reads
itself: the same status, headers and body for every read, for every error, and the same
error logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from ninja_oauth.api import schemas
from ninja_oauth.api.deps import get_store
from ninja_oauth.api.lane import ApiLane
from ninja_oauth.api.lean import LeanRoute
from ninja_oauth.store.db import Store

from .conftest import MintToken, bearer
from .endpoints import ENDPOINTS

READS = [e for e in ENDPOINTS if e.method == "GET"]


def _requests() -> list[tuple[str, str, str | None]]:
    """(method, path, scope of the token or None): every read with the right scope, the
    wrong one and none, on an unknown id and with a bad parameter; and what the router answers
    itself (405, 404, the trailing-slash redirect)."""
    requests: list[tuple[str, str, str | None]] = []
    for e in READS:
        requests += [("GET", e.path, e.scope), ("GET", e.path, "management"), ("GET", e.path, None)]
        if e.unknown:
            requests.append(("GET", e.unknown[0], e.scope))
        if e.bad:
            requests += [("GET", e.bad[0], e.scope), ("GET", e.bad[0], None)]
    requests += [
        ("GET", "/v2/organizations?pageSize=2&after=1&of=a", "monitoring"),
        ("GET", "/v2/organizations?unknown=1", "monitoring"),
        ("HEAD", "/v2/organizations", "monitoring"),
        ("DELETE", "/v2/organizations", "monitoring"),
        ("GET", "/v2/organizations/", "monitoring"),
        ("GET", "/v2/nothing-here", "monitoring"),
        ("GET", "/v2/device/5/", "monitoring"),
        ("GET", "/openapi.json", None),
    ]
    return requests


REQUESTS = _requests()


def _same(lane: httpx.Response, app: httpx.Response) -> None:
    assert (lane.status_code, lane.content) == (app.status_code, app.content)
    assert lane.headers.multi_items() == app.headers.multi_items()


@pytest.fixture
def clients(app: FastAPI, shared_lane: ApiLane) -> Iterator[tuple[TestClient, TestClient]]:
    with TestClient(shared_lane) as through_lane, TestClient(app) as through_app:
        yield through_lane, through_app


@pytest.mark.parametrize(
    ("method", "path", "scope"), REQUESTS, ids=[" ".join(map(str, r)) for r in REQUESTS]
)
def test_the_lane_answers_every_read_as_the_app(
    clients: tuple[TestClient, TestClient],
    token: MintToken,
    method: str,
    path: str,
    scope: str | None,
) -> None:
    headers = bearer(token(scope)) if scope else {}
    through_lane, through_app = clients
    kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
    _same(through_lane.request(method, path, **kwargs), through_app.request(method, path, **kwargs))


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        ("Bearer not-a-token", 401),
        ("Basic dXNlcjpwYXNz", 400),
        ("Bearer ", 400),
    ],
)
def test_the_lane_answers_a_bad_authorization_as_the_app(
    clients: tuple[TestClient, TestClient], authorization: str, status: int
) -> None:
    through_lane, through_app = clients
    headers = {"Authorization": authorization}
    lane = through_lane.get("/v2/organizations", headers=headers)
    _same(lane, through_app.get("/v2/organizations", headers=headers))
    assert lane.status_code == status


def test_an_expired_token_is_answered_as_the_app_answers_it(
    clients: tuple[TestClient, TestClient], token: MintToken
) -> None:
    through_lane, through_app = clients
    headers = bearer(token("monitoring", expires_in=-1))
    lane = through_lane.get("/v2/organizations", headers=headers)
    _same(lane, through_app.get("/v2/organizations", headers=headers))
    assert lane.json()["error_description"] == "The access token has expired."


@pytest.fixture
def handed_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the requests the FastAPI app itself receives."""
    paths: list[str] = []
    original = FastAPI.__call__

    async def spy(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            paths.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(FastAPI, "__call__", spy)
    return paths


def test_the_lane_answers_the_reads_itself_and_hands_the_rest_on(
    client: TestClient,
    handed_on: list[str],
    monitoring: dict[str, str],
    management: dict[str, str],
) -> None:
    assert client.get("/v2/organizations", headers=monitoring).status_code == 200
    assert client.get("/v2/organization/1", headers=monitoring).status_code == 200
    assert client.get("/v2/organization/999", headers=monitoring).status_code == 404
    assert client.get("/v2/organizations", headers=management).status_code == 403
    assert client.get("/v2/organizations").status_code == 401
    assert handed_on == []
    # A parameter that fails validation, a write, an unknown path: the app answers.
    assert client.get("/v2/organizations?pageSize=0", headers=monitoring).status_code == 400
    assert client.patch("/v2/organization/1", json={}, headers=management).status_code == 204
    assert client.get("/v2/nothing-here", headers=monitoring).status_code == 404
    assert handed_on == ["/v2/organizations", "/v2/organization/1", "/v2/nothing-here"]


def test_the_lane_hands_the_reads_on_while_overrides_are_set(
    client: TestClient,
    handed_on: list[str],
    app: FastAPI,
    store: Store,
    monitoring: dict[str, str],
) -> None:
    async def same_store() -> Store:
        return store

    app.dependency_overrides[get_store] = same_store
    try:
        assert client.get("/v2/organizations", headers=monitoring).status_code == 200
    finally:
        app.dependency_overrides.clear()
    assert handed_on == ["/v2/organizations"]


def test_the_lane_steps_aside_while_fastapis_telemetry_is_enabled(
    app: FastAPI, monitoring: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_on: list[str] = []

    async def app_itself(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        # Stands in for FastAPI's telemetry, which would need a configured provider.
        handed_on.append(scope["path"])
        await Response(status_code=204)(scope, receive, send)

    monkeypatch.setattr(app._native_telemetry, "enabled", lambda: True)
    monkeypatch.setattr(FastAPI, "__call__", app_itself)
    response = TestClient(ApiLane(app)).get("/v2/organizations", headers=monitoring)
    assert (response.status_code, handed_on) == (204, ["/v2/organizations"])


def test_telemetry_turned_on_while_serving_reaches_the_lane_within_a_second(
    app: FastAPI, monitoring: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_on: list[str] = []
    asked: list[bool] = []
    state = {"on": False, "now": 1000.0}

    async def app_itself(self: FastAPI, scope: Scope, receive: Receive, send: Send) -> None:
        handed_on.append(scope["path"])
        await Response(status_code=204)(scope, receive, send)

    def enabled() -> bool:
        asked.append(state["on"])
        return state["on"]

    monkeypatch.setattr(app._native_telemetry, "enabled", enabled)
    monkeypatch.setattr("ninja_oauth.api.lane._clock", lambda: state["now"])
    monkeypatch.setattr(FastAPI, "__call__", app_itself)
    client = TestClient(ApiLane(app))

    def status() -> int:
        return client.get("/v2/organizations", headers=monitoring).status_code

    assert [status(), status()] == [200, 200]  # the lane answers; asked once
    state["on"] = True
    state["now"] += 0.5
    assert status() == 200  # not asked again within the second
    state["now"] += 0.5
    assert [status(), status()] == [204, 204]  # asked again: on, and on for good
    assert asked == [False, True]
    assert handed_on == ["/v2/organizations"] * 2


# --- errors: an app of lean routes that fail, with the server's handler for the unexpected


def _failing_app(store: Store) -> FastAPI:
    router = APIRouter(route_class=LeanRoute)

    @router.get("/v2/raises")
    async def raises() -> dict[str, str]:
        raise RuntimeError("detail that must not leak")

    @router.get("/v2/raises-after-start")
    async def raises_after_start() -> Response:
        def fail() -> None:
            raise LookupError("after the response started")

        return JSONResponse({"ok": True}, background=BackgroundTask(fail))

    @router.get("/v2/invalid-response", response_model=schemas.Organization)
    async def invalid_response() -> dict[str, Any]:
        return {"id": "not a number", "name": "x", "nodeApprovalMode": "NEVER"}

    async def unexpected(request: Request, exc: Exception) -> Response:
        logging.getLogger("ninja_oauth.errors").error(
            "unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path
        )
        return JSONResponse({"error": "server_error"}, status_code=500)

    app = FastAPI(exception_handlers={Exception: unexpected})
    app.state.store = store
    app.include_router(router)
    return app


@pytest.mark.parametrize("path", ["/v2/raises", "/v2/raises-after-start", "/v2/invalid-response"])
def test_an_exception_is_answered_and_logged_as_the_app_does(
    store: Store, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    app = _failing_app(store)
    answers = []
    for asgi in (ApiLane(app), app):
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="ninja_oauth.errors"):
            client = TestClient(asgi, raise_server_exceptions=False)
            response = client.get(path)
        answers.append((response.status_code, response.content, caplog.messages[:]))
        with pytest.raises(Exception) as raised:
            TestClient(asgi).get(path)
        answers.append((type(raised.value).__name__, str(raised.value), []))
    assert answers[:2] == answers[2:]
    assert len(answers[0][2]) == 1  # each way logs it, once
