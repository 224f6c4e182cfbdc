"""The refresh token grant: rotation on use, reuse revokes the family, narrowing only."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.config import Lifetimes
from ninja_oauth.oauth.registry import edit_app
from tests.oauth.harness import ADDRESS, Core, assert_oauth_error

NOT_VALID = "The refresh token is not valid: unknown, expired, revoked or issued to another app."
REUSED = (
    "The refresh token was already used; every token of its family has been revoked. Log in again."
)


def test_a_refresh_rotates_the_refresh_token_and_keeps_the_family(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web)
    core.clock.advance(100)
    response = core.refresh(web, first["refresh_token"])
    assert response.status == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "refresh_token"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "bearer",
        3600,
        "monitoring offline_access",
    )
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    old, new = core.fakes.tokens.rows
    assert old.refresh_used_at == core.clock.now
    assert new.token.grant_id == old.token.grant_id
    assert new.token.grant_type == "refresh_token"
    assert new.token.user_id == core.user.id
    assert new.token.refresh_digest == core.hasher.digest(body["refresh_token"], s.REFRESH_TOKEN)
    # DESIGN §6: each rotated refresh token lives the refresh lifetime from its own issue.
    assert new.token.refresh_expires_at == core.clock.now + 30 * 24 * 3600


def test_the_rotated_refresh_token_refreshes_again(core: Core) -> None:
    web = core.register_app("web")
    token = core.login(web)["refresh_token"]
    for _ in range(3):
        response = core.refresh(web, token)
        assert response.status == 200
        token = response.json()["refresh_token"]
    assert len(core.fakes.tokens.rows) == 4


def test_refresh_token_reuse_revokes_the_whole_family(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web)
    second = core.refresh(web, first["refresh_token"]).json()
    core.clock.advance(7)
    reuse = core.refresh(web, first["refresh_token"])
    assert_oauth_error(reuse, 400, "invalid_grant", REUSED)
    assert [row.revoked_at for row in core.fakes.tokens.rows] == [core.clock.now] * 2
    assert core.access(first["access_token"]) is None
    assert core.access(second["access_token"]) is None
    assert_oauth_error(core.refresh(web, second["refresh_token"]), 400, "invalid_grant", NOT_VALID)
    assert core.fakes.audit.named("refresh_token_reused") == [
        {
            "event": "refresh_token_reused",
            "client_id": web.app.client_id,
            "user_id": None,
            "address": ADDRESS,  # the replaying client's
            "revoked_tokens": 2,
        }
    ]


def test_reuse_revokes_only_its_own_family(core: Core) -> None:
    web = core.register_app("web")
    reused = core.login(web)
    other = core.login(web)
    core.refresh(web, reused["refresh_token"])
    core.refresh(web, reused["refresh_token"])
    assert core.access(other["access_token"]) is not None
    assert core.refresh(web, other["refresh_token"]).status == 200


def test_a_refresh_may_narrow_the_access_token_while_the_family_keeps_its_scope(
    core: Core,
) -> None:
    web = core.register_app("web")
    first = core.login(web, scope="monitoring management offline_access")
    # Narrowed, but keeping offline_access: a new refresh token comes (without it, none does:
    # test_a_refresh_that_narrows_away_offline_access_returns_no_refresh_token).
    narrowed = core.refresh(web, first["refresh_token"], scope="monitoring offline_access")
    assert narrowed.status == 200
    body = narrowed.json()
    assert body["scope"] == "monitoring offline_access"
    grant = core.access(body["access_token"])
    assert grant is not None
    assert grant.scopes == frozenset({"monitoring", "offline_access"})
    assert core.fakes.tokens.rows[1].token.refresh_scope == "monitoring management offline_access"
    # RFC 6749 §6: the rotated refresh token keeps the original scope.
    again = core.refresh(web, body["refresh_token"])
    assert again.json()["scope"] == "monitoring management offline_access"


def test_a_refresh_that_widens_the_scope_is_invalid_scope_and_does_not_burn_the_token(
    core: Core,
) -> None:
    web = core.register_app("web")
    first = core.login(web, scope="monitoring offline_access")
    wider = core.refresh(web, first["refresh_token"], scope="monitoring management")
    assert_oauth_error(
        wider,
        400,
        "invalid_scope",
        "A refresh may only narrow the scope; 'management' was not granted.",
    )
    assert core.fakes.tokens.rows[0].refresh_used_at is None
    assert core.refresh(web, first["refresh_token"]).status == 200


def test_the_issued_scope_stays_within_the_grant_even_without_the_checks_before(
    core: Core, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The narrowing checks run when the family's row is read before the rotation; should that
    read find nothing (a row written some other way), the rotation still issues nothing wider
    than what was granted."""
    web = core.register_app("web")
    first = core.login(web, scope="monitoring offline_access")
    monkeypatch.setattr(core.fakes.tokens, "refresh_family", lambda *_: None)
    refreshed = core.refresh(web, first["refresh_token"], scope="monitoring management control")
    assert refreshed.status == 200, refreshed.body
    assert refreshed.json()["scope"] == "monitoring"


