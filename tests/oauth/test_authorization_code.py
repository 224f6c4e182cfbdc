"""The code exchange: PKCE, single use, expiry, replay revocation, exact redirect_uri."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.config import Lifetimes
from tests.oauth.harness import ADDRESS, Core, assert_oauth_error, pkce_pair


def test_a_native_app_exchanges_its_code_with_the_s256_verifier(core: Core) -> None:
    native = core.register_app("native")
    verifier, challenge = pkce_pair("S256")
    code = core.authorize_code(
        native, scope="monitoring", code_challenge=challenge, code_challenge_method="S256"
    )
    response = core.exchange(native, code, code_verifier=verifier)
    assert response.status == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("bearer", 3600, "monitoring")
    grant = core.access(body["access_token"])
    assert grant is not None
    assert (grant.client_id, grant.user_id, grant.scopes) == (
        native.app.client_id,
        core.user.id,
        frozenset({"monitoring"}),
    )


def test_a_native_app_exchanges_its_code_with_the_plain_verifier(core: Core) -> None:
    native = core.register_app("native")
    verifier, challenge = pkce_pair("plain")
    code = core.authorize_code(native, code_challenge=challenge, code_challenge_method="plain")
    response = core.exchange(native, code, code_verifier=verifier)
    assert response.status == 200
    assert response.json()["scope"] == "monitoring management control"


def test_a_web_app_exchanges_its_code_with_its_secret_and_no_pkce(core: Core) -> None:
    web = core.register_app("web")
    code = core.authorize_code(web, scope="monitoring")
    response = core.exchange(web, code)
    assert response.status == 200
    assert response.json()["scope"] == "monitoring"


def test_offline_access_adds_a_refresh_token_stored_as_a_digest(core: Core) -> None:
    web = core.register_app("web")
    code = core.authorize_code(web, scope="monitoring offline_access")
    body = core.exchange(web, code).json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert body["scope"] == "monitoring offline_access"
    (row,) = core.fakes.tokens.rows
    assert row.token.refresh_digest == core.hasher.digest(body["refresh_token"], s.REFRESH_TOKEN)
    assert row.token.refresh_scope == "monitoring offline_access"
    assert row.token.refresh_expires_at == core.clock.now + 30 * 24 * 3600
    assert row.token.grant_type == "authorization_code"
    ((_, code_row),) = core.fakes.codes.rows.items()
    assert row.token.grant_id == code_row.code.grant_id


def test_a_wrong_s256_verifier_is_invalid_grant(core: Core) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair("S256")
    other_verifier, _ = pkce_pair("S256")
    code = core.authorize_code(native, code_challenge=challenge, code_challenge_method="S256")
    response = core.exchange(native, code, code_verifier=other_verifier)
    assert_oauth_error(response, 400, "invalid_grant", "Code challenge failed.")
    assert core.fakes.tokens.rows == []
    # The failed exchange did not consume the code.
    ((_, code_row),) = core.fakes.codes.rows.items()
    assert code_row.consumed_at is None


def test_the_s256_challenge_itself_is_not_accepted_as_the_verifier(core: Core) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair("S256")
    code = core.authorize_code(native, code_challenge=challenge, code_challenge_method="S256")
    response = core.exchange(native, code, code_verifier=challenge)
    assert_oauth_error(response, 400, "invalid_grant", "Code challenge failed.")


def test_a_public_app_without_the_verifier_is_invalid_request(core: Core) -> None:
    native = core.register_app("native")
    _, challenge = pkce_pair("S256")
    code = core.authorize_code(native, code_challenge=challenge, code_challenge_method="S256")
    response = core.exchange(native, code)
    assert_oauth_error(response, 400, "invalid_request", "Missing 'code_verifier'")
    assert core.fakes.tokens.rows == []


def test_a_confidential_app_that_used_pkce_must_send_the_verifier(core: Core) -> None:
    web = core.register_app("web")
    _, challenge = pkce_pair("S256")
    code = core.authorize_code(web, code_challenge=challenge, code_challenge_method="S256")
    response = core.exchange(web, code)
    assert_oauth_error(response, 400, "invalid_request", "Missing 'code_verifier'")


def test_a_verifier_for_a_code_issued_without_pkce_is_invalid_request(core: Core) -> None:
    # RFC 9700 §2.1.1: a PKCE downgrade must be detected.
    web = core.register_app("web")
    verifier, _ = pkce_pair()
    code = core.authorize_code(web)
    response = core.exchange(web, code, code_verifier=verifier)
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "The authorization request had no 'code_challenge', but a 'code_verifier' was provided.",
    )


def test_a_code_is_good_until_its_lifetime_ends(core_factory: type[Core]) -> None:
    core = core_factory(lifetimes=Lifetimes(code=60))
    web = core.register_app("web")
    code = core.authorize_code(web)
    core.clock.advance(59)
    assert core.exchange(web, code).status == 200


def test_an_expired_code_is_invalid_grant(core_factory: type[Core]) -> None:
    core = core_factory(lifetimes=Lifetimes(code=60))
    web = core.register_app("web")
    code = core.authorize_code(web)
    core.clock.advance(60)
    response = core.exchange(web, code)
    assert_oauth_error(
        response, 400, "invalid_grant", "The code has expired; start the authorization again."
    )
    assert core.fakes.tokens.rows == []


def test_a_replayed_code_is_invalid_grant_and_revokes_the_tokens_issued_from_it(core: Core) -> None:
    web = core.register_app("web")
    code = core.authorize_code(web, scope="monitoring offline_access")
    first = core.exchange(web, code).json()
    assert core.access(first["access_token"]) is not None
    core.clock.advance(5)
    replay = core.exchange(web, code)
    assert_oauth_error(
        replay,
        400,
        "invalid_grant",
        "The code was already used; the tokens issued from it have been revoked.",
    )
    assert core.access(first["access_token"]) is None
    (row,) = core.fakes.tokens.rows
    assert row.revoked_at == core.clock.now
    refresh = core.refresh(web, first["refresh_token"])
    assert_oauth_error(
        refresh,
        400,
        "invalid_grant",
        "The refresh token is not valid: unknown, expired, revoked or issued to another app.",
    )
    assert core.fakes.audit.named("code_replayed") == [
        {
            "event": "code_replayed",
            "client_id": web.app.client_id,
            "user_id": None,
            "address": ADDRESS,  # the replaying client's
            "revoked_tokens": 1,
        }
    ]


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ({}, ("invalid_request", "Missing 'code_verifier'")),
        ({"code_verifier": "w" * 43}, ("invalid_grant", "Code challenge failed.")),
        (
            {"redirect_uri": "http://127.0.0.1:9/elsewhere"},
            ("invalid_grant", "Invalid 'redirect_uri' in request."),
        ),
    ],
    ids=["no-verifier", "wrong-verifier", "wrong-redirect-uri"],
)
def test_a_used_code_replayed_without_its_bindings_revokes_nothing(
    core: Core, bad: dict[str, str], error: tuple[str, str]
) -> None:
    """RFC 7636 §1's attacker reads a native app's code on its way back (or an SPA's in a
    log) and replays it once the app has used it: without the verifier, or from another
    redirect URI, the replay is refused as any failed redemption is, and the app's tokens
    stay valid. Only a replay that passes the checks revokes them (the test above)."""
    native = core.register_app("native")
    verifier, challenge = pkce_pair("S256")
    code = core.authorize_code(
        native,
        scope="monitoring offline_access",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    tokens = core.exchange(native, code, code_verifier=verifier).json()
    core.clock.advance(5)
    form = {"grant_type": "authorization_code", "code": code, **core.client_form(native)}
    form["redirect_uri"] = native.app.redirect_uris[0]
    form.update(bad)
    assert_oauth_error(core.token(form), 400, *error)
    assert core.access(tokens["access_token"]) is not None
    assert core.refresh(native, tokens["refresh_token"]).status == 200
    assert core.fakes.audit.named("code_replayed") == []
    # The same replay with the verifier and the redirect URI is acted on.
    replay = core.exchange(native, code, code_verifier=verifier)
    assert_oauth_error(
        replay,
        400,
        "invalid_grant",
        "The code was already used; the tokens issued from it have been revoked.",
    )
    assert len(core.fakes.audit.named("code_replayed")) == 1


def test_a_replay_revokes_only_its_own_family(core: Core) -> None:
    web = core.register_app("web")
    replayed = core.authorize_code(web)
    other = core.authorize_code(web)
    first = core.exchange(web, replayed).json()
    kept = core.exchange(web, other).json()
    core.exchange(web, replayed)
    assert core.access(first["access_token"]) is None
    assert core.access(kept["access_token"]) is not None


def test_a_code_issued_to_another_app_is_invalid_grant_and_stays_usable(core: Core) -> None:
    web = core.register_app("web")
    thief = core.register_app("web")
    code = core.authorize_code(web)
    response = core.exchange(thief, code, redirect_uri=web.app.redirect_uris[0])
    assert_oauth_error(
        response,
        400,
        "invalid_grant",
        "The code is not valid: unknown, or issued to another app.",
    )
    assert core.exchange(web, code).status == 200


def test_an_unknown_code_is_invalid_grant(core: Core) -> None:
    web = core.register_app("web")
    response = core.exchange(web, "no-such-code")
    assert_oauth_error(
        response, 400, "invalid_grant", "The code is not valid: unknown, or issued to another app."
    )


def test_a_missing_code_is_invalid_request(core: Core) -> None:
    web = core.register_app("web")
    response = core.token(
        {
            "grant_type": "authorization_code",
            "redirect_uri": web.app.redirect_uris[0],
            **core.client_form(web),
        }
    )
    assert_oauth_error(response, 400, "invalid_request", "Missing 'code' in request.")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://client.example/other",
        "https://client.example/callback/",
        "https://client.example/callback?x=1",
        None,
    ],
    ids=["other-path", "trailing-slash", "extra-query", "missing"],
)
def test_a_redirect_uri_that_differs_from_the_authorize_request_is_invalid_grant(
    core: Core, redirect_uri: str | None
) -> None:
    web = core.register_app("web")
    code = core.authorize_code(web)
    form = {"grant_type": "authorization_code", "code": code, **core.client_form(web)}
    if redirect_uri is not None:
        form["redirect_uri"] = redirect_uri
    response = core.token(form)
    assert_oauth_error(response, 400, "invalid_grant", "Invalid 'redirect_uri' in request.")
    assert core.fakes.tokens.rows == []


def test_a_native_loopback_code_must_be_exchanged_with_the_same_port(core: Core) -> None:
    native = core.register_app("native")
    verifier, challenge = pkce_pair()
    code = core.authorize_code(
        native,
        redirect_uri="http://127.0.0.1:49152/callback",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    wrong_port = core.exchange(
        native, code, redirect_uri="http://127.0.0.1:49153/callback", code_verifier=verifier
    )
    assert_oauth_error(wrong_port, 400, "invalid_grant", "Invalid 'redirect_uri' in request.")


def test_a_native_loopback_code_is_exchanged_with_the_port_it_was_issued_for(core: Core) -> None:
    native = core.register_app("native")
    verifier, challenge = pkce_pair()
    code = core.authorize_code(
        native,
        redirect_uri="http://127.0.0.1:49152/callback",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    response = core.exchange(
        native, code, redirect_uri="http://127.0.0.1:49152/callback", code_verifier=verifier
    )
    assert response.status == 200


def test_an_app_without_the_authorization_code_grant_is_unauthorized_client(core: Core) -> None:
    m2m = core.register_app("api_services")
    response = core.token(
        {"grant_type": "authorization_code", "code": "x", **core.client_form(m2m)}
    )
    assert_oauth_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use 'grant_type=authorization_code'",
    )


def test_an_empty_code_is_a_missing_one(core: Core) -> None:
    """RFC 6749 §3.1: a parameter sent without a value counts as omitted."""
    web = core.register_app("web")
    core.authorize_code(web)
    response = core.exchange(web, "")
    assert_oauth_error(response, 400, "invalid_request", "Missing 'code' in request.")


def test_the_verifier_is_compared_in_constant_time_and_still_right() -> None:
    """Authlib compares with ``==``; the registered extension compares bytes with
    hmac.compare_digest, with the same answers."""
    from authlib.oauth2.rfc7636 import create_s256_code_challenge

    from ninja_oauth.oauth.grants.authorization_code import ConstantTimeCodeChallenge

    methods = ConstantTimeCodeChallenge.CODE_CHALLENGE_METHODS
    verifier = "v" * 43
    assert methods["plain"](verifier, verifier)
    assert not methods["plain"](verifier, "w" * 43)
    assert methods["S256"](verifier, create_s256_code_challenge(verifier))
    assert not methods["S256"](verifier, create_s256_code_challenge("w" * 43))
    assert not methods["plain"](verifier, "é" * 43)  # never a TypeError


def test_the_server_compares_the_verifier_with_compare_digest(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The registered PKCE extension is the constant-time one."""
    import hmac

    from ninja_oauth.oauth.grants import authorization_code

    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(authorization_code.hmac, "compare_digest", spy)
    native = core.register_app("native")
    verifier, challenge = pkce_pair("S256")
    code = core.authorize_code(native, code_challenge=challenge, code_challenge_method="S256")
    assert core.exchange(native, code, code_verifier=verifier).status == 200
    assert compared == [(challenge.encode(), challenge.encode())]
