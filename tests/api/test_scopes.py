"""The documents' three scopes on every endpoint: reads need monitoring, writes management,
remote access control; and the RFC 6750 answers when a token is missing, bad or too narrow."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from .conftest import MintToken, bearer
from .endpoints import ENDPOINT_IDS, ENDPOINTS, WITH_BAD, WITH_UNKNOWN, Endpoint

ALL_SCOPES = ("monitoring", "management", "control")


def call(
    client: TestClient, e: Endpoint, headers: dict[str, str], path: str | None = None
) -> httpx.Response:
    response: httpx.Response = client.request(
        e.method, path or e.path, json=e.body, headers=headers
    )
    return response


@pytest.mark.parametrize("e", ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_token_with_exactly_the_needed_scope_succeeds(
    client: TestClient, token: MintToken, e: Endpoint
) -> None:
    response = call(client, e, bearer(token(e.scope)))
    assert response.status_code == e.status, response.text


@pytest.mark.parametrize("e", ENDPOINTS, ids=ENDPOINT_IDS)
def test_every_other_scope_together_is_refused_with_insufficient_scope(
    client: TestClient, token: MintToken, e: Endpoint
) -> None:
    others = " ".join(s for s in ALL_SCOPES if s != e.scope)
    response = call(client, e, bearer(token(others)))
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": f"This call needs the '{e.scope}' scope.",
    }
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="ninja-oauth", error="insufficient_scope", '
        f'error_description="This call needs the \'{e.scope}\' scope.", scope="{e.scope}"'
    )


@pytest.mark.parametrize("e", ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_request_without_a_token_gets_401_without_an_error_code(
    client: TestClient, e: Endpoint
) -> None:
    response = call(client, e, {})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ninja-oauth"'


@pytest.mark.parametrize("e", ENDPOINTS, ids=ENDPOINT_IDS)
def test_an_unknown_token_gets_401_invalid_token(client: TestClient, e: Endpoint) -> None:
    response = call(client, e, bearer("not-a-token-this-server-issued"))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The access token is unknown or revoked.",
    }


def test_a_token_issued_before_tokens_led_with_their_time_still_works(
    client: TestClient, token: MintToken
) -> None:
    legacy = token("monitoring", legacy=True)
    assert len(legacy) == 43
    assert client.get("/v2/organizations", headers=bearer(legacy)).status_code == 200


def test_an_expired_token_gets_401_invalid_token(client: TestClient, token: MintToken) -> None:
    expired = token("monitoring", expires_in=-1)
    response = client.get("/v2/organizations", headers=bearer(expired))
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The access token has expired.",
    }


@pytest.mark.parametrize("e", WITH_UNKNOWN, ids=[e.id for e in WITH_UNKNOWN])
def test_an_unknown_id_is_404_with_a_json_error(
    client: TestClient, token: MintToken, e: Endpoint
) -> None:
    assert e.unknown is not None
    path, description = e.unknown
    response = call(client, e, bearer(token(e.scope)), path=path)
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "error_description": description}


@pytest.mark.parametrize("e", WITH_BAD, ids=[e.id for e in WITH_BAD])
def test_a_bad_parameter_or_body_is_a_400_naming_the_field(
    client: TestClient, token: MintToken, e: Endpoint
) -> None:
    assert e.bad is not None
    path, body, description = e.bad
    response = client.request(e.method, path, json=body, headers=bearer(token(e.scope)))
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_request", "error_description": description}


@pytest.mark.parametrize("e", ENDPOINTS, ids=ENDPOINT_IDS)
def test_an_authorization_header_that_is_not_bearer_is_a_401_without_an_error_code(
    client: TestClient, e: Endpoint
) -> None:
    # RFC 6750 §3.1: another scheme is "an unsupported authentication method": no error code.
    response = call(client, e, {"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="ninja-oauth"'
    assert "error" not in response.json()


def test_with_only_monitoring_every_read_works_and_every_write_is_refused(
    client: TestClient, token: MintToken
) -> None:
    headers = bearer(token("monitoring"))
    outcomes = {e.id: call(client, e, headers).status_code for e in ENDPOINTS}
    assert outcomes == {e.id: (e.status if e.scope == "monitoring" else 403) for e in ENDPOINTS}


def test_management_without_monitoring_can_write_but_not_read(
    client: TestClient, token: MintToken
) -> None:
    headers = bearer(token("management"))
    assert client.get("/v2/device/5", headers=headers).status_code == 403
    response = client.patch("/v2/device/5", json={"displayName": "X"}, headers=headers)
    assert response.status_code == 204


def test_remote_access_needs_control_even_with_management(
    client: TestClient, token: MintToken
) -> None:
    response = client.post(
        "/v2/device/5/remote-access", headers=bearer(token("monitoring management"))
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
