"""Client authentication at the token endpoint (DESIGN §6): Basic, post, none, and refusals."""

from __future__ import annotations

import base64

import pytest

from ninja_oauth.oauth.registry import rotate_secret
from tests.oauth.harness import Core, assert_oauth_error, basic

CC = {"grant_type": "client_credentials"}


def _www_authenticate(response: object) -> str | None:
    return dict(response.headers).get("WWW-Authenticate")  # type: ignore[attr-defined]


def test_client_secret_post_and_client_secret_basic_both_authenticate(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    posted = core.token({**CC, "client_id": m2m.app.client_id, "client_secret": m2m.client_secret})
    with_basic = core.token(CC, headers=basic(m2m.app.client_id, m2m.client_secret))
    assert (posted.status, with_basic.status) == (200, 200)


def test_basic_credentials_are_form_urlencoded_before_base64(core: Core) -> None:
    # RFC 6749 §2.3.1: a client_id or secret with ':' or '%' must survive the encoding.
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    raw = f"{m2m.app.client_id}:{m2m.client_secret}".replace("-", "%2D").encode()
    headers = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
    assert core.token(CC, headers=headers).status == 200


def test_client_id_in_the_body_may_repeat_the_basic_user(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    response = core.token(
        {**CC, "client_id": m2m.app.client_id}, headers=basic(m2m.app.client_id, m2m.client_secret)
    )
    assert response.status == 200


def test_basic_and_a_secret_in_the_body_at_once_is_invalid_request(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    response = core.token(
        {**CC, "client_id": m2m.app.client_id, "client_secret": m2m.client_secret},
        headers=basic(m2m.app.client_id, m2m.client_secret),
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Use one client authentication method: HTTP Basic or client_secret in the body, not both.",
    )


def test_a_body_client_id_that_differs_from_the_basic_user_is_invalid_request(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    response = core.token(
        {**CC, "client_id": "someone-else"}, headers=basic(m2m.app.client_id, m2m.client_secret)
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "client_id in the body does not match the HTTP Basic user.",
    )


def test_a_client_secret_in_the_url_query_is_refused_even_when_it_is_right(core: Core) -> None:
    m2m = core.register_app("api_services")
    assert m2m.client_secret is not None
    response = core.token(
        {**CC, "client_id": m2m.app.client_id},
        args={"client_secret": m2m.client_secret},
    )
    assert_oauth_error(
        response,
        400,
        "invalid_request",
        "Send client_secret in the request body or with HTTP Basic, never in the URL query.",
    )
    assert core.fakes.tokens.rows == []


_INVALID_CLIENT_CASES = [
    (
        "nothing",
        401,
        "Missing client authentication: send client_id (and client_secret for confidential "
        "apps) in the body or with HTTP Basic.",
    ),
    ("unknown-post", 400, "The client credentials are not valid: unknown client_id."),
    ("unknown-basic", 401, "The client credentials are not valid: unknown client_id."),
    ("wrong-secret-post", 400, "The client credentials are not valid: wrong client_secret."),
    ("wrong-secret-basic", 401, "The client credentials are not valid: wrong client_secret."),
    (
        "no-secret",
        401,
        "The client credentials are not valid: this app is confidential and must send its "
        "client_secret.",
    ),
    (
        "secret-of-another-app",
        400,
        "The client credentials are not valid: wrong client_secret.",
    ),
    ("malformed-basic", 401, "The Authorization header is not valid HTTP Basic."),
    ("basic-without-colon", 401, "The Authorization header is not valid HTTP Basic."),
]


@pytest.mark.parametrize(
    ("how", "status", "description"),
    _INVALID_CLIENT_CASES,
    ids=[case[0] for case in _INVALID_CLIENT_CASES],
)
def test_failed_client_authentication_is_invalid_client_with_a_precise_description(
    core: Core, how: str, status: int, description: str
) -> None:
    m2m = core.register_app("api_services")
    other = core.register_app("api_services")
    cid = m2m.app.client_id
    assert other.client_secret is not None
    form: dict[str, str] = dict(CC)
    headers: dict[str, str] = {}
    if how == "unknown-post":
        form |= {"client_id": "no-such-app", "client_secret": "x"}
    elif how == "unknown-basic":
        headers = basic("no-such-app", "x")
    elif how == "wrong-secret-post":
        form |= {"client_id": cid, "client_secret": "wrong"}
    elif how == "wrong-secret-basic":
        headers = basic(cid, "wrong")
    elif how == "no-secret":
        form |= {"client_id": cid}
    elif how == "secret-of-another-app":
        form |= {"client_id": cid, "client_secret": other.client_secret}
    elif how == "malformed-basic":
        headers = {"Authorization": "Basic !!!not-base64"}
    elif how == "basic-without-colon":
        headers = {"Authorization": "Basic " + base64.b64encode(cid.encode()).decode()}
    response = core.token(form, headers=headers)
    assert_oauth_error(response, status, "invalid_client", description)
    if status == 401:
        # RFC 6749 §5.2: a 401 carries WWW-Authenticate for the scheme the client used.
        assert _www_authenticate(response) == (
            f'Basic realm="ninja-oauth", error="invalid_client", error_description="{description}"'
        )
    else:
        assert _www_authenticate(response) is None
    assert core.fakes.tokens.rows == []


def test_a_public_app_authenticates_with_its_client_id_alone(core: Core) -> None:
    native = core.register_app("native")
    body = core.login(native, scope="monitoring")
    assert body["scope"] == "monitoring"


def test_a_public_app_that_sends_a_client_secret_is_invalid_client(core: Core) -> None:
    native = core.register_app("native")
    response = core.token(
        {
            "grant_type": "authorization_code",
            "code": "x",
            "client_id": native.app.client_id,
            "client_secret": "anything",
        }
    )
    assert_oauth_error(
        response,
        400,
        "invalid_client",
        "The client credentials are not valid: this app is public and has no client_secret; "
        "send only client_id.",
    )


def test_a_rotated_secret_replaces_the_old_one_at_once(core: Core) -> None:
    m2m = core.register_app("api_services")
    rotated = rotate_secret(core.fakes.apps, core.hasher, m2m.app.client_id)
    old = core.token({**CC, **core.client_form(m2m)})
    new = core.token({**CC, **core.client_form(rotated)})
    assert_oauth_error(
        old, 400, "invalid_client", "The client credentials are not valid: wrong client_secret."
    )
    assert new.status == 200
