"""Issue 12: a client that proved its secret from an address is not blocked by other callers'
failures at that address (a shared NAT, a proxy); spraying guesses over many clients from one
address is still blocked, and being blocked or not says nothing about the secret tried."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth.config import ThrottleLimits
from ninja_oauth.oauth.domain import NewApp
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.server import ConsentRequest
from ninja_oauth.oauth.throttling import PASS_FOR
from tests.oauth.harness import ADDRESS, ISSUER, Core, PlainRequest, assert_oauth_error, basic

LIMITS = ThrottleLimits(client_auth_key=3, client_auth_address=7, window=300, block=60)
NAT = ADDRESS
ELSEWHERE = "198.51.100.9"


@pytest.fixture
def core(core_factory: type[Core]) -> Core:
    return core_factory(limits=LIMITS)


def _token(core: Core, app: NewApp, secret: str | None = None, address: str = NAT) -> OAuthResponse:
    return core.token(
        {
            "grant_type": "client_credentials",
            "client_id": app.app.client_id,
            "client_secret": secret if secret is not None else app.client_secret or "",
        },
        address=address,
    )


def _spray(core: Core, address: str = NAT) -> None:
    """Seven failures over unknown client ids, none past the per-client limit: the address is
    blocked."""
    for attempt in range(7):
        response = core.token(
            {
                "grant_type": "client_credentials",
                "client_id": f"guess-{attempt // 2}",
                "client_secret": "x",
            },
            address=address,
        )
        assert_oauth_error(response, 400, "invalid_client")
    assert core.token({"grant_type": "client_credentials"}, address=address).status == 429


def test_a_client_that_proved_its_secret_is_not_blocked_by_others_failures_at_its_address(
    core: Core,
) -> None:
    proven = core.register_app("api_services")
    proven_elsewhere = core.register_app("api_services")
    unproven = [core.register_app("api_services") for _ in range(2)]
    native = core.register_app("native")
    tokens = core.login(native)  # a public app: it proves no secret
    assert _token(core, proven).status == 200
    assert _token(core, proven_elsewhere, address=ELSEWHERE).status == 200
    _spray(core)
    assert _token(core, proven).status == 200
    # Spraying stays blocked: no other client gets through that address, not even with its
    # right secret (the answer cannot tell a right guess from a wrong one).
    for other in unproven:
        assert_oauth_error(_token(core, other, "guess"), 429, "slow_down")
        assert_oauth_error(_token(core, other), 429, "slow_down")
    # A pass is for the address it was earned from.
    assert_oauth_error(_token(core, proven_elsewhere), 429, "slow_down")
    # A public app has no secret to guess: never held back (it could never earn a pass).
    assert core.refresh(native, tokens["refresh_token"]).status == 200


def test_the_pass_also_holds_with_http_basic_and_at_introspection(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    first = core.token(
        {"grant_type": "client_credentials"}, headers=basic(m2m.app.client_id, m2m.client_secret)
    )
    assert first.status == 200
    _spray(core)
    again = core.token(
        {"grant_type": "client_credentials"}, headers=basic(m2m.app.client_id, m2m.client_secret)
    )
    assert again.status == 200
    introspection = PlainRequest(
        "POST",
        ISSUER + "/ws/oauth/introspect",
        form={"token": again.json()["access_token"]},
        headers=basic(m2m.app.client_id, m2m.client_secret),
    )
    assert core.server.introspection_endpoint(introspection, NAT).json()["active"] is True


def test_the_pass_never_lifts_the_clients_own_block(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert _token(core, m2m).status == 200
    _spray(core)
    # Guesses at the proven client from the same address: counted per (client, address)...
    for _ in range(3):
        assert_oauth_error(_token(core, m2m, "guess"), 400, "invalid_client")
    # ...and past that limit the client waits there, right secret or not.
    assert_oauth_error(_token(core, m2m, "guess"), 429, "slow_down")
    assert_oauth_error(_token(core, m2m), 429, "slow_down")


def test_a_pass_lasts_a_week_from_the_last_proof(core: Core) -> None:
    renewed = core.register_app("api_services")
    lapsed = core.register_app("api_services")
    assert _token(core, renewed).status == 200
    assert _token(core, lapsed).status == 200
    core.clock.advance(PASS_FOR - 3600)
    assert _token(core, renewed).status == 200  # renews its pass
    core.clock.advance(3600)
    _spray(core)
    assert _token(core, renewed).status == 200
    assert_oauth_error(_token(core, lapsed), 429, "slow_down")


def test_the_right_secret_on_authorize_earns_a_pass_there_and_at_the_token_endpoint(
    core: Core,
) -> None:
    web = core.register_app("web")
    without = core.register_app("web")
    assert web.client_secret is not None and without.client_secret is not None
    assert isinstance(
        core.authorize(core.code_params(web, client_secret=web.client_secret)), ConsentRequest
    )
    _spray(core)
    assert isinstance(
        core.authorize(core.code_params(web, client_secret=web.client_secret)), ConsentRequest
    )
    response = core.token(
        {
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": web.app.redirect_uris[0],
            **core.client_form(web),
        }
    )
    # Through the block (the code itself is unknown).
    assert_oauth_error(response, 400, "invalid_grant")
    # An app without a pass waits, right secret or not.
    with pytest.raises(FatalAuthorizeError) as caught:
        core.authorize(core.code_params(without, client_secret=without.client_secret))
    assert caught.value.error == "slow_down"


def test_a_public_app_is_never_blocked_nor_given_a_pass(core: Core) -> None:
    native = core.register_app("native")
    tokens = core.login(native)
    # HTTP Basic with an empty password: accepted as its client_id (it has no secret to
    # prove), but it proved nothing, so no pass is written for it.
    refreshed = core.token(
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic(native.app.client_id, ""),
    )
    assert refreshed.status == 200
    assert core.fakes.throttle.rows == {}
    # A secret sent to it is refused, and not counted: there is nothing to guess.
    for _ in range(LIMITS.client_auth_key + 1):
        sent = core.refresh(native, "x", client_secret="guess")
        assert_oauth_error(sent, 400, "invalid_client")
    assert core.fakes.throttle.rows == {}
    _spray(core)
    again = core.token(
        {"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]},
        headers=basic(native.app.client_id, ""),
    )
    assert again.status == 200
