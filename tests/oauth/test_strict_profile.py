"""Issue 12: the strict profile turns off what RFC 9700 advises against (the implicit grant,
plain PKCE, codes without PKCE, client_secret in the authorization URL), server-wide
(NINJA_OAUTH_PROFILE) or per app; the stricter of the two applies."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth.config import Policy
from ninja_oauth.oauth.domain import NewApp
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.server import ConsentRequest
from tests.oauth.harness import Core, assert_oauth_error, pkce_pair, split_location

STRICT = Policy(profile=Profile.STRICT)
SERVER = "this server runs the strict profile"
APP = "this app is registered with the strict profile"


@pytest.fixture
def strict(core_factory: type[Core]) -> Core:
    return core_factory(policy=STRICT)


def _error(response: ConsentRequest | OAuthResponse) -> dict[str, str]:
    """The error parameters of a 307 to the client (its iss and state checked, then dropped)."""
    assert isinstance(response, OAuthResponse), response
    assert response.status == 307
    _, query, _ = split_location(response)
    assert query.pop("state") == "xyz"
    assert query.pop("iss")
    return query


def _implicit(core: Core, app: NewApp) -> ConsentRequest | OAuthResponse:
    return core.authorize(core.code_params(app, response_type="token"))


def _s256(core: Core, app: NewApp, **params: str) -> dict[str, str]:
    _, challenge = pkce_pair()
    return core.code_params(app, code_challenge=challenge, code_challenge_method="S256", **params)


IMPLICIT_OFF = (
    "response_type=token (the implicit grant) is off: {why} (RFC 9700 section 2.1.2). Use "
    "response_type=code with PKCE (code_challenge_method=S256)."
)


def test_a_strict_server_refuses_the_implicit_grant(strict: Core) -> None:
    spa = strict.register_app("spa")
    assert _error(_implicit(strict, spa)) == {
        "error": "unsupported_response_type",
        "error_description": IMPLICIT_OFF.format(why=SERVER),
    }
    assert strict.fakes.tokens.rows == []


def test_a_strict_app_under_a_faithful_server_is_refused_the_implicit_grant(core: Core) -> None:
    spa = core.register_app("spa", profile=Profile.STRICT)
    assert _error(_implicit(core, spa)) == {
        "error": "unauthorized_client",
        "error_description": IMPLICIT_OFF.format(why=APP),
    }
    # Its neighbour without a profile of its own keeps the documents' flows.
    other = core.register_app("spa")
    assert isinstance(_implicit(core, other), ConsentRequest)


def test_an_app_marked_faithful_cannot_loosen_a_strict_server(strict: Core) -> None:
    spa = strict.register_app("spa", profile=Profile.FAITHFUL)
    assert _error(_implicit(strict, spa))["error"] == "unsupported_response_type"


@pytest.mark.parametrize("platform", ["web", "native", "spa"])
def test_strict_requires_pkce_for_every_code_request(strict: Core, platform: str) -> None:
    app = strict.register_app(platform)
    assert _error(strict.authorize(strict.code_params(app))) == {
        "error": "invalid_request",
        "error_description": f"code_challenge is required: {SERVER} (RFC 9700 section 2.1.1). "
        "Send code_challenge with code_challenge_method=S256.",
    }


@pytest.mark.parametrize(
    ("method", "said"),
    [("plain", "is plain"), (None, "is missing, which means plain")],
    ids=["plain", "missing"],
)
def test_strict_refuses_plain_pkce(core: Core, method: str | None, said: str) -> None:
    web = core.register_app("web", profile=Profile.STRICT)
    _, challenge = pkce_pair("plain")
    params = core.code_params(web, code_challenge=challenge)
    if method is not None:
        params["code_challenge_method"] = method
    assert _error(core.authorize(params)) == {
        "error": "invalid_request",
        "error_description": f"code_challenge_method {said}: {APP} (RFC 9700 section 2.1.1). "
        "Use code_challenge_method=S256.",
    }


def test_strict_refuses_a_client_secret_in_the_authorization_url_without_checking_it(
    strict: Core,
) -> None:
    web = strict.register_app("web")
    assert web.client_secret is not None
    for secret in (web.client_secret, "wrong"):
        assert _error(strict.authorize(_s256(strict, web, client_secret=secret))) == {
            "error": "invalid_request",
            "error_description": "Do not send client_secret in the authorization URL: "
            f"{SERVER} (RFC 6749 section 2.3.1). The app authenticates with its secret at the "
            "token endpoint only.",
        }
    # Refused unchecked: neither counted as a failure nor earning a pass.
    assert strict.fakes.throttle.rows == {}


def test_under_strict_the_code_flow_with_s256_and_client_credentials_work(strict: Core) -> None:
    web = strict.register_app("web")
    body = strict.login(web)
    assert body["scope"] == "monitoring offline_access"
    assert strict.refresh(web, body["refresh_token"]).status == 200
    m2m = strict.register_app("api_services")
    response = strict.token({"grant_type": "client_credentials", **strict.client_form(m2m)})
    assert response.status == 200


def test_a_code_issued_without_pkce_before_the_server_turned_strict_is_refused(
    core: Core,
) -> None:
    web = core.register_app("web")
    code = core.authorize_code(web)  # faithful: a confidential app may go without PKCE
    core.use_policy(STRICT)
    response = core.exchange(web, code)
    assert_oauth_error(
        response,
        400,
        "invalid_grant",
        f"The code was issued without PKCE S256: {SERVER} (RFC 9700 section 2.1.1). Start the "
        "authorization again with code_challenge_method=S256.",
    )
    # Refused before it is consumed.
    assert all(row.consumed_at is None for row in core.fakes.codes.rows.values())


def test_a_code_used_before_the_server_turned_strict_and_replayed_after_still_revokes(
    core: Core,
) -> None:
    """The replay of a used code is acted on whatever the profile: its tokens are revoked."""
    web = core.register_app("web")
    code = core.authorize_code(web)
    tokens = core.exchange(web, code).json()
    core.use_policy(STRICT)
    assert_oauth_error(
        core.exchange(web, code),
        400,
        "invalid_grant",
        "The code was already used; the tokens issued from it have been revoked.",
    )
    assert core.access(tokens["access_token"]) is None
