"""Revocation (RFC 7009), introspection (RFC 7662), lifetimes, and no secret in any log line."""

from __future__ import annotations

import logging

import pytest

from ninja_oauth.oauth.config import Lifetimes
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import OAuthResponse
from tests.oauth.harness import (
    ADDRESS,
    ISSUER,
    Core,
    Params,
    PlainRequest,
    assert_oauth_error,
    split_location,
)


def _revoke(core: Core, form: Params) -> OAuthResponse:
    request = PlainRequest("POST", ISSUER + "/ws/oauth/revoke", form=form)
    return core.server.revocation_endpoint(request, ADDRESS)


def _introspect(core: Core, form: Params) -> OAuthResponse:
    request = PlainRequest("POST", ISSUER + "/ws/oauth/introspect", form=form)
    return core.server.introspection_endpoint(request, ADDRESS)


def test_revoking_a_refresh_token_revokes_its_family(core: Core) -> None:
    web = core.register_app("web")
    tokens = core.login(web)
    response = _revoke(core, {"token": tokens["refresh_token"], **core.client_form(web)})
    assert response.status == 200
    assert core.access(tokens["access_token"]) is None
    assert core.refresh(web, tokens["refresh_token"]).status == 400


def test_revoking_an_access_token_leaves_the_rest_of_its_family_alone(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web)
    second = core.refresh(web, first["refresh_token"]).json()
    assert _revoke(core, {"token": first["access_token"], **core.client_form(web)}).status == 200
    assert core.access(first["access_token"]) is None
    assert core.access(second["access_token"]) is not None
    assert core.refresh(web, second["refresh_token"]).status == 200


def test_revoking_an_access_token_ends_the_refresh_token_issued_with_it(core: Core) -> None:
    """One row holds both (README, "Refresh tokens rotate"; RFC 7009 §2.1 allows it)."""
    web = core.register_app("web")
    tokens = core.login(web)
    assert _revoke(core, {"token": tokens["access_token"], **core.client_form(web)}).status == 200
    refreshed = core.refresh(web, tokens["refresh_token"])
    assert refreshed.status == 400 and refreshed.json()["error"] == "invalid_grant"


def test_an_app_cannot_revoke_the_token_of_another_app_and_gets_200_anyway(core: Core) -> None:
    web = core.register_app("web")
    other = core.register_app("native")
    tokens = core.login(web)
    response = _revoke(core, {"token": tokens["access_token"], **core.client_form(other)})
    assert response.status == 200
    assert core.access(tokens["access_token"]) is not None


def test_revoking_an_unknown_token_is_200(core: Core) -> None:
    web = core.register_app("web")
    assert _revoke(core, {"token": "no-such-token", **core.client_form(web)}).status == 200


def test_introspection_describes_an_active_token(core: Core) -> None:
    # Introspected by the app it was issued to (another app sees it only as a resource server:
    # tests/oauth/test_introspection_rules.py).
    web = core.register_app("web")
    tokens = core.login(web, scope="monitoring offline_access")
    response = _introspect(core, {"token": tokens["access_token"], **core.client_form(web)})
    assert response.status == 200
    body = response.json()
    assert body == {
        "active": True,
        "scope": "monitoring offline_access",
        "client_id": body["client_id"],
        "token_type": "bearer",
        "exp": core.clock.now + 3600,
        "iat": core.clock.now,
        "iss": ISSUER,
        "sub": str(core.user.id),
    }


@pytest.mark.parametrize("state", ["unknown", "expired", "revoked"])
def test_introspection_of_an_unusable_token_is_active_false_and_nothing_else(
    core: Core, state: str
) -> None:
    m2m = core.register_app("api_services")
    web = core.register_app("web")
    tokens = core.login(web)
    token = tokens["access_token"]
    if state == "unknown":
        token = "no-such-token"
    elif state == "expired":
        core.clock.advance(3600)
    else:
        core.refresh(web, tokens["refresh_token"])
        core.refresh(web, tokens["refresh_token"])  # reuse: the family is revoked
    response = _introspect(core, {"token": token, **core.client_form(m2m)})
    assert response.status == 200
    assert response.json() == {"active": False}


def test_a_public_app_may_not_introspect(core: Core) -> None:
    native = core.register_app("native")
    response = _introspect(core, {"token": "x", "client_id": native.app.client_id})
    assert_oauth_error(response, 401, "invalid_client")


def test_the_access_token_lifetime_is_the_configured_one(core_factory: type[Core]) -> None:
    core = core_factory(lifetimes=Lifetimes(access_token=600))
    m2m = core.register_app("api_services")
    body = core.token({"grant_type": "client_credentials", **core.client_form(m2m)}).json()
    assert body["expires_in"] == 600
    assert core.fakes.tokens.rows[0].token.access_expires_at == core.clock.now + 600


def test_an_implicit_request_with_a_client_secret_gets_the_error_page(core: Core) -> None:
    # DESIGN §6: client_secret on the authorize request is checked when sent, for either grant;
    # an SPA has none, as the code grant already says.
    spa = core.register_app("spa")
    with pytest.raises(FatalAuthorizeError) as caught:
        core.authorize(core.code_params(spa, response_type="token", client_secret="guess"))
    assert (caught.value.error, caught.value.description) == (
        "invalid_client",
        "This app is public and has no client_secret; do not send one.",
    )


def test_no_secret_token_or_code_appears_in_any_log_record(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    web = core.register_app("web")
    m2m = core.register_app("api_services")
    spa = core.register_app("spa")
    code = core.authorize_code(web, scope="monitoring offline_access")
    tokens = core.exchange(web, code).json()
    refreshed = core.refresh(web, tokens["refresh_token"]).json()
    core.refresh(web, tokens["refresh_token"])
    m2m_token = core.token({"grant_type": "client_credentials", **core.client_form(m2m)}).json()
    implicit = core.approve(core.consent(core.code_params(spa, response_type="token")))
    _, query, _ = split_location(implicit)
    secrets = [
        web.client_secret,
        m2m.client_secret,
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
        m2m_token["access_token"],
        query["access_token"],
    ]
    logged = "\n".join(
        record.getMessage() + repr(record.args) + repr(record.__dict__) for record in caplog.records
    )
    assert [x for x in secrets if x and x in logged] == []
    assert [x for x in secrets if x and x in repr(core.fakes)] == []


@pytest.mark.parametrize("endpoint", ["revoke", "introspect"])
def test_a_repeated_token_is_refused_and_nothing_is_revoked(core: Core, endpoint: str) -> None:
    # Checked one, revoked the other: the caller would be told 200 with its token still live.
    web = core.register_app("web")
    tokens = core.login(web)
    form = [("token", tokens["access_token"]), ("token", "junk"), *core.client_form(web).items()]
    response = (_revoke if endpoint == "revoke" else _introspect)(core, form)
    assert_oauth_error(response, 400, "invalid_request", "The parameter 'token' is repeated.")
    assert core.access(tokens["access_token"]) is not None
