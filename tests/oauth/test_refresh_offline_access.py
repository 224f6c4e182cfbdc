"""Issue 12, DESIGN §6: "A refresh that narrows the scope away from offline_access returns no
new refresh token"; the refresh token it used is rotated as any other."""

from __future__ import annotations

from tests.oauth.harness import Core, assert_oauth_error


def test_a_refresh_that_narrows_away_offline_access_returns_no_refresh_token(core: Core) -> None:
    web = core.register_app("web")
    first = core.login(web, scope="monitoring management offline_access")
    narrowed = core.refresh(web, first["refresh_token"], scope="monitoring")
    assert narrowed.status == 200
    body = narrowed.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["scope"] == "monitoring"
    grant = core.access(body["access_token"])
    assert grant is not None and grant.scopes == frozenset({"monitoring"})
    row = core.fakes.tokens.rows[-1].token
    assert (row.refresh_digest, row.refresh_scope, row.refresh_expires_at) == (None, None, None)
    # The refresh token it used was rotated as by any refresh: presenting it again is a reuse,
    # which revokes the family, the access token just issued included (RFC 9700 §4.14.2).
    assert_oauth_error(core.refresh(web, first["refresh_token"]), 400, "invalid_grant")
    assert core.access(body["access_token"]) is None