def test_a_used_refresh_token_asking_a_wider_scope_is_still_a_reuse(core: Core) -> None:
    # RFC 9700 §4.14.2: the scope asked does not hide the reuse of a rotated token.
    web = core.register_app("web")
    first = core.login(web, scope="monitoring offline_access")
    second = core.refresh(web, first["refresh_token"]).json()
    reuse = core.refresh(web, first["refresh_token"], scope="monitoring management")
    assert_oauth_error(reuse, 400, "invalid_grant", REUSED)
    assert core.access(second["access_token"]) is None
    assert len(core.fakes.audit.named("refresh_token_reused")) == 1


def test_a_refresh_token_of_another_app_is_invalid_grant_and_is_not_burned(core: Core) -> None:
    web = core.register_app("web")
    other = core.register_app("web")
    first = core.login(web)
    assert_oauth_error(core.refresh(other, first["refresh_token"]), 400, "invalid_grant", NOT_VALID)
    assert core.refresh(web, first["refresh_token"]).status == 200


def test_an_unknown_refresh_token_is_invalid_grant(core: Core) -> None:
    web = core.register_app("web")
    assert_oauth_error(core.refresh(web, "no-such-token"), 400, "invalid_grant", NOT_VALID)


def test_an_access_token_is_not_a_refresh_token(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web)
    assert_oauth_error(core.refresh(web, first["access_token"]), 400, "invalid_grant", NOT_VALID)


def test_an_expired_refresh_token_is_invalid_grant(core_factory: type[Core]) -> None:
    core = core_factory(lifetimes=Lifetimes(refresh_token=1000))
    web = core.register_app("web")
    first = core.login(web)
    core.clock.advance(1000)
    assert_oauth_error(core.refresh(web, first["refresh_token"]), 400, "invalid_grant", NOT_VALID)


def test_a_refresh_token_is_good_until_its_lifetime_ends(core_factory: type[Core]) -> None:
    core = core_factory(lifetimes=Lifetimes(refresh_token=1000))
    web = core.register_app("web")
    first = core.login(web)
    core.clock.advance(999)
    assert core.refresh(web, first["refresh_token"]).status == 200


def test_a_missing_refresh_token_is_invalid_request(core: Core) -> None:
    web = core.register_app("web")
    response = core.token({"grant_type": "refresh_token", **core.client_form(web)})
    assert_oauth_error(response, 400, "invalid_request", "Missing 'refresh_token' in request.")


def test_a_public_app_refreshes_with_its_client_id_alone(core: Core) -> None:
    native = core.register_app("native")
    first = core.login(native)
    response = core.refresh(native, first["refresh_token"])
    assert response.status == 200


def test_a_confidential_app_must_authenticate_to_refresh(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web)
    response = core.token(
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": web.app.client_id,
        }
    )
    assert_oauth_error(
        response,
        401,
        "invalid_client",
        "The client credentials are not valid: this app is confidential and must send its "
        "client_secret.",
    )
    assert core.fakes.tokens.rows[0].refresh_used_at is None


def test_an_app_without_the_refresh_token_grant_is_unauthorized_client(core: Core) -> None:
    web = core.register_app("web", grant_types=["authorization_code"])
    response = core.refresh(web, "whatever")
    assert_oauth_error(
        response,
        400,
        "unauthorized_client",
        "The client is not authorized to use 'grant_type=refresh_token'",
    )


def test_without_offline_access_no_refresh_token_is_issued(core: Core) -> None:
    web = core.register_app("web")
    body = core.login(web, scope="monitoring")
    assert "refresh_token" not in body
    assert core.fakes.tokens.rows[0].token.refresh_digest is None


def test_a_refresh_is_granted_only_what_the_app_may_still_have(core: Core) -> None:
    """An administrator took management away from the app after the user consented to it:
    new tokens from a refresh no longer carry it (an authorize asking for it is refused too)."""
    web = core.register_app("web", scopes=["monitoring", "management"])
    first = core.login(web, scope="monitoring management offline_access")
    edit_app(core.fakes.apps, web.app, scopes=["monitoring"])
    asked = core.refresh(web, first["refresh_token"], scope="management offline_access")
    assert_oauth_error(
        asked,
        400,
        "invalid_scope",
        "This app may no longer be granted 'management'; ask for less.",
    )
    # Refused before the rotation: the refresh token still works, for what is left.
    kept = core.refresh(web, first["refresh_token"])
    assert kept.status == 200
    assert kept.json()["scope"] == "monitoring offline_access"
    grant = core.access(kept.json()["access_token"])
    assert grant is not None and grant.scopes == {"monitoring", "offline_access"}
    # Nothing left: sign in again.
    current = core.fakes.apps.get(web.app.client_id)
    assert current is not None
    edit_app(core.fakes.apps, current, scopes=["control"])
    none_left = core.refresh(web, kept.json()["refresh_token"])
    assert_oauth_error(
        none_left,
        400,
        "invalid_scope",
        "This app may no longer be granted any scope of this refresh token: sign in again.",
    )
