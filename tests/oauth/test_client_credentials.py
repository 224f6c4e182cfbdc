"""The client credentials grant for API Services apps, through the core's token endpoint."""

from __future__ import annotations

import re

import pytest

from tests.oauth.harness import Core, assert_oauth_error, basic


def test_client_credentials_returns_a_bearer_token_for_every_configured_scope_by_default(
    core: Core,
) -> None:
    m2m = core.register_app("api_services", scopes=["monitoring", "management"])
    response = core.token({"grant_type": "client_credentials", **core.client_form(m2m)})
    assert response.status == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "bearer",
        3600,
        "monitoring management",
    )
    # The time of issue (14 hex digits), then 256 random bits (base64url without padding).
    assert re.fullmatch(r"[0-9a-f]{14}[A-Za-z0-9_-]{43}", body["access_token"])
    assert response.headers == [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
        ("Pragma", "no-cache"),
    ]


def test_the_issued_token_is_stored_only_as_a_digest_with_its_owner_scope_and_expiry(
    core: Core,
) -> None:
    m2m = core.register_app("api_services", scopes=["monitoring"])
    token = core.token({"grant_type": "client_credentials", **core.client_form(m2m)}).json()
    (row,) = core.fakes.tokens.rows
    assert row.token.access_digest == core.hasher.access_key(token["access_token"])
    assert token["access_token"] not in repr(row)
    assert row.token.refresh_digest is None
    assert row.token.client_id == m2m.app.client_id
    assert row.token.user_id is None
    assert row.token.grant_type == "client_credentials"
    assert row.token.access_expires_at == core.clock.now + 3600
    grant = core.access(token["access_token"])
    assert grant is not None
    assert grant.scopes == frozenset({"monitoring"})


@pytest.mark.parametrize(
    ("requested", "granted"),
    [
        ("monitoring", "monitoring"),
        ("control management", "management control"),
        ("monitoring monitoring", "monitoring"),
    ],
    ids=["one-scope", "reordered-canonically", "repeats-dropped"],
)
def test_client_credentials_may_narrow_the_scope(core: Core, requested: str, granted: str) -> None:
    m2m = core.register_app("api_services")
    response = core.token(
        {"grant_type": "client_credentials", "scope": requested, **core.client_form(m2m)}
    )
    assert response.status == 200
    assert response.json()["scope"] == granted


def test_a_scope_the_app_is_not_configured_for_is_invalid_scope_and_names_it(core: Core) -> None:
    m2m = core.register_app("api_services", scopes=["monitoring"])
    response = core.token(
        {"grant_type": "client_credentials", "scope": "monitoring control", **core.client_form(m2m)}
    )
    assert_oauth_error(
        response, 400, "invalid_scope", "The app is not configured for the scope 'control'."
    )
    assert core.fakes.tokens.rows == []


def test_offline_access_never_gives_a_client_credentials_refresh_token(core: Core) -> None:
    m2m = core.register_app("api_services")  # client_credentials and refresh_token
    response = core.token(
        {
            "grant_type": "client_credentials",
            "scope": "monitoring offline_access",
            **core.client_form(m2m),
        }
    )
    assert response.status == 200
    body = response.json()
    assert "refresh_token" not in body
    assert body["scope"] == "monitoring"


def test_offline_access_is_invalid_scope_for_an_app_without_the_refresh_token_grant(
    core: Core,
) -> None:
    m2m = core.register_app("api_services", grant_types=["client_credentials"])
    response = core.token(
        {"grant_type": "client_credentials", "scope": "offline_access", **core.client_form(m2m)}
    )
    assert_oauth_error(
        response, 400, "invalid_scope", "The app is not configured for the scope 'offline_access'."
    )


def test_client_credentials_with_http_basic_returns_a_token(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    response = core.token(
        {"grant_type": "client_credentials"}, headers=basic(m2m.app.client_id, m2m.client_secret)
    )
    assert response.status == 200
    assert response.json()["scope"] == "monitoring management control"


def test_a_web_app_may_not_use_client_credentials(core: Core) -> None:
    web = core.register_app("web")
    response = core.token({"grant_type": "client_credentials", **core.client_form(web)})
    assert_oauth_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use 'grant_type=client_credentials'",
    )


@pytest.mark.parametrize(
    ("grant_type", "description"),
    [
        (
            "password",
            "Unsupported grant_type 'password'; use authorization_code, client_credentials "
            "or refresh_token.",
        ),
    ],
    ids=["password"],
)
def test_an_unsupported_grant_type_names_the_supported_ones(
    core: Core, grant_type: str, description: str
) -> None:
    m2m = core.register_app("api_services")
    form = core.client_form(m2m)
    form["grant_type"] = grant_type
    assert_oauth_error(core.token(form), 400, "unsupported_grant_type", description)


def test_a_missing_grant_type_is_invalid_request(core: Core) -> None:
    # RFC 6749 §5.2: a missing required parameter is invalid_request (issue 12; this was
    # unsupported_grant_type).
    m2m = core.register_app("api_services")
    assert_oauth_error(
        core.token(core.client_form(m2m)),
        400,
        "invalid_request",
        "Missing 'grant_type'; use authorization_code, client_credentials or refresh_token.",
    )
