"""The whole server, as a client sees it through its front door (web/root.py): a request under
/v2/ gets the Public API's answer, a POST to token, revoke or introspect gets the protocol's
answer, everything else the site's, and every answer carries the security headers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp

from ninja_oauth.oauth.ports import Writes
from ninja_oauth.settings import Settings
from ninja_oauth.store.db import Store
from ninja_oauth.web import create_app

from .conftest import APP_ID, KEY, MintToken, bearer

T = TypeVar("T")

SECURITY_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _settings(store: Store) -> Settings:
    return Settings(database_url=store.url, secret_key=KEY.decode(), issuer="https://testserver")


@pytest.fixture
def server(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(_settings(store), store)) as client:
        yield client


# /docs also allows data: images, which Swagger UI's CSS draws its icons with (web/docs.py).
DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"


def _secured(answer: Any, csp: str = SECURITY_HEADERS["content-security-policy"]) -> None:
    for name, value in {**SECURITY_HEADERS, "content-security-policy": csp}.items():
        assert answer.headers.get_list(name) == [value], name


@pytest.mark.parametrize(
    ("method", "path", "scope", "status", "body"),
    [
        ("GET", "/v2/organizations", None, 401, {
            "error_description": "Send an access token as 'Authorization: Bearer <token>'."}),
        ("GET", "/v2/organizations", "management", 403, {
            "error": "insufficient_scope",
            "error_description": "This call needs the 'monitoring' scope."}),
        ("GET", "/v2/organizations?pageSize=abc", "monitoring", 400, {
            "error": "invalid_request",
            "error_description":
                "pageSize: Input should be a valid integer, unable to parse string as an integer"}),
        ("GET", "/v2/organization/999", "monitoring", 404, {
            "error": "not_found", "error_description": "Organization 999 not found."}),
        ("DELETE", "/v2/organizations", "monitoring", 405, {
            "error": "invalid_request", "error_description": "Method Not Allowed"}),
        ("GET", "/v2/nothing-here", "monitoring", 404, {
            "error": "not_found", "error_description": "Not Found"}),
    ],
)  # fmt: skip
def test_a_request_under_v2_gets_the_apis_answer_with_the_security_headers(
    server: TestClient,
    token: MintToken,
    method: str,
    path: str,
    scope: str | None,
    status: int,
    body: dict[str, str],
) -> None:
    headers = bearer(token(scope)) if scope else {}
    answer = server.request(method, path, headers=headers)
    assert (answer.status_code, answer.json()) == (status, body)
    _secured(answer)


def test_reads_and_writes_under_v2_work_through_the_server(
    server: TestClient, token: MintToken
) -> None:
    everything = bearer(token("monitoring management"))
    orgs = server.get("/v2/organizations?pageSize=2", headers=everything)
    assert orgs.status_code == 200
    assert [o["id"] for o in orgs.json()] == [1, 2]
    _secured(orgs)
    changed = server.patch("/v2/organization/1", json={"description": "Now"}, headers=everything)
    assert changed.status_code == 204
    assert server.get("/v2/organization/1", headers=everything).json()["description"] == "Now"
    # A stray trailing slash is the API's 404, never a redirect (built on the Host header).
    stray = server.get("/v2/organizations/", headers=everything, follow_redirects=False)
    assert (stray.status_code, stray.json()["error"]) == (404, "not_found")
    assert "location" not in stray.headers


@pytest.mark.parametrize(
    ("path", "status", "content_type"),
    [
        ("/v2", 404, "application/json"),
        ("/nothing-here", 404, "application/json"),
        ("/openapi.json", 200, "application/json"),
        ("/docs", 200, "text/html; charset=utf-8"),
        ("/.well-known/oauth-authorization-server", 200, "application/json"),
        ("/", 200, "text/html; charset=utf-8"),
    ],
)
def test_the_site_and_the_docs_answer_every_other_path(
    server: TestClient, path: str, status: int, content_type: str
) -> None:
    answer = server.get(path)
    assert (answer.status_code, answer.headers["content-type"]) == (status, content_type)
    _secured(answer, DOCS_CSP if path == "/docs" else SECURITY_HEADERS["content-security-policy"])


def test_an_unknown_page_asked_by_a_browser_is_an_error_page(server: TestClient) -> None:
    answer = server.get("/nothing-here", headers={"Accept": "text/html"})
    assert answer.status_code == 404
    assert "Not available" in answer.text


# -- the protocol endpoints ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/ws/oauth/token", f"grant_type=client_credentials&client_id={APP_ID}", 401,
         "invalid_client"),
        ("/oauth/token", "grant_type=password", 400, "unsupported_grant_type"),
        ("/ws/oauth/revoke", "token=abc&client_id=no-such-app", 400, "invalid_client"),
        ("/oauth/introspect", "token=abc", 401, "invalid_client"),
    ],
)  # fmt: skip
def test_a_post_to_a_protocol_endpoint_gets_the_protocols_answer(
    server: TestClient, path: str, body: str, status: int, error: str
) -> None:
    answer = server.post(path, content=body, headers=FORM)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert answer.headers["cache-control"] == "no-store"
    _secured(answer)


def test_a_protocol_post_that_is_not_a_form_is_refused(server: TestClient) -> None:
    answer = server.post("/ws/oauth/token", json={"grant_type": "client_credentials"})
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "Send the parameters form-urlencoded "
        "(application/x-www-form-urlencoded).",
    }


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_on_a_protocol_endpoint_are_405(server: TestClient, method: str) -> None:
    answer = server.request(method, "/ws/oauth/token")
    assert (answer.status_code, answer.headers["allow"]) == (405, "POST")
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "Use POST for /ws/oauth/token.",
    }
    _secured(answer)


class _BrokenStore(Store):
    """A store whose every unit of work fails: the fault a test injects through create_app."""

    async def run(self, work: Callable[[], T], writes: Writes) -> T:
        raise RuntimeError("client_secret=do-not-log-me")


@pytest.mark.parametrize("path", ["/ws/oauth/token", "/oauth/revoke", "/ws/oauth/introspect"])
def test_an_unexpected_error_at_a_protocol_endpoint_is_a_500_logged_once_by_type(
    store: Store, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    broken = _BrokenStore(store.url)
    app: ASGIApp = create_app(_settings(broken), broken)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            answer = client.post(path, content="grant_type=x&token=y", headers=FORM)
    finally:
        broken.close()
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "server_error",
        "error_description": "The server could not complete the request.",
    }
    assert answer.headers["cache-control"] == "no-store"
    _secured(answer)
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert logged == [f"unexpected RuntimeError on POST {path}"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ws/oauth/authorize/?client_id=demo&client_secret=s3cret-in-the-query"),
        ("POST", "/oauth/token/"),
        ("POST", "/ws/oauth/login/"),
        ("GET", "/.well-known/oauth-authorization-server/"),
    ],
)
def test_a_stray_trailing_slash_is_a_404_never_a_redirect(
    server: TestClient, method: str, path: str
) -> None:
    """A redirect would rebuild the query (a client_secret) into a Location header, or make
    the client re-send its form (a password, a client secret) to the URL it names."""
    answer = server.request(
        method,
        path,
        content="client_secret=s3cret-in-the-body",
        headers=FORM,
        follow_redirects=False,
    )
    assert answer.status_code == 404
    assert "location" not in answer.headers
    assert "s3cret" not in answer.text


def test_a_body_that_stops_arriving_is_refused_and_an_outside_cancel_is_kept() -> None:
    """web/bodies.py: the shared deadline timer answers 408; a cancellation that came from
    elsewhere (a shutdown) still cancels, even when the deadline passed at the same time."""
    import asyncio

    from ninja_oauth.web.bodies import BodyReader, Refused

    scope = {"type": "http", "headers": [(b"content-length", b"10")]}

    async def never() -> dict[str, object]:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def main() -> tuple[object, bool]:
        reader = BodyReader(timeout=0.3)
        timed_out = await reader.read(scope, never, 1024)
        # The deadline passes in the very turn a shutdown cancels the read: both cancel it.
        late = BodyReader(timeout=0)
        task = asyncio.create_task(late.read(scope, never, 1024))
        await asyncio.sleep(0)  # the read is waiting for the body
        task.cancel()
        late._tick(asyncio.get_running_loop())  # the timer's turn, run now instead of in 0.25 s
        try:
            await task
        except asyncio.CancelledError:
            return timed_out, True
        return timed_out, False

    timed_out, cancelled = asyncio.run(main())
    assert isinstance(timed_out, Refused) and timed_out.status == 408
    assert cancelled
