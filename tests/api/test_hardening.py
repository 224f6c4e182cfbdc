"""Issue 12, the Public API's findings: no input answers a 500, on either store; the API's links
are built on the configured issuer, never on the Host header; RFC 6750 §3.1 answers for an
Authorization header that is not a bearer token, or a malformed one."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import insert

from ninja_oauth.settings import Settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.demo_api import load_demo_api_data
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.tables import apps
from ninja_oauth.web import create_app

from .conftest import (
    APP_ID,
    ISSUER,
    KEY,
    NOW,
    MintToken,
    bearer,
    build_app,
    front_door,
    mint,
)
from .endpoints import WINDOWS_DESKTOP

Api = tuple[TestClient, dict[str, str]]
JSON = {"Content-Type": "application/json"}
NOT_FINITE = (
    "numbers must be finite: NaN, Infinity and values beyond a double's range (such as 1e400) "
    "are refused"
)
NOT_UNICODE = "strings must be valid Unicode: a lone surrogate escape such as \\ud800 is refused"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(
    request: pytest.FixtureRequest, template_db: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The demo data behind the Public API on each store, and a token with every scope. The
    module shares it: a test here changes nothing another one reads, or names what it adds."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("hardening") / "api.db"
        shutil.copyfile(template_db, path)
        store = Store(f"sqlite:///{path}")
    else:
        url: str = request.getfixturevalue("pg_database_url")
        migrate(url)
        store = Store(url)
        assert load_demo_api_data(store, now=NOW) is True
        with store.transaction() as conn:
            conn.execute(
                insert(apps).values(
                    client_id=APP_ID, name="Hardening", platform="api_services",
                    redirect_uris="[]", scopes="monitoring management control",
                    grant_types="client_credentials", created_at=NOW,
                )
            )  # fmt: skip
    headers = bearer(mint(store, "monitoring management control"))
    # One client for the module: on PostgreSQL the async engine belongs to its event loop.
    with TestClient(front_door(build_app(store))) as client:
        yield client, headers
        assert client.portal is not None
        client.portal.call(store.aclose)


def _refused(response: Response, description: str) -> None:
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


# 1. Integers past 32 bits: PostgreSQL's INTEGER columns cannot hold them.


@pytest.mark.parametrize(
    ("path", "description"),
    [
        ("/v2/activities?user=2147483648",
         "user: a user id is at most 2147483647"),
        ("/v2/activities?user=1,9999999999",
         "user: a user id is at most 2147483647"),
        (f"/v2/device/{WINDOWS_DESKTOP}/activities?olderThan=2147483648",
         "olderThan: Input should be less than or equal to 2147483647"),
        (f"/v2/device/{WINDOWS_DESKTOP}/activities?newerThan=1099511627776",
         "newerThan: Input should be less than or equal to 2147483647"),
    ],
    ids=["user", "user in a list", "device olderThan", "device newerThan"],
)  # fmt: skip
def test_an_int32_parameter_past_32_bits_is_a_400_naming_it(
    api: Api, path: str, description: str
) -> None:
    """The spec types user and device-activity ids as int32, as every id: past that, a 400
    (the rule of pageSize, after and the path ids), never a number the database overflows on."""
    client, headers = api
    _refused(client.get(path, headers=headers), description)


# PostgreSQL's: SQLite's integers are 64-bit, and it always answered these.
@pytest.mark.parametrize("api", ["postgresql"], indirect=True)
@pytest.mark.parametrize("beyond", [2**31, 2**40, 2**63 - 1], ids=["2^31", "2^40", "int64 max"])
def test_an_activity_id_past_every_stored_id_pages_by_its_meaning(api: Api, beyond: int) -> None:
    """/v2/activities types olderThan and newerThan as int64: any such value is a valid
    request. Older than an id past every stored one is every activity; newer, none."""
    client, headers = api
    newest = client.get("/v2/activities?pageSize=10", headers=headers)
    older = client.get(f"/v2/activities?pageSize=10&olderThan={beyond}", headers=headers)
    newer = client.get(f"/v2/activities?pageSize=10&newerThan={beyond}", headers=headers)
    assert (older.status_code, newer.status_code) == (200, 200)
    assert older.json() == newest.json()
    assert newer.json() == {"lastActivityId": newest.json()["lastActivityId"], "activities": []}


# 2. Numbers JSON allows and a database does not: 1e400 (infinity once parsed), NaN, Infinity.


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (b'{"reading": 1e400}', f"reading: {NOT_FINITE}"),
        (b'{"reading": -1e400}', f"reading: {NOT_FINITE}"),
        (b'{"reading": NaN}', f"reading: {NOT_FINITE}"),
        (b'{"reading": Infinity}', f"reading: {NOT_FINITE}"),
        (b'{"ok": 1, "rack": {"slots": [1, -Infinity]}}', f"rack: {NOT_FINITE} (at slots.1)"),
    ],
    ids=["1e400", "-1e400", "NaN", "Infinity", "nested"],
)
def test_a_custom_field_that_is_not_a_finite_number_is_a_400_and_changes_nothing(
    api: Api, body: bytes, description: str
) -> None:
    client, headers = api
    url = f"/v2/device/{WINDOWS_DESKTOP}/custom-fields"
    before = client.get(url, headers=headers).json()
    _refused(client.patch(url, content=body, headers={**headers, **JSON}), description)
    assert client.get(url, headers=headers).json() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "description"),
    [
        ("PATCH", "/v2/organization/1", b'{"userData": {"limit": 1e400}}',
         f"userData: {NOT_FINITE} (at limit)"),
        ("POST", "/v2/organizations", b'{"name": "Never", "fields": {"score": NaN}}',
         f"fields: {NOT_FINITE} (at score)"),
        ("POST", "/v2/organization/1/locations",
         b'{"name": "Never", "userData": {"floors": [Infinity]}}',
         f"userData: {NOT_FINITE} (at floors.0)"),
        ("PATCH", f"/v2/device/{WINDOWS_DESKTOP}", b'{"userData": {"watts": -1e999}}',
         f"userData: {NOT_FINITE} (at watts)"),
    ],
    ids=["organization userData", "new organization's fields", "new location's userData",
         "device userData"],
)  # fmt: skip
def test_user_data_and_fields_refuse_numbers_that_are_not_finite(
    api: Api, method: str, path: str, body: bytes, description: str
) -> None:
    client, headers = api
    _refused(client.request(method, path, content=body, headers={**headers, **JSON}), description)


# 5. What the fuzzing found: free-form JSON the store kept and no read could send back.


def test_a_lone_surrogate_escape_in_free_form_json_is_a_400_and_every_read_still_works(
    api: Api,
) -> None:
    """Python's JSON parser turns "\\ud800" into a string that UTF-8 cannot encode; stored,
    it made every later read of the row a 500."""
    client, headers = api
    url = f"/v2/device/{WINDOWS_DESKTOP}/custom-fields"
    writes = [
        ("PATCH", url, b'{"note": "\\ud800"}', f"note: {NOT_UNICODE}"),
        ("PATCH", url, b'{"note": {"\\udc00x": 1}}', f"note: {NOT_UNICODE}"),
        ("PATCH", "/v2/organization/1", b'{"userData": {"a": ["\\ud800"]}}',
         f"userData: {NOT_UNICODE} (at a.0)"),
        ("POST", "/v2/organizations", b'{"name": "Never", "fields": {"k": "\\udfff"}}',
         f"fields: {NOT_UNICODE} (at k)"),
    ]  # fmt: skip
    for method, path, body, description in writes:
        response = client.request(method, path, content=body, headers={**headers, **JSON})
        _refused(response, description)
    for read in (url, "/v2/organization/1", "/v2/organizations", "/v2/organizations-detailed"):
        assert client.get(read, headers=headers).status_code == 200, read


def _nested(levels: int) -> bytes:
    return b"[" * levels + b"]" * levels


@pytest.mark.parametrize("levels", [33, 300], ids=["33 levels", "300 levels"])
def test_free_form_json_nested_past_32_levels_is_a_400_and_every_read_still_works(
    api: Api, levels: int
) -> None:
    """pydantic refuses to serialize some 250 levels: stored, such a value made every later
    read of the row a 500. 32 levels are kept and read back."""
    client, headers = api
    url = f"/v2/device/{WINDOWS_DESKTOP}/custom-fields"
    response = client.patch(
        url, content=b'{"deep": ' + _nested(levels) + b"}", headers={**headers, **JSON}
    )
    where = ".".join(["0"] * 32)
    _refused(response, f"deep: must not nest more than 32 levels (at {where})")
    org = client.patch(
        "/v2/organization/1",
        content=b'{"userData": {"deep": ' + _nested(levels) + b"}}",
        headers={**headers, **JSON},
    )
    assert org.status_code == 400
    assert client.get(url, headers=headers).status_code == 200
    assert client.get("/v2/organization/1", headers=headers).status_code == 200
    kept = client.patch(url, content=b'{"deep": ' + _nested(32) + b"}", headers={**headers, **JSON})
    assert kept.status_code == 204
    assert client.get(url, headers=headers).json()["deep"] == json.loads(_nested(32))
    client.patch(url, json={"deep": None}, headers=headers)


# 3. The Host header is the client's: links are built on the configured issuer.


def test_the_dashboard_url_and_its_redirect_ignore_a_forged_host(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    url = f"/v2/device/{WINDOWS_DESKTOP}/dashboard-url"
    forged = {**monitoring, "Host": "evil.example"}
    expected = f"{ISSUER}/#/deviceDashboard/{WINDOWS_DESKTOP}/overview"
    assert client.get(url, headers=forged).json() == {"url": expected}
    redirected = client.get(url + "?redirect=true", headers=forged, follow_redirects=False)
    assert (redirected.status_code, redirected.headers["location"]) == (302, expected)


def test_the_remote_access_url_ignores_a_forged_host(client: TestClient, token: MintToken) -> None:
    headers = {**bearer(token("control")), "Host": "evil.example"}
    response = client.post(f"/v2/device/{WINDOWS_DESKTOP}/remote-access", headers=headers)
    assert response.status_code == 200
    session = response.json()
    assert session["url"] == f"{ISSUER}/remote/{session['sessionId']}"


def test_the_server_builds_the_apis_links_on_its_configured_issuer(
    store: Store, token: MintToken
) -> None:
    """The whole server (create_app), as deployed behind a path: Settings.issuer, never Host."""
    issuer = "https://rmm.example.test/ninja"
    settings = Settings(database_url=store.url, secret_key=KEY.decode(), issuer=issuer)
    forged = {**bearer(token("monitoring control")), "Host": "evil.example"}
    with TestClient(create_app(settings, store)) as server:
        dashboard = server.get(
            f"/v2/device/{WINDOWS_DESKTOP}/dashboard-url?redirect=true",
            headers=forged,
            follow_redirects=False,
        )
        session = server.post(f"/v2/device/{WINDOWS_DESKTOP}/remote-access", headers=forged)
    assert dashboard.headers["location"] == f"{issuer}/#/deviceDashboard/{WINDOWS_DESKTOP}/overview"
    assert session.json()["url"] == f"{issuer}/remote/{session.json()['sessionId']}"


# 4. RFC 6750 §3.1: no bearer token → 401 without an error code; a malformed one → 400.

NO_TOKEN = {"error_description": "Send an access token as 'Authorization: Bearer <token>'."}
MALFORMED = {
    "error": "invalid_request",
    "error_description": "Send the token as 'Authorization: Bearer <token>'.",
}
CALLS = [("GET", "/v2/organizations"), ("PATCH", "/v2/organization/1")]


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Token abc", 'Digest username="x"', "NTLM", "Bearertoken"],
    ids=["Basic", "Token", "Digest", "NTLM scheme alone", "another scheme's name"],
)
@pytest.mark.parametrize(("method", "path"), CALLS, ids=["read", "write"])
def test_another_authorization_scheme_is_a_401_without_an_error_code(
    client: TestClient, method: str, path: str, authorization: str
) -> None:
    """'If the request lacks any authentication information (e.g., [...] attempted using an
    unsupported authentication method), the resource server SHOULD NOT include an error code'"""
    response = client.request(method, path, json={}, headers={"Authorization": authorization})
    assert (response.status_code, response.json()) == (401, NO_TOKEN)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ninja-oauth"'


@pytest.mark.parametrize(
    "authorization",
    ["Bearer two tokens", "Bearer a%b", "Bearer tok,en", 'Bearer token="x"'],
    ids=["two tokens", "percent", "comma", "auth-param"],
)
@pytest.mark.parametrize(("method", "path"), CALLS, ids=["read", "write"])
def test_a_malformed_bearer_header_is_a_400_invalid_request(
    client: TestClient, method: str, path: str, authorization: str
) -> None:
    """RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token; anything else is malformed."""
    response = client.request(method, path, json={}, headers={"Authorization": authorization})
    assert (response.status_code, response.json()) == (400, MALFORMED)
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="ninja-oauth", error="invalid_request", '
        "error_description=\"Send the token as 'Authorization: Bearer <token>'.\""
    )


def test_two_authorization_headers_are_a_400_invalid_request(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    """'repeats the same parameter': which of two tokens is meant is not for the server to
    guess, even when the first one is valid."""
    headers = [("Authorization", monitoring["Authorization"]), ("Authorization", "Basic eDp5")]
    response = client.get("/v2/organizations", headers=headers)
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Send one Authorization header, not several.",
    }
