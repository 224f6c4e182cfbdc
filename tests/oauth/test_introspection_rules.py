"""Issue 12, RFC 7662 §4 and RFC 7009 §2.1: an app introspects and revokes its own tokens; an app
declared a resource server also introspects other apps' access tokens, never their refresh
tokens; anything else is {"active": false} and nothing else. (Revocation already kept to the
caller's own tokens: tests/e2e/test_revocation_introspection.py.)"""

from __future__ import annotations

from typing import Any

import pytest

from ninja_oauth.oauth.config import Policy
from ninja_oauth.oauth.domain import NewApp
from tests.oauth.harness import ISSUER, Core, PlainRequest

INTROSPECT_URL = ISSUER + "/ws/oauth/introspect"


def _introspect(core: Core, caller: NewApp, token: str) -> dict[str, Any]:
    request = PlainRequest(
        "POST", INTROSPECT_URL, form={"token": token, **core.client_form(caller)}
    )
    response = core.server.introspection_endpoint(request, "203.0.113.7")
    assert response.status == 200, response.body
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def apps(core: Core) -> dict[str, NewApp]:
    """A web app with tokens, another confidential app, and a resource server."""
    registered = {
        "owner": core.register_app("web"),
        "other": core.register_app("api_services"),
        "resource_server": core.register_app("api_services"),
    }
    core.use_policy(
        Policy(
            introspection_resource_servers=frozenset({registered["resource_server"].app.client_id})
        )
    )
    return registered


@pytest.mark.parametrize("kind", ["access_token", "refresh_token"])
def test_an_app_sees_its_own_tokens_and_another_app_learns_nothing_of_them(
    core: Core, apps: dict[str, NewApp], kind: str
) -> None:
    tokens = core.login(apps["owner"])
    own = _introspect(core, apps["owner"], tokens[kind])
    assert (own["active"], own["client_id"]) == (True, apps["owner"].app.client_id)
    assert _introspect(core, apps["other"], tokens[kind]) == {"active": False}


def test_a_resource_server_sees_another_apps_access_token_but_never_its_refresh_token(
    core: Core, apps: dict[str, NewApp]
) -> None:
    tokens = core.login(apps["owner"], scope="monitoring offline_access")
    body = _introspect(core, apps["resource_server"], tokens["access_token"])
    assert body == {
        "active": True,
        "scope": "monitoring offline_access",
        "client_id": apps["owner"].app.client_id,
        "token_type": "bearer",
        "exp": core.clock.now + 3600,
        "iat": core.clock.now,
        "iss": ISSUER,
        "sub": str(core.user.id),
    }
    assert _introspect(core, apps["resource_server"], tokens["refresh_token"]) == {"active": False}
