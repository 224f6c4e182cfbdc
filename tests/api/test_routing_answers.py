"""How /v2 answers a request its routes do not take as sent: a stray trailing slash is a 404
(never a redirect), a method the path does not serve is a 405 listing every one it does, and a
write is refused for its token before its body is looked at."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ninja_oauth.settings import Settings
from ninja_oauth.store.db import Store
from ninja_oauth.web import create_app

from .conftest import KEY, MintToken, bearer

NOT_FOUND = {"error": "not_found", "error_description": "Not Found"}
JSON = {"Content-Type": "application/json"}

# -- a stray trailing slash -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v2/devices/", None),
        ("GET", "/v2/device/5/", None),
        ("POST", "/v2/organizations/", b'{"name": "Moved"}'),
        ("PATCH", "/v2/device/5/", b'{"displayName": "Moved"}'),
        ("DELETE", "/v2/webhook/", None),
    ],
    ids=["read", "read with an id", "create", "update", "delete"],
)
def test_a_stray_trailing_slash_under_v2_is_the_apis_404_never_a_redirect(
    client: TestClient, token: MintToken, method: str, path: str, body: bytes | None
) -> None:
    """A redirect's Location was built on the Host header, and a 307 makes the client re-send
    the write's body (and its token) to the URL it names."""
    for headers in ({}, bearer(token("monitoring management control"))):
        answer = client.request(
            method,
            path,
            content=body,
            headers={**headers, **JSON, "Host": "evil.example"},
            follow_redirects=False,
        )
        assert (answer.status_code, answer.json()) == (404, NOT_FOUND)
        assert "location" not in answer.headers


@pytest.fixture
def server(store: Store) -> Iterator[TestClient]:
    """The whole server (the admin API is served only there)."""
    settings = Settings(database_url=store.url, secret_key=KEY.decode(), issuer="https://t.test")
    with TestClient(create_app(settings, store)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/admin/api/apps/"), ("POST", "/v2/webhook/")]
)
def test_a_stray_trailing_slash_is_a_404_through_the_whole_server(
    server: TestClient, method: str, path: str
) -> None:
    answer = server.request(
        method, path, json={}, headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert (answer.status_code, answer.json()) == (404, NOT_FOUND)
    assert "location" not in answer.headers


# -- 405: Allow lists every method of the path ----------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", "/v2/organizations", "GET, HEAD, POST"),
        ("DELETE", "/v2/device/5", "GET, HEAD, PATCH"),
        ("PUT", "/v2/organization/1/custom-fields", "GET, HEAD, PATCH"),
        ("OPTIONS", "/v2/webhook", "PUT, DELETE"),
        ("GET", "/v2/webhook", "PUT, DELETE"),
        ("OPTIONS", "/v2/device/5/policy/overrides", "GET, HEAD, DELETE"),
    ],
)
def test_a_405_lists_every_method_the_path_serves(
    client: TestClient, method: str, path: str, allow: str
) -> None:
    """RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405
    response containing a list of the target resource's currently supported methods"."""
    answer = client.request(method, path)
    assert (answer.status_code, answer.headers["allow"]) == (405, allow)
    assert answer.json() == {"error": "invalid_request", "error_description": "Method Not Allowed"}


def test_every_documented_path_answers_options_with_all_its_documented_methods(
    client: TestClient,
) -> None:
    """The OpenAPI document is the oracle: a path's Allow holds every method documented on each
    template it matches (a GET brings HEAD), whichever of its routes comes first."""
    documented: dict[str, set[str]] = {
        template: {method.upper() for method in operations}
        for template, operations in client.get("/openapi.json").json()["paths"].items()
        if template.startswith("/v2/")
    }
    patterns = {
        template: re.compile(re.sub(r"{\w+}", "[^/]+", template) + "$") for template in documented
    }
    wrong: dict[str, tuple[int, set[str], set[str]]] = {}
    for template in documented:
        path = re.sub(r"{\w+}", "1", template)
        expected: set[str] = set()
        for other, methods in documented.items():
            if patterns[other].match(path):
                expected |= methods | ({"HEAD"} if "GET" in methods else set())
        answer = client.options(path)
        allowed = set(answer.headers.get("allow", "").split(", "))
        if (answer.status_code, allowed) != (405, expected):
            wrong[path] = (answer.status_code, allowed, expected)
    assert len(documented) > 60
    assert wrong == {}


