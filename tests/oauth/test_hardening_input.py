"""Issue 12: a parameter holding a character outside its RFC 6749 grammar is a 4xx naming the
parameter, never a 500 (Authlib refuses such characters in an error description)."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.server import ConsentRequest
from ninja_oauth.oauth.syntax import quoted
from tests.oauth.harness import Core, assert_oauth_error, pkce_pair, split_location

BAD = ['"', "é", "\x00", "\\", "\n"]
BAD_IDS = ["quote", "e-acute", "nul", "backslash", "newline"]

SCOPE_RULE = (
    "The 'scope' parameter holds a character it may not: use printable ASCII other than the "
    "double quote and the backslash, scopes separated by spaces (RFC 6749 Appendix A.4)."
)
RULES = {
    "scope": SCOPE_RULE,
    "response_type": "The 'response_type' parameter holds a character it may not: use letters, "
    "digits and underscores (RFC 6749 Appendix A.3).",
    "response_mode": "The 'response_mode' parameter holds a character it may not: use letters, "
    "digits and underscores: use query or fragment.",
    "state": "The 'state' parameter holds a character it may not: use printable ASCII (RFC 6749 "
    "Appendix A.5).",
}


def _describable(text: str) -> bool:
    """RFC 6749 §5.2: %x20-21 / %x23-5B / %x5D-7E."""
    return all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text)


def _authorize(core: Core, params: dict[str, str]) -> ConsentRequest | OAuthResponse:
    return core.authorize(params)


# A double quote and a backslash are printable ASCII: a valid state (RFC 6749 Appendix A.5).
MALFORMED = [
    pytest.param(param, char, id=f"{param}-{name}")
    for param in ("scope", "response_type", "response_mode", "state")
    for char, name in zip(BAD, BAD_IDS, strict=True)
    if not (param == "state" and char in ('"', "\\"))
]


@pytest.mark.parametrize(("param", "char"), MALFORMED)
@pytest.mark.parametrize("response_type", ["code", "token"])
def test_a_malformed_authorize_parameter_is_redirected_as_invalid_request(
    core: Core, param: str, char: str, response_type: str
) -> None:
    app = core.register_app("spa")
    _, challenge = pkce_pair()
    params = core.code_params(
        app, response_type=response_type, code_challenge=challenge, code_challenge_method="S256"
    )
    params[param] = params.get(param, "query") + char
    response = _authorize(core, params)
    assert isinstance(response, OAuthResponse)
    assert response.status == 307
    base, query, _ = split_location(response)
    assert base == app.app.redirect_uris[0]
    expected = {"error": "invalid_request", "error_description": RULES[param], "iss": query["iss"]}
    if param != "state":
        expected["state"] = "xyz"
    # A malformed state is the error itself: it is not echoed back.
    assert query == expected


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
@pytest.mark.parametrize("param", ["scope", "response_type", "response_mode"])
def test_before_the_redirect_uri_is_trusted_a_malformed_parameter_gets_the_error_page(
    core: Core, param: str, char: str
) -> None:
    web = core.register_app("web")
    params = core.code_params(web, redirect_uri="https://attacker.example/cb")
    params[param] = params.get(param, "query") + char
    with pytest.raises(FatalAuthorizeError) as caught:
        _authorize(core, params)
    assert (caught.value.error, caught.value.description) == ("invalid_request", RULES[param])


def test_a_code_challenge_with_a_final_newline_is_invalid_request(core: Core) -> None:
    """RFC 7636 §4.2: 43 to 128 unreserved characters. Authlib's pattern ends in "$", which
    lets a final newline through, and such a code could never be redeemed."""
    web = core.register_app("web")
    _, challenge = pkce_pair()
    params = core.code_params(web, code_challenge=challenge + "\n", code_challenge_method="S256")
    response = _authorize(core, params)
    assert isinstance(response, OAuthResponse), response
    _, query, _ = split_location(response)
    assert query["error"] == "invalid_request"
    assert query["error_description"] == (
        "The 'code_challenge' parameter holds a character it may not: use 43 to 128 letters, "
        "digits and the characters - . _ ~ (RFC 7636 section 4.2)."
    )


@pytest.mark.parametrize("char", BAD, ids=BAD_IDS)
@pytest.mark.parametrize("grant_type", ["client_credentials", "authorization_code", "refresh"])
def test_a_malformed_scope_at_the_token_endpoint_is_invalid_request(
    core: Core, grant_type: str, char: str
) -> None:
    m2m = core.register_app("api_services")
    web = core.register_app("web")
    if grant_type == "client_credentials":
        form = {"grant_type": grant_type, **core.client_form(m2m)}
    elif grant_type == "authorization_code":
        form = {"grant_type": grant_type, "code": "c", **core.client_form(web)}
    else:
        # A real refresh token: its family's scope is read before the narrowing is checked.
        tokens = core.login(web)
        form = {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            **core.client_form(web),
        }
    form["scope"] = "monitoring" + char
    assert_oauth_error(core.token(form), 400, "invalid_request", SCOPE_RULE)


@pytest.mark.parametrize(
    "given",
    [
        'pass"wo\\rd\x00é' + "x" * 50,
        "client_credentials;client_secret=s3cr3t-value",
        "x" * 81,
    ],
    ids=["control-and-quotes", "another-separator", "too-long"],
)
def test_an_unsupported_grant_type_out_of_the_grammar_is_not_repeated(
    core: Core, given: str
) -> None:
    m2m = core.register_app("api_services")
    response = core.token({"grant_type": given, **core.client_form(m2m)})
    body = assert_oauth_error(
        response,
        400,
        "unsupported_grant_type",
        "Unsupported grant_type: it is not a grant type's name or URI (RFC 6749 appendix "
        "A.10); use authorization_code, client_credentials or refresh_token.",
    )
    assert "s3cr3t" not in str(body)


def test_an_unsupported_grant_type_uri_is_named(core: Core) -> None:
    m2m = core.register_app("api_services")
    device = "urn:ietf:params:oauth:grant-type:device_code"
    response = core.token({"grant_type": device, **core.client_form(m2m)})
    assert_oauth_error(
        response,
        400,
        "unsupported_grant_type",
        f"Unsupported grant_type '{device}'; use authorization_code, client_credentials or "
        "refresh_token.",
    )


def test_an_unknown_scope_is_quoted_within_a_bound(core: Core) -> None:
    m2m = core.register_app("api_services")
    response = core.token(
        {"grant_type": "client_credentials", "scope": "y" * 5000, **core.client_form(m2m)}
    )
    body = assert_oauth_error(response, 400, "invalid_scope")
    assert body["error_description"] == (
        "The app is not configured for the scope '" + "y" * 40 + "...'."
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [("plain", "plain"), ('a"b\\c\x00dé', "a?b?c?d?"), ("z" * 41, "z" * 40 + "...")],
    ids=["plain", "outside-the-set", "long"],
)
def test_quoted_keeps_to_the_error_description_character_set(value: str, shown: str) -> None:
    assert quoted(value) == shown
    assert _describable(quoted(value))
