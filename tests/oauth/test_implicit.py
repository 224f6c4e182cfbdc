"""The implicit grant for Single-Page Apps: a 307 carrying the token, no refresh token."""

from __future__ import annotations

import re

from ninja_oauth.oauth.responses import OAuthResponse
from tests.oauth.harness import ISSUER, Core, split_location

SPA_CB = "https://spa.example/callback"


def _implicit(core: Core, app_scope: str = "monitoring", **params: str) -> OAuthResponse:
    spa = core.register_app("spa")
    consent = core.consent(core.code_params(spa, response_type="token", scope=app_scope, **params))
    return core.approve(consent)


def test_the_token_comes_in_the_query_string_by_default_as_the_documents_say(core: Core) -> None:
    response = _implicit(core)
    assert response.status == 307
    assert ("Cache-Control", "no-store") in response.headers
    base, query, fragment = split_location(response)
    assert base == SPA_CB
    assert fragment == {}
    token = query.pop("access_token")
    assert re.fullmatch(r"[0-9a-f]{14}[A-Za-z0-9_-]{43}", token)
    assert query == {
        "token_type": "bearer",
        "expires_in": "3600",
        "scope": "monitoring",
        "state": "xyz",
        "iss": ISSUER,
    }
    grant = core.access(token)
    assert grant is not None
    assert (grant.user_id, grant.scopes, grant.expires_at) == (
        core.user.id,
        frozenset({"monitoring"}),
        core.clock.now + 3600,
    )


def test_response_mode_fragment_puts_the_token_in_the_fragment(core: Core) -> None:
    response = _implicit(core, response_mode="fragment")
    _, query, fragment = split_location(response)
    assert query == {}
    assert set(fragment) == {"access_token", "token_type", "expires_in", "scope", "state", "iss"}


def test_the_implicit_token_is_stored_as_a_digest_of_grant_type_implicit(core: Core) -> None:
    response = _implicit(core)
    _, query, _ = split_location(response)
    (row,) = core.fakes.tokens.rows
    assert row.token.access_digest == core.hasher.access_key(query["access_token"])
    assert (row.token.grant_type, row.token.refresh_digest) == ("implicit", None)


def test_offline_access_never_gives_an_implicit_refresh_token(core: Core) -> None:
    # RFC 6749 §4.2.2: "The authorization server MUST NOT issue a refresh token."
    response = _implicit(core, app_scope="monitoring offline_access")
    _, query, _ = split_location(response)
    assert "refresh_token" not in query
    assert [row.token.refresh_digest for row in core.fakes.tokens.rows] == [None]


def test_an_implicit_token_does_not_claim_offline_access_it_cannot_use(core: Core) -> None:
    # As client_credentials does (DESIGN §6): offline_access is not granted when no refresh
    # token comes with it, so the scope the client is told matches what it got.
    response = _implicit(core, app_scope="monitoring offline_access")
    _, query, _ = split_location(response)
    assert query["scope"] == "monitoring"
    assert [row.token.scope for row in core.fakes.tokens.rows] == ["monitoring"]


def test_denial_redirects_with_access_denied_where_the_token_would_have_gone(core: Core) -> None:
    spa = core.register_app("spa")
    consent = core.consent(core.code_params(spa, response_type="token", response_mode="fragment"))
    response = core.approve(consent, deny=True)
    assert response.status == 307
    _, query, fragment = split_location(response)
    assert query == {}
    assert fragment == {
        "error": "access_denied",
        "error_description": "The user denied the request.",
        "state": "xyz",
        "iss": ISSUER,
    }
    assert core.fakes.tokens.rows == []


def test_an_implicit_scope_error_goes_to_the_query_by_default(core: Core) -> None:
    spa = core.register_app("spa", scopes=["monitoring"])
    result = core.authorize(core.code_params(spa, response_type="token", scope="control"))
    assert isinstance(result, OAuthResponse)
    _, query, fragment = split_location(result)
    assert fragment == {}
    assert query == {
        "error": "invalid_scope",
        "error_description": "The app is not configured for the scope 'control'.",
        "state": "xyz",
        "iss": ISSUER,
    }


def test_an_spa_without_the_implicit_grant_is_redirected_with_unauthorized_client(
    core: Core,
) -> None:
    spa = core.register_app("spa", grant_types=["authorization_code"])
    result = core.authorize(core.code_params(spa, response_type="token"))
    assert isinstance(result, OAuthResponse)
    _, query, _ = split_location(result)
    assert (query["error"], query["error_description"]) == (
        "unauthorized_client",
        "The app is not allowed to use 'response_type=token' (the Implicit grant).",
    )