# -- a write is refused for its token before its body is read ---------------------------------

NOT_JSON = b"{bad"
NOT_UTF8 = b'{"a": "\xff"}'
WRITES = [
    ("PATCH", "/v2/organization/1", "management"),
    ("PUT", "/v2/webhook", "management"),
    ("POST", "/v2/device/1/windows-service/wuauserv/control", "control"),
    ("POST", "/v2/ticketing/trigger/board/1/run", "monitoring"),
]
WRITE_IDS = ["management", "management, no id", "control", "monitoring"]


@pytest.mark.parametrize("body", [NOT_JSON, NOT_UTF8], ids=["not JSON", "not UTF-8"])
@pytest.mark.parametrize(("method", "path", "_scope"), WRITES, ids=WRITE_IDS)
def test_a_write_without_a_token_is_a_401_whatever_its_body(
    client: TestClient, method: str, path: str, _scope: str, body: bytes
) -> None:
    """RFC 6750 §3.1: the request lacks any authentication information, so it is a 401 with
    ``WWW-Authenticate`` (which tells the client to authenticate), not a 400 about the body."""
    answer = client.request(method, path, content=body, headers=JSON)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="ninja-oauth"'
    assert answer.json() == {
        "error_description": "Send an access token as 'Authorization: Bearer <token>'."
    }


def test_every_documented_write_without_a_token_is_a_401_before_its_body_is_read(
    client: TestClient,
) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    writes = [
        (method.upper(), re.sub(r"{\w+}", "1", template))
        for template, operations in paths.items()
        if template.startswith("/v2/")
        for method in operations
        if method != "get"
    ]
    answers = {
        (method, path): client.request(method, path, content=NOT_JSON, headers=JSON)
        for method, path in writes
    }
    wrong = {
        write: (answer.status_code, answer.headers.get("www-authenticate"))
        for write, answer in answers.items()
        if (answer.status_code, answer.headers.get("www-authenticate"))
        != (401, 'Bearer realm="ninja-oauth"')
    }
    assert len(writes) > 20
    assert wrong == {}


@pytest.mark.parametrize("body", [NOT_JSON, NOT_UTF8], ids=["not JSON", "not UTF-8"])
@pytest.mark.parametrize(("method", "path", "scope"), WRITES, ids=WRITE_IDS)
def test_a_write_with_a_token_lacking_its_scope_is_a_403_whatever_its_body(
    client: TestClient, token: MintToken, method: str, path: str, scope: str, body: bytes
) -> None:
    others = " ".join(s for s in ("monitoring", "management", "control") if s != scope)
    answer = client.request(method, path, content=body, headers={**bearer(token(others)), **JSON})
    assert answer.status_code == 403
    assert answer.json() == {
        "error": "insufficient_scope",
        "error_description": f"This call needs the '{scope}' scope.",
    }
    assert f'scope="{scope}"' in answer.headers["www-authenticate"]


@pytest.mark.parametrize(
    ("body", "description"),
    [(NOT_JSON, "body: the request body is not valid JSON"),
     (NOT_UTF8, "There was an error parsing the body")],
    ids=["not JSON", "not UTF-8"],
)  # fmt: skip
@pytest.mark.parametrize(("method", "path", "scope"), WRITES, ids=WRITE_IDS)
def test_a_write_whose_token_passes_still_gets_the_400_about_its_body(
    client: TestClient,
    token: MintToken,
    method: str,
    path: str,
    scope: str,
    body: bytes,
    description: str,
) -> None:
    answer = client.request(method, path, content=body, headers={**bearer(token(scope)), **JSON})
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "invalid_request", "error_description": description},
    )
    assert "www-authenticate" not in answer.headers
