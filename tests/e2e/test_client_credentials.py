"""Client credentials (API Services apps), through HTTP, on SQLite (the store's part is
tests/store's, on both stores)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.flows import assert_oauth_error
from tests.support.server import LiveServer


@pytest.fixture(scope="module")
def m2m(sqlite_server: LiveServer) -> dict[str, Any]:
    return sqlite_server.create_app("api_services", scopes=["monitoring", "management"])


def test_client_credentials_in_the_form_returns_a_bearer_token_for_the_requested_scope(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": m2m["client_id"],
                "client_secret": m2m["client_secret"],
                "scope": "monitoring",
            },
        )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "monitoring"
    assert len(body["access_token"]) >= 43  # 256 bits, base64url
    assert response.headers["cache-control"] == "no-store"


def test_client_credentials_with_http_basic_defaults_to_every_configured_scope(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        )
    assert response.status_code == 200
    assert response.json()["scope"] == "monitoring management"


def test_the_token_opens_the_public_api_right_away(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        token = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "scope": "monitoring"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        ).json()["access_token"]
        response = http.get("/v2/organizations", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_redirect_uri_on_a_client_credentials_request_is_ignored(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "redirect_uri": "https://example.com/cb"},
            auth=(m2m["client_id"], m2m["client_secret"]),
        )
    assert response.status_code == 200


def test_offline_access_never_gives_a_client_credentials_refresh_token(
    sqlite_server: LiveServer,
) -> None:
    app = sqlite_server.create_app("api_services")  # client_credentials + refresh_token grants
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            data={"grant_type": "client_credentials", "scope": "monitoring offline_access"},
            auth=(app["client_id"], app["client_secret"]),
        )
    assert response.status_code == 200
    assert "refresh_token" not in response.json()
    assert response.json()["scope"] == "monitoring"


@pytest.mark.parametrize(
    ("data", "auth", "status", "error", "description"),
    [
        (
            {"client_secret": "not-the-secret"},
            None,
            400,
            "invalid_client",
            "The client credentials are not valid: wrong client_secret.",
        ),
        (
            {"client_id": "no-such-app", "client_secret": "x"},
            None,
            400,
            "invalid_client",
            "The client credentials are not valid: unknown client_id.",
        ),
        (
            {"client_secret": None},
            None,
            401,
            "invalid_client",
            "The client credentials are not valid: this app is confidential and must send its "
            "client_secret.",
        ),
        ({}, ("basic", "wrong"), 401, "invalid_client", None),
        (
            {"scope": "control"},
            None,
            400,
            "invalid_scope",
            "The app is not configured for the scope 'control'.",
        ),
        ({"grant_type": "password"}, None, 400, "unsupported_grant_type", None),
        # RFC 6749 §5.2: a missing parameter is invalid_request (issue 12).
        ({"grant_type": None}, None, 400, "invalid_request", None),
        (
            {"grant_type": "authorization_code"},
            None,
            400,
            "unauthorized_client",
            "The client is not authorized to use 'grant_type=authorization_code'",
        ),
    ],
    ids=[
        "wrong-secret",
        "unknown-client",
        "missing-secret",
        "wrong-basic",
        "scope-not-configured",
        "unknown-grant",
        "no-grant",
        "grant-not-allowed",
    ],
)
def test_client_credentials_errors_say_what_to_fix(
    sqlite_server: LiveServer,
    m2m: dict[str, Any],
    data: dict[str, Any],
    auth: tuple[str, str] | None,
    status: int,
    error: str,
    description: str | None,
) -> None:
    form: dict[str, Any] = {
        "grant_type": "client_credentials",
        "client_id": m2m["client_id"],
        "client_secret": m2m["client_secret"],
    }
    form.update(data)
    form = {k: v for k, v in form.items() if v is not None}
    if auth is not None:
        form.pop("client_id", None)
        form.pop("client_secret", None)
        auth = (m2m["client_id"], auth[1])
    with sqlite_server.client() as http:
        response = http.post("/ws/oauth/token", data=form, auth=auth)
    body = assert_oauth_error(response, status, error, description)
    if status == 401 and auth is not None:
        assert response.headers["www-authenticate"].startswith("Basic")
    assert m2m["client_secret"] not in response.text
    assert body.get("error_description")


def test_client_secret_in_the_url_query_is_refused(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            params={"client_secret": m2m["client_secret"]},
            data={"grant_type": "client_credentials", "client_id": m2m["client_id"]},
        )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Send client_secret in the request body or with HTTP Basic, never in the URL query.",
    )


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (
            b"grant_type=client_credentials&client_id=a%00b&client_secret=x",
            {},
            400,
            "invalid_client",
        ),
        (
            b"grant_type=client_credentials&client_id=" + b"x" * 300 + b"&client_secret=x",
            {},
            400,
            "invalid_client",
        ),
        (
            b"grant_type=client_credentials",
            {"Authorization": "Basic \u00e9t\u00e9".encode("latin-1")},
            401,
            "invalid_client",
        ),
        (b"grant_type=client_credentials", {"Authorization": "Basic !!!"}, 401, "invalid_client"),
        (b"grant_type=client_credentials&grant_type=refresh_token", {}, 400, "invalid_request"),
        (b"client_id=x\xff\xfe&grant_type=client_credentials", {}, 400, "invalid_client"),
        # 413 Content Too Large (RFC 9110 §15.5.14), refused by the front door before reading on.
        (b"grant_type=client_credentials&x=" + b"y" * 70_000, {}, 413, "invalid_request"),
        (b"&".join(b"p%d=1" % i for i in range(101)), {}, 400, "invalid_request"),
    ],
    ids=[
        "nul-client-id",
        "long-client-id",
        "non-ascii-basic",
        "bad-base64",
        "repeated-grant-type",
        "bad-utf8",
        "body-over-64-KiB",
        "over-100-parameters",
    ],
)
def test_malformed_requests_get_an_oauth_error_never_a_500(
    sqlite_server: LiveServer, content: bytes, headers: dict[str, Any], status: int, error: str
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            content=content,
            headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
        )
    assert_oauth_error(response, status, error)


def test_token_parameters_in_the_url_query_are_not_read(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            params={"grant_type": "client_credentials"},
            data={"client_id": m2m["client_id"], "client_secret": m2m["client_secret"]},
        )
    assert_oauth_error(
        response,
        400,
        "invalid_request",  # issue 12: was unsupported_grant_type (RFC 6749 §5.2)
        "Missing 'grant_type'; use authorization_code, client_credentials or refresh_token.",
    )


def test_the_body_is_decoded_as_html_forms_encode_it(
    sqlite_server: LiveServer, m2m: dict[str, Any]
) -> None:
    """'+' is a space, %XX escapes are decoded, empty fields and a bare name are harmless."""
    client_id = "".join(f"%{b:02X}" for b in m2m["client_id"].encode())
    with sqlite_server.client() as http:
        response = http.post(
            "/ws/oauth/token",
            content=(
                f"&&grant_type=client_credentials&client_id={client_id}&flag"
                f"&client_secret={m2m['client_secret']}&scope=management+monitoring&"
            ).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "monitoring management"


@pytest.mark.parametrize("path", ["/ws/oauth/token", "/ws/oauth/revoke", "/ws/oauth/introspect"])
def test_two_authorization_headers_are_invalid_request_whatever_their_order(
    sqlite_server: LiveServer, m2m: dict[str, Any], path: str
) -> None:
    """Authorization is a singleton header (RFC 9110 §5.3): with the right credentials in one
    and wrong ones in the other, neither is chosen, in either order."""

    def basic(secret: str) -> str:
        return "Basic " + base64.b64encode(f"{m2m['client_id']}:{secret}".encode()).decode()

    good, bad = basic(m2m["client_secret"]), basic("wrong")
    form = {"grant_type": "client_credentials", "token": "x" * 43}
    with sqlite_server.client() as http:
        for first, second in ((good, bad), (bad, good)):
            response = http.post(
                path, data=form, headers=[("Authorization", first), ("Authorization", second)]
            )
            assert_oauth_error(
                response, 400, "invalid_request", "Send one Authorization header, not several."
            )
