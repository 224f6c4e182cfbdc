"""The authorize step: validate_authorize (fatal error page or 307 error) and complete_authorize."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.server import ConsentRequest
from ninja_oauth.oauth.throttling import Throttle
from tests.oauth.harness import ADDRESS, ISSUER, Core, Params, pkce_pair, split_location

WEB_CB = "https://client.example/callback"


def _fatal(core: Core, params: Params) -> FatalAuthorizeError:
    with pytest.raises(FatalAuthorizeError) as caught:
        core.authorize(params)
    return caught.value


def _redirect(core: Core, params: Params) -> OAuthResponse:
    result = core.authorize(params)
    assert isinstance(result, OAuthResponse), result
    assert result.status == 307
    assert ("Cache-Control", "no-store") in result.headers
    return result


def test_a_valid_request_waits_for_the_user_with_the_app_and_the_resolved_scopes(
    core: Core,
) -> None:
    web = core.register_app("web", scopes=["monitoring", "management"])
    consent = core.consent(core.code_params(web))
    assert (consent.client_id, consent.app_name, consent.scopes) == (
        web.app.client_id,
        "web app",
        ["monitoring", "management"],
    )


def test_the_requested_scope_is_resolved_to_its_canonical_form(core: Core) -> None:
    web = core.register_app("web")
    consent = core.consent(core.code_params(web, scope="offline_access control monitoring"))
    assert consent.scopes == ["monitoring", "control", "offline_access"]


def test_an_unknown_client_gets_the_error_page_never_a_redirect(core: Core) -> None:
    error = _fatal(
        core,
        {
            "response_type": "code",
            "client_id": "no-such-app",
            "redirect_uri": WEB_CB,
            "state": "xyz",
        },
    )
    assert (error.error, error.description) == (
        "invalid_client",
        "The client does not exist on this server.",
    )


def test_an_unknown_client_of_the_implicit_grant_gets_the_error_page_too(core: Core) -> None:
    error = _fatal(
        core, {"response_type": "token", "client_id": "no-such-app", "redirect_uri": WEB_CB}
    )
    assert (error.error, error.description) == (
        "invalid_client",
        "The client does not exist on this server.",
    )


def test_a_missing_client_id_gets_the_error_page(core: Core) -> None:
    error = _fatal(core, {"response_type": "code", "redirect_uri": WEB_CB})
    assert (error.error, error.description) == ("invalid_client", "Missing 'client_id' parameter.")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/callback",
        "https://client.example/callback/",
        "https://client.example/callback?next=1",
        "https://client.example:8443/callback",
        "http://client.example/callback",
    ],
    ids=["other-host", "trailing-slash", "extra-query", "other-port", "http"],
)
def test_an_unregistered_redirect_uri_gets_the_error_page_never_a_redirect(
    core: Core, redirect_uri: str
) -> None:
    web = core.register_app("web")
    error = _fatal(core, core.code_params(web, redirect_uri=redirect_uri, scope="bogus"))
    assert (error.error, error.description) == (
        "invalid_request",
        "The redirect_uri is not registered for this app; it must match a registered URI exactly.",
    )


def test_a_missing_redirect_uri_gets_the_error_page(core: Core) -> None:
    # DESIGN §6: redirect_uri is required on every authorize request.
    web = core.register_app("web")
    params = core.code_params(web)
    del params["redirect_uri"]
    error = _fatal(core, params)
    assert (error.error, error.description) == (
        "invalid_request",
        "Missing 'redirect_uri': it is required and must match a registered URI exactly.",
    )


def test_a_bad_scope_is_redirected_with_invalid_scope_state_and_iss(core: Core) -> None:
    web = core.register_app("web", scopes=["monitoring"])
    response = _redirect(core, core.code_params(web, scope="monitoring control"))
    base, query, fragment = split_location(response)
    assert base == WEB_CB
    assert query == {
        "error": "invalid_scope",
        "error_description": "The app is not configured for the scope 'control'.",
        "state": "xyz",
        "iss": ISSUER,
    }
    assert fragment == {}


def test_offline_access_is_invalid_scope_for_an_app_without_the_refresh_token_grant(
    core: Core,
) -> None:
    web = core.register_app("web", grant_types=["authorization_code"])
    _, query, _ = split_location(_redirect(core, core.code_params(web, scope="offline_access")))
    assert (query["error"], query["error_description"]) == (
        "invalid_scope",
        "The app is not configured for the scope 'offline_access'.",
    )


def test_an_error_without_state_in_the_request_has_no_state_in_the_redirect(core: Core) -> None:
    web = core.register_app("web")
    params = core.code_params(web, scope="bogus")
    del params["state"]
    _, query, _ = split_location(_redirect(core, params))
    assert set(query) == {"error", "error_description", "iss"}


def test_a_public_app_without_code_challenge_is_redirected_with_invalid_request(
    core: Core,
) -> None:
    native = core.register_app("native")
    _, query, _ = split_location(_redirect(core, core.code_params(native)))
    assert query == {
        "error": "invalid_request",
        "error_description": "Public apps must send code_challenge (PKCE, S256 or plain).",
        "state": "xyz",
        "iss": ISSUER,
    }


def test_a_confidential_app_may_authorize_without_pkce(core: Core) -> None:
    web = core.register_app("web")
    assert isinstance(core.authorize(core.code_params(web)), ConsentRequest)


def test_an_unsupported_code_challenge_method_is_redirected_with_invalid_request(
    core: Core,
) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair()
    params = core.code_params(native, code_challenge=challenge, code_challenge_method="S512")
    _, query, _ = split_location(_redirect(core, params))
    assert (query["error"], query["error_description"]) == (
        "invalid_request",
        "Unsupported 'code_challenge_method'",
    )


def test_a_wrong_client_secret_on_authorize_gets_the_error_page(core: Core) -> None:
    web = core.register_app("web")
    error = _fatal(core, core.code_params(web, client_secret="wrong"))
    assert (error.error, error.description) == (
        "invalid_client",
        "The client_secret is not valid for this app.",
    )


def test_a_wrong_client_secret_on_authorize_counts_as_a_failed_client_authentication(
    core: Core,
) -> None:
    web = core.register_app("web")
    _fatal(core, core.code_params(web, client_secret="wrong"))
    counters = core.fakes.throttle.rows
    per_client, per_address = Throttle.client_keys(web.app.client_id, "203.0.113.7")
    assert {k: v.failures for k, v in counters.items()} == {per_client: 1, per_address: 1}


def test_the_right_client_secret_on_authorize_is_accepted(core: Core) -> None:
    web = core.register_app("web")
    assert web.client_secret is not None
    consent = core.consent(core.code_params(web, client_secret=web.client_secret))
    assert consent.client_id == web.app.client_id
    # Nothing is counted; the one row written is the pass the proof earns (issue 12).
    assert list(core.fakes.throttle.rows) == [Throttle.pass_key(web.app.client_id, ADDRESS)]


def test_a_client_secret_sent_by_a_public_app_on_authorize_gets_the_error_page(
    core: Core,
) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair()
    params = core.code_params(native, client_secret="x", code_challenge=challenge)
    error = _fatal(core, params)
    assert (error.error, error.description) == (
        "invalid_client",
        "This app is public and has no client_secret; do not send one.",
    )


def test_an_api_services_app_cannot_use_the_authorize_endpoint(core: Core) -> None:
    m2m = core.register_app("api_services")
    error = _fatal(
        core, {"response_type": "code", "client_id": m2m.app.client_id, "redirect_uri": WEB_CB}
    )
    assert error.error == "invalid_request"


def test_an_unknown_response_type_is_redirected_with_unsupported_response_type(
    core: Core,
) -> None:
    web = core.register_app("web")
    _, query, _ = split_location(_redirect(core, core.code_params(web, response_type="id_token")))
    description = query.pop("error_description")
    assert query == {"error": "unsupported_response_type", "state": "xyz", "iss": ISSUER}
    # The description names the value once, readably. Authlib's UnsupportedResponseTypeError
    # takes response_type as its first argument, and get_authorization_grant passes its
    # description there, which garbles it to "response_type=The response type ... is not
    # supported".
    assert description.count("id_token") == 1, description
    assert not description.startswith("response_type=The response type"), description


def test_the_implicit_response_type_for_a_web_app_is_redirected_with_unauthorized_client(
    core: Core,
) -> None:
    web = core.register_app("web")
    _, query, _ = split_location(_redirect(core, core.code_params(web, response_type="token")))
    assert (query["error"], query["error_description"]) == (
        "unauthorized_client",
        "The app is not allowed to use 'response_type=token' (the Implicit grant).",
    )


def test_an_unsupported_response_mode_is_redirected_with_invalid_request(core: Core) -> None:
    web = core.register_app("web")
    _, query, _ = split_location(_redirect(core, core.code_params(web, response_mode="form_post")))
    assert (query["error"], query["error_description"]) == (
        "invalid_request",
        "Unsupported response_mode 'form_post': use 'query' or 'fragment'.",
    )


def test_a_repeated_parameter_gets_the_error_page(core: Core) -> None:
    # RFC 6749 §3.1: parameters "MUST NOT be included more than once"; Authlib checks this
    # before the redirect_uri is validated, so the answer is the error page.
    web = core.register_app("web")
    params = [*core.code_params(web).items(), ("scope", "monitoring"), ("scope", "control")]
    error = _fatal(core, params)
    assert (error.error, error.description) == ("invalid_request", "Multiple 'scope' in request.")


# -- complete_authorize ------------------------------------------------------------------------


def test_approval_redirects_307_with_the_code_state_and_iss(core: Core) -> None:
    web = core.register_app("web")
    response = core.approve(core.consent(core.code_params(web, scope="monitoring")))
    assert response.status == 307
    assert ("Cache-Control", "no-store") in response.headers
    base, query, fragment = split_location(response)
    assert base == WEB_CB
    assert set(query) == {"code", "state", "iss"}
    assert (query["state"], query["iss"]) == ("xyz", ISSUER)
    assert len(query["code"]) == 43
    assert fragment == {}


def test_the_code_is_stored_as_a_digest_bound_to_the_client_user_redirect_uri_and_challenge(
    core: Core,
) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair()
    redirect_uri = "http://127.0.0.1:53127/callback"
    code = core.authorize_code(
        native,
        redirect_uri=redirect_uri,
        scope="monitoring",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    ((digest, row),) = core.fakes.codes.rows.items()
    assert digest == core.hasher.digest(code, s.CODE)
    stored = row.code
    assert (stored.client_id, stored.user_id, stored.redirect_uri, stored.scope) == (
        native.app.client_id,
        core.user.id,
        redirect_uri,
        "monitoring",
    )
    assert (stored.code_challenge, stored.code_challenge_method) == (challenge, "S256")
    assert stored.expires_at == core.clock.now + 60


def test_a_code_challenge_without_a_method_is_stored_as_plain(core: Core) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair("plain")
    core.authorize_code(native, code_challenge=challenge)
    ((_, row),) = core.fakes.codes.rows.items()
    assert row.code.code_challenge_method == "plain"


def test_an_existing_query_in_the_redirect_uri_is_kept(core: Core) -> None:
    web = core.register_app("web", redirect_uris=["https://client.example/cb?tenant=7"])
    response = core.approve(core.consent(core.code_params(web)))
    _, query, _ = split_location(response)
    assert set(query) == {"tenant", "code", "state", "iss"}
    assert query["tenant"] == "7"


def test_denial_redirects_307_with_access_denied_state_and_iss(core: Core) -> None:
    web = core.register_app("web")
    response = core.approve(core.consent(core.code_params(web)), deny=True)
    assert response.status == 307
    base, query, _ = split_location(response)
    assert base == WEB_CB
    assert query == {
        "error": "access_denied",
        "error_description": "The user denied the request.",
        "state": "xyz",
        "iss": ISSUER,
    }
    assert core.fakes.codes.rows == {}


def test_response_mode_fragment_puts_the_code_in_the_fragment(core: Core) -> None:
    web = core.register_app("web")
    response = core.approve(core.consent(core.code_params(web, response_mode="fragment")))
    _, query, fragment = split_location(response)
    assert query == {}
    assert set(fragment) == {"code", "state", "iss"}


def test_response_mode_fragment_puts_an_error_in_the_fragment(core: Core) -> None:
    web = core.register_app("web")
    params = core.code_params(web, response_mode="fragment", scope="bogus")
    _, query, fragment = split_location(_redirect(core, params))
    assert query == {}
    assert fragment["error"] == "invalid_scope"


def test_each_approval_issues_a_new_code_of_a_new_grant(core: Core) -> None:
    web = core.register_app("web")
    first = core.authorize_code(web)
    second = core.authorize_code(web)
    assert first != second
    grants = {row.code.grant_id for row in core.fakes.codes.rows.values()}
    assert len(grants) == 2


@pytest.mark.parametrize("name", ["client_secret", "response_mode"])
def test_a_repeated_parameter_of_ours_gets_the_error_page_too(core: Core, name: str) -> None:
    web = core.register_app("web")
    first = web.client_secret if name == "client_secret" else "query"
    assert first is not None
    params = [*core.code_params(web).items(), (name, first), (name, "fragment")]
    error = _fatal(core, params)
    assert (error.error, error.description) == ("invalid_request", f"Multiple '{name}' in request.")


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        ("state", [("scope", "monitoring\x01")]),  # a malformed scope is found first
        ("state", [("response_type", "unknown")]),  # so is an unsupported response_type
        ("redirect_uri", [("response_type", "unknown")]),
        ("client_id", [("response_type", "")]),
    ],
    ids=["state+bad-scope", "state+bad-response_type", "redirect_uri", "client_id"],
)
def test_a_repeated_parameter_is_the_page_whatever_other_error_comes_with_it(
    core: Core, name: str, extra: list[tuple[str, str]]
) -> None:
    """Never a redirect with the first of two states (or to the first of two apps): the
    repeat is found before anything else is checked."""
    web = core.register_app("web")
    params = dict(core.code_params(web))
    for key, value in extra:
        params[key] = value
    repeated = [*params.items(), (name, params[name] if name != "state" else "other")]
    error = _fatal(core, repeated)
    assert (error.error, error.description) == ("invalid_request", f"Multiple '{name}' in request.")


def test_an_empty_client_secret_and_response_mode_count_as_omitted(core: Core) -> None:
    """RFC 6749 §3.1: a parameter sent without a value is treated as omitted (a link template
    whose secret placeholder stayed empty): the sign-in goes on, nothing is counted."""
    web = core.register_app("web")
    for _ in range(12):  # past the limit of failures: none is counted
        consent = core.consent(core.code_params(web, client_secret="", response_mode=""))
        assert consent.client_id == web.app.client_id
    assert core.fakes.throttle.rows == {}
    response = core.approve(consent)
    _, query, fragment = split_location(response)
    assert "code" in query and not fragment  # the default mode: the query


def test_a_secret_sent_to_a_public_app_on_authorize_is_never_counted_nor_blocked(
    core: Core,
) -> None:
    """As at the token endpoint: a public app has no secret to guess; the page says not to
    send one, every time, and no limit is reached."""
    native = core.register_app("native")
    _, challenge = pkce_pair()
    params = core.code_params(native, client_secret="x", code_challenge=challenge)
    for _ in range(12):
        error = _fatal(core, params)
        assert error.error == "invalid_client", error.description
    assert core.fakes.throttle.rows == {}
