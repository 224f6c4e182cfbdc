"""The admin API (/admin/api, issue 11) through HTTP: an administrator's console session (cookie
and CSRF header) and an admin app's bearer token drive apps, users, consents, revocations and
the audit log.

On SQLite; the revocations (an app's tokens, a consent's, a disabled user's) also on PostgreSQL,
where they must lock against concurrent rotations (store/repositories/administration.py)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.flows import assert_oauth_error, authorize, log_in, parse_form, query_of
from tests.support.server import LiveServer, start_server

API = "/admin/api"
WEB_CB = "https://app.example.com/oauth/callback"


def _sign_in(
    live: LiveServer, email: str, password: str, area: str = "/admin", **headers: str
) -> tuple[httpx.Client, httpx.Response]:
    """Sign in at {area}/login as a browser does: the form's csrf_token and its cookie."""
    browser = live.client()
    page = browser.get(f"{area}/login")
    assert page.status_code == 200
    form = parse_form(page.text)
    assert form.action == f"{area}/login"
    answer = browser.post(
        form.action, data={**form.fields, "email": email, "password": password}, headers=headers
    )
    return browser, answer


def _once(live: LiveServer, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request from a fresh client (no cookie, no header but those given)."""
    with live.client() as client:
        return client.request(method, url, **kwargs)


def _signed_in_status(live: LiveServer, email: str, password: str) -> int:
    """The status of a sign-in at /admin/login (303 signed in, 401 wrong, 403 disabled)."""
    browser, answer = _sign_in(live, email, password)
    browser.close()
    return answer.status_code


def _code_request(app: dict[str, Any]) -> dict[str, str]:
    """An authorization code request of the web ``app`` for the monitoring scope."""
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": WEB_CB,
        "scope": "monitoring",
        "state": "st",
    }


def _password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


@dataclass
class Admin:
    """A server with an administrator signed in (``session``, which sends the CSRF header) and
    an admin app's client_credentials token (``bearer``)."""

    live: LiveServer
    email: str
    session: httpx.Client
    csrf_token: str
    bearer: httpx.Client
    admin_app: dict[str, Any]
    # Every client secret the API answered, for the audit export's check.
    secrets: list[str] = field(default_factory=list)

    def create_app(self, client: httpx.Client | None = None, **body: Any) -> dict[str, Any]:
        response = (client or self.bearer).post(f"{API}/apps", json=body)
        assert response.status_code == 201, response.text
        app: dict[str, Any] = response.json()
        if app.get("client_secret"):
            self.secrets.append(app["client_secret"])
        return app

    def machine_app(self, scopes: list[str] | None = None) -> dict[str, Any]:
        return self.create_app(
            name="Acme RMM sync", platform="api_services", scopes=scopes or ["monitoring"]
        )

    def create_user(self, admin: bool = False) -> tuple[dict[str, Any], str]:
        email, password = f"tech-{secrets.token_hex(4)}@example.com", _password()
        response = self.bearer.post(
            f"{API}/users", json={"email": email, "password": password, "admin": admin}
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user, password

    def machine_token(self, app: dict[str, Any], scope: str = "monitoring") -> str:
        return self.live.client_credentials_token(app, scope)

    def user_token(self, app: dict[str, Any], email: str, password: str) -> str:
        """A token for ``email`` by the authorization code flow (so a consent exists)."""
        params = _code_request(app)
        with self.live.client() as browser:
            final = authorize(browser, params, user=(email, password))
        assert final.status_code == 307, final.text
        code = query_of(final.headers["location"])["code"]
        response = _once(
            self.live,
            "POST",
            "/ws/oauth/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_CB},
            auth=(app["client_id"], app["client_secret"]),
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def close(self) -> None:
        self.session.close()
        self.bearer.close()

    def api_status(self, token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return _once(self.live, "GET", "/v2/organizations", headers=headers).status_code


def _set_up(live: LiveServer) -> Admin:
    email, password = f"admin-{secrets.token_hex(4)}@example.com", _password()
    live.cli("users", "create", "--email", email, "--password", password, "--admin")
    session, answer = _sign_in(live, email, password)
    assert answer.status_code == 303, answer.text
    who = session.get(f"{API}/session")
    assert who.status_code == 200, who.text
    assert who.json()["email"] == email
    csrf = who.json()["csrf_token"]
    session.headers["X-CSRF-Token"] = csrf
    created = session.post(
        f"{API}/apps",
        json={"name": "Admin script", "platform": "api_services", "admin": True},
    )
    assert created.status_code == 201, created.text
    admin_app = created.json()
    assert admin_app["admin"] is True and "admin" in admin_app["scopes"]
    token = _once(
        live,
        "POST",
        "/ws/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(admin_app["client_id"], admin_app["client_secret"]),
    )
    assert token.status_code == 200, token.text
    assert token.json()["scope"] == "admin"
    bearer = live.client(headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    return Admin(live, email, session, csrf, bearer, admin_app, [admin_app["client_secret"]])


@pytest.fixture(scope="module")
def admin(sqlite_server: LiveServer) -> Iterator[Admin]:
    set_up = _set_up(sqlite_server)
    yield set_up
    set_up.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def any_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Admin]:
    """The same administrator set-up on each store, for the revocations."""
    if request.param == "sqlite":
        yield request.getfixturevalue("admin")
        return
    url: str = request.getfixturevalue("pg_database_url")
    live = start_server(url, tmp_path_factory.mktemp("pg-server"))
    try:
        set_up = _set_up(live)
        yield set_up
        set_up.close()
    finally:
        live.stop()


def assert_field(response: httpx.Response, name: str) -> dict[str, Any]:
    """A 400 whose body is ``{"error", "error_description", "field"}``, ``field`` naming the
    input at fault, whether the service refused it or the schema did."""
    assert response.status_code == 400, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description", "field"}, body
    assert body["error"] == "invalid_request", body
    assert body["field"] == name, body
    return body


# -- who may call -------------------------------------------------------------------------------


def test_no_token_and_no_session_is_401_with_a_bearer_challenge(admin: Admin) -> None:
    with admin.live.client() as anonymous:
        response = anonymous.get(f"{API}/apps")
        posted = anonymous.post(f"{API}/apps", json={"name": "x", "platform": "web"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="ninja-oauth"'
    assert posted.status_code == 401


def test_an_unknown_token_is_401_invalid_token(admin: Admin) -> None:
    with admin.live.client(headers={"Authorization": "Bearer not-a-token"}) as stranger:
        response = stranger.get(f"{API}/users")
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_a_monitoring_token_is_403_insufficient_scope(admin: Admin) -> None:
    token = admin.machine_token(admin.machine_app())
    with admin.live.client(headers={"Authorization": f"Bearer {token}"}) as normal:
        response = normal.get(f"{API}/apps")
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "This call needs the 'admin' scope.",
    }
    assert 'scope="admin"' in response.headers["www-authenticate"]


def test_every_refusal_of_the_admin_api_is_no_store_too(admin: Admin) -> None:
    """401, 403, 405 and 413 are answered by the shared error handlers, the router and the
    body limit: they carry Cache-Control: no-store as the API's data does."""
    token = admin.machine_token(admin.machine_app())
    with admin.live.client() as http:
        answers = {
            "no credentials": http.get(f"{API}/apps"),
            "unknown token": http.get(
                f"{API}/users", headers={"Authorization": "Bearer not-a-token"}
            ),
            "monitoring token": http.get(
                f"{API}/apps", headers={"Authorization": f"Bearer {token}"}
            ),
            "method": admin.bearer.put(f"{API}/session"),
            "body too large": admin.bearer.post(f"{API}/apps", content=b"x" * (1 << 20)),
            "data": admin.bearer.get(f"{API}/apps", params={"limit": 1}),
        }
    statuses = {name: answer.status_code for name, answer in answers.items()}
    assert statuses == {
        "no credentials": 401,
        "unknown token": 401,
        "monitoring token": 403,
        "method": 405,
        "body too large": 413,
        "data": 200,
    }
    assert {name: a.headers.get("cache-control") for name, a in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )


def test_a_normal_app_asking_for_the_admin_scope_gets_invalid_scope(admin: Admin) -> None:
    app = admin.machine_app(["monitoring", "management"])
    response = _once(
        admin.live,
        "POST",
        "/ws/oauth/token",
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert_oauth_error(response, 400, "invalid_scope")


def test_a_non_admin_users_session_is_403(admin: Admin) -> None:
    user, password = admin.create_user()
    session, answer = _sign_in(admin.live, user["email"], password)
    assert answer.status_code == 303
    response, who = session.get(f"{API}/apps"), session.get(f"{API}/session")
    session.close()
    assert response.status_code == 403
    assert response.json() == {
        "error": "forbidden",
        "error_description": f"{user['email']} is not an administrator",
    }
    assert who.status_code == 403


@pytest.mark.parametrize(
    "header",
    [None, "0" * 64, "é".encode()],
    ids=["no-csrf-header", "wrong-csrf-header", "non-ascii-csrf-header"],
)
def test_a_session_change_needs_the_csrf_header(admin: Admin, header: str | bytes | None) -> None:
    headers = {"X-CSRF-Token": header} if header else {}
    with admin.live.client(cookies=admin.session.cookies, headers=headers) as forged:
        reads = forged.get(f"{API}/apps", params={"search": "Forged"})
        response = forged.post(f"{API}/apps", json={"name": "Forged", "platform": "web"})
    assert reads.status_code == 200, reads.text  # a read needs no CSRF header
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "invalid_request"
    assert "X-CSRF-Token header is missing or wrong" in body["error_description"]
    listed = admin.bearer.get(f"{API}/apps", params={"search": "Forged"})
    assert listed.json() == []


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_a_session_change_from_another_sites_page_is_refused(admin: Admin, site: str) -> None:
    """With the right X-CSRF-Token, as the console's forms: a browser that says the call comes
    from another site (another port of this host is the same site) is refused."""
    headers = {"X-CSRF-Token": admin.csrf_token, "Sec-Fetch-Site": site}
    with admin.live.client(cookies=admin.session.cookies, headers=headers) as page:
        response = page.post(f"{API}/apps", json={"name": f"From {site}", "platform": "web"})
        same_origin = page.post(
            f"{API}/apps",
            json={"name": f"Same origin {site}", "platform": "api_services"},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
    assert response.status_code == 403, response.text
    assert same_origin.status_code == 201, same_origin.text
    listed = admin.bearer.get(f"{API}/apps", params={"search": f"From {site}"})
    assert listed.json() == []


def test_the_session_call_gives_the_email_and_csrf_token_to_a_session_only(admin: Admin) -> None:
    response = admin.session.get(f"{API}/session")
    assert response.status_code == 200
    assert response.json() == {"email": admin.email, "csrf_token": admin.csrf_token}
    assert response.headers["cache-control"] == "no-store"
    assert admin.bearer.get(f"{API}/session").status_code == 401
    assert _once(admin.live, "GET", f"{API}/session").status_code == 401


def test_the_admin_api_reads_the_first_session_cookie_of_its_name(admin: Admin) -> None:
    # As the console: a ninja_oauth_admin planted for "/" comes after the real one (longer
    # paths first), and is not the one read.
    real = next(c.value for c in admin.session.cookies.jar if c.path == "/admin")
    name = next(c.name for c in admin.session.cookies.jar if c.path == "/admin")
    cookie = {"Cookie": f"{name}={real}; {name}=planted"}
    answer = _once(admin.live, "GET", f"{API}/session", headers=cookie)
    assert answer.status_code == 200, answer.text
    assert answer.json()["email"] == admin.email


def test_the_bearer_wins_over_a_session_cookie(admin: Admin) -> None:
    """With an Authorization header the session is not consulted: a bad token is refused."""
    with admin.live.client(
        cookies=admin.session.cookies, headers={"Authorization": "Bearer revoked-or-unknown"}
    ) as both:
        assert both.get(f"{API}/apps").status_code == 401


# -- apps ---------------------------------------------------------------------------------------


def test_a_created_apps_secret_gets_a_token_that_opens_the_public_api(admin: Admin) -> None:
    response = admin.bearer.post(
        f"{API}/apps",
        json={"name": "Acme PSA", "platform": "api_services", "scopes": ["monitoring"]},
    )
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    app = response.json()
    admin.secrets.append(app["client_secret"])
    assert app["name"] == "Acme PSA"
    assert app["platform"] == "api_services"
    assert app["scopes"] == ["monitoring"]
    assert app["grant_types"] == ["client_credentials", "refresh_token"]
    assert app["redirect_uris"] == []
    assert app["last_used_at"] is None
    assert app["admin"] is False
    assert len(app["client_secret"]) >= 32

    token = admin.machine_token(app)
    assert admin.api_status(token) == 200
    shown = admin.bearer.get(f"{API}/apps/{app['client_id']}").json()
    assert "client_secret" not in shown
    # last_used_at is written with the usage counts, once a minute (oauth/usage.py).
    assert {k: v for k, v in shown.items() if k != "last_used_at"} == {
        k: v for k, v in app.items() if k not in ("last_used_at", "client_secret")
    }


def test_a_public_app_has_no_secret(admin: Admin) -> None:
    app = admin.create_app(
        name="Acme CLI", platform="native", redirect_uris=["http://127.0.0.1/callback"]
    )
    assert app["client_secret"] is None
    assert app["confidential"] is False
    assert app["redirect_uris"] == ["http://127.0.0.1/callback"]


def test_the_app_list_pages_with_a_total_and_never_shows_a_secret(admin: Admin) -> None:
    tag = secrets.token_hex(3)
    made = [
        admin.create_app(name=f"Listed {tag} {i}", platform="web", redirect_uris=[WEB_CB])
        for i in range(3)
    ]
    first = admin.session.get(f"{API}/apps", params={"search": tag, "limit": 2})
    assert first.status_code == 200
    assert first.headers["x-total-count"] == "3"
    rest = admin.session.get(f"{API}/apps", params={"search": tag, "limit": 2, "offset": 2})
    listed = first.json() + rest.json()
    assert [a["client_id"] for a in listed] == [a["client_id"] for a in reversed(made)]
    assert all("client_secret" not in a for a in listed)
    assert set(listed[0]) >= {
        "client_id",
        "name",
        "platform",
        "redirect_uris",
        "scopes",
        "grant_types",
        "created_at",
        "last_used_at",
    }
    assert all(s not in first.text for s in admin.secrets)


def test_patch_changes_what_it_names_and_keeps_the_rest(admin: Admin) -> None:
    app = admin.create_app(name="Before", platform="web", redirect_uris=[WEB_CB])
    changed = admin.session.patch(
        f"{API}/apps/{app['client_id']}",
        json={"name": "After", "scopes": ["monitoring", "management"]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["name"] == "After"
    assert body["scopes"] == ["monitoring", "management"]
    assert body["redirect_uris"] == [WEB_CB]
    assert body["grant_types"] == app["grant_types"]
    assert admin.bearer.get(f"{API}/apps/{app['client_id']}").json()["name"] == "After"
    refused = admin.bearer.patch(f"{API}/apps/{app['client_id']}", json={"scopes": ["bogus"]})
    assert_field(refused, "scopes")


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"name": "x", "platform": "desktop"}, "platform"),
        (
            {"name": "x", "platform": "web", "redirect_uris": ["http://app.example.com/cb"]},
            "redirect_uris",
        ),
        ({"name": "x", "platform": "api_services", "scopes": ["bogus"]}, "scopes"),
        ({"name": "x", "platform": "api_services", "scopes": ["admin"]}, "scopes"),
        (
            {
                "name": "x",
                "platform": "spa",
                "redirect_uris": ["http://localhost:3000/cb"],
                "grant_types": ["client_credentials"],
            },
            "grant_types",
        ),
        ({"name": "x", "platform": "web", "admin": True}, "platform"),
        ({"name": " ", "platform": "api_services"}, "name"),
        ({"name": "x", "platform": "api_services", "secret": "s"}, "secret"),
        ({"name": "x", "platform": "api_services", "admin": "true"}, "admin"),
        ({"name": "x", "platform": "web", "redirect_uris": WEB_CB}, "redirect_uris"),
        ({"name": "x", "platform": "web", "redirect_uris": [WEB_CB, 7]}, "redirect_uris"),
    ],
    ids=[
        "bad-platform",
        "http-redirect-uri",
        "unknown-scope",
        "admin-scope-for-a-normal-app",
        "grant-not-for-the-platform",
        "admin-app-not-api-services",
        "blank-name",
        "unknown-key",
        "string-for-a-boolean",
        "a-string-for-the-redirect-uri-list",
        "a-number-in-the-redirect-uri-list",
    ],
)
def test_a_bad_app_is_400_naming_the_field(admin: Admin, body: dict[str, Any], name: str) -> None:
    assert_field(admin.bearer.post(f"{API}/apps", json=body), name)


def test_a_body_that_is_not_json_is_400(admin: Admin) -> None:
    response = admin.bearer.post(
        f"{API}/apps", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_field(response, "body")


def test_rotating_the_secret_refuses_the_old_one_and_accepts_the_new(admin: Admin) -> None:
    app = admin.machine_app()
    response = admin.session.post(f"{API}/apps/{app['client_id']}/secret")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    new = response.json()["client_secret"]
    admin.secrets.append(new)
    assert new != app["client_secret"]
    old = _once(
        admin.live,
        "POST",
        "/ws/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert_oauth_error(old, 401, "invalid_client")
    assert admin.api_status(admin.machine_token({**app, "client_secret": new})) == 200


def test_deleting_an_app_ends_its_tokens(admin: Admin) -> None:
    app = admin.machine_app()
    token = admin.machine_token(app)
    assert admin.api_status(token) == 200
    response = admin.session.delete(f"{API}/apps/{app['client_id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert admin.api_status(token) == 401
    gone = admin.bearer.get(f"{API}/apps/{app['client_id']}")
    assert gone.status_code == 404
    assert gone.json() == {
        "error": "not_found",
        "error_description": f"No app has the client_id {app['client_id']!r}.",
        "field": "client_id",
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/apps/no-such-app", None),
        ("PATCH", "/apps/no-such-app", {"name": "x"}),
        ("DELETE", "/apps/no-such-app", None),
        ("POST", "/apps/no-such-app/secret", None),
        ("POST", "/apps/no-such-app/revoke-tokens", None),
        ("GET", "/users/999999", None),
        ("PATCH", "/users/999999", {"disabled": True}),
        ("DELETE", "/consents/999999", None),
    ],
    ids=[
        "get-app",
        "patch-app",
        "delete-app",
        "rotate-secret",
        "revoke-app-tokens",
        "get-user",
        "patch-user",
        "delete-consent",
    ],
)
def test_an_unknown_id_is_404(
    admin: Admin, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = admin.bearer.request(method, API + path, json=body)
    assert response.status_code == 404, response.text
    assert response.json()["error"] == "not_found"


# -- users --------------------------------------------------------------------------------------


def test_users_are_created_and_listed(admin: Admin) -> None:
    user, _ = admin.create_user()
    assert set(user) == {"id", "email", "admin", "disabled", "created_at"}
    assert user["admin"] is False and user["disabled"] is False
    listed = admin.session.get(f"{API}/users", params={"search": user["email"]})
    assert listed.status_code == 200
    assert listed.headers["x-total-count"] == "1"
    assert listed.json() == [user]
    everyone = admin.bearer.get(f"{API}/users").json()
    assert admin.email in [u["email"] for u in everyone]
    assert admin.bearer.get(f"{API}/users/{user['id']}").json() == user


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"email": "tech@example.com", "password": "short"}, "password"),
        ({"email": "not-an-email", "password": "long enough password"}, "email"),
        ({"email": "tech@example.com", "password": "long enough", "role": "x"}, "role"),
    ],
    ids=["short-password", "bad-email", "unknown-key"],
)
def test_a_bad_user_is_400_naming_the_field(admin: Admin, body: dict[str, Any], name: str) -> None:
    response = admin.bearer.post(f"{API}/users", json=body)
    assert_field(response, name)
    assert body["password"] not in response.text


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"disabled": "yes"}, "disabled"),
        ({"admin": 1}, "admin"),
        ({"password": ["a", "list"]}, "password"),
        ({"email": "new@example.com"}, "email"),
    ],
    ids=["string-for-disabled", "number-for-admin", "list-for-a-password", "unknown-key"],
)
def test_a_bad_user_change_is_400_naming_the_field(
    admin: Admin, body: dict[str, Any], name: str
) -> None:
    user, _ = admin.create_user()
    assert_field(admin.bearer.patch(f"{API}/users/{user['id']}", json=body), name)
    assert admin.bearer.get(f"{API}/users/{user['id']}").json() == user


def test_a_duplicate_email_is_409(admin: Admin) -> None:
    user, _ = admin.create_user()
    response = admin.bearer.post(
        f"{API}/users", json={"email": user["email"].upper(), "password": _password()}
    )
    assert response.status_code == 409
    assert response.json() == {
        "error": "conflict",
        "error_description": f"A user with the email {user['email']!r} already exists.",
        "field": "email",
    }


def test_a_short_reset_password_is_400_and_a_good_one_signs_in(admin: Admin) -> None:
    user, old = admin.create_user()
    assert_field(
        admin.bearer.patch(f"{API}/users/{user['id']}", json={"password": "short"}), "password"
    )
    new = _password()
    assert (
        admin.bearer.patch(f"{API}/users/{user['id']}", json={"password": new}).status_code == 200
    )
    assert _signed_in_status(admin.live, user["email"], old) == 401
    assert _signed_in_status(admin.live, user["email"], new) == 303


def test_the_last_enabled_admin_cannot_be_disabled_or_demoted(admin: Admin) -> None:
    me = admin.bearer.get(f"{API}/users", params={"search": admin.email}).json()[0]
    for change, name in (({"disabled": True}, "disabled"), ({"admin": False}, "admin")):
        response = admin.session.patch(f"{API}/users/{me['id']}", json=change)
        assert response.status_code == 409, response.text
        assert response.json()["field"] == name
    assert admin.session.get(f"{API}/session").status_code == 200  # still signed in


# -- revocations, on both stores ----------------------------------------------------------------


def test_revoking_an_apps_tokens_ends_them_at_once(any_store: Admin) -> None:
    app = any_store.machine_app()
    tokens = [any_store.machine_token(app) for _ in range(2)]
    assert [any_store.api_status(t) for t in tokens] == [200, 200]
    response = any_store.bearer.post(f"{API}/apps/{app['client_id']}/revoke-tokens")
    assert response.status_code == 204
    assert [any_store.api_status(t) for t in tokens] == [401, 401]
    assert any_store.api_status(any_store.machine_token(app)) == 200  # the app itself stays


def test_consents_are_listed_by_user_and_app_and_revoking_one_ends_its_tokens(
    any_store: Admin,
) -> None:
    app = any_store.create_app(name="Acme Portal", platform="web", redirect_uris=[WEB_CB])
    user, password = any_store.create_user()
    token = any_store.user_token(app, user["email"], password)
    assert any_store.api_status(token) == 200

    by_user = any_store.bearer.get(f"{API}/consents", params={"user": user["email"]})
    assert by_user.status_code == 200
    [consent] = by_user.json()
    assert consent["user"] == user["email"]
    assert consent["client_id"] == app["client_id"]
    assert consent["scopes"] == ["monitoring"]
    assert isinstance(consent["granted_at"], int) and isinstance(consent["id"], int)
    by_app = any_store.session.get(f"{API}/consents", params={"client_id": app["client_id"]})
    assert by_app.json() == [consent]
    unknown = any_store.bearer.get(f"{API}/consents", params={"user": "nobody@example.com"})
    assert unknown.status_code == 404

    response = any_store.session.delete(f"{API}/consents/{consent['id']}")
    assert response.status_code == 204
    assert any_store.api_status(token) == 401
    assert any_store.bearer.get(f"{API}/consents", params={"user": user["email"]}).json() == []
    assert any_store.bearer.delete(f"{API}/consents/{consent['id']}").status_code == 404


def test_disabling_a_user_ends_their_tokens_and_sign_in_until_enabled(any_store: Admin) -> None:
    app = any_store.create_app(name="Acme Reports", platform="web", redirect_uris=[WEB_CB])
    user, password = any_store.create_user()
    token = any_store.user_token(app, user["email"], password)
    assert any_store.api_status(token) == 200

    disabled = any_store.session.patch(f"{API}/users/{user['id']}", json={"disabled": True})
    assert disabled.status_code == 200
    assert disabled.json()["disabled"] is True
    assert any_store.api_status(token) == 401
    browser, refused = _sign_in(any_store.live, user["email"], password)
    browser.close()
    assert refused.status_code == 403
    assert "This account is disabled" in refused.text

    enabled = any_store.bearer.patch(f"{API}/users/{user['id']}", json={"disabled": False})
    assert enabled.json()["disabled"] is False
    assert any_store.api_status(token) == 401  # revoked stays revoked
    assert _signed_in_status(any_store.live, user["email"], password) == 303


# -- the audit log ------------------------------------------------------------------------------


def test_the_audit_log_lists_events_newest_first_with_who_did_what(admin: Admin) -> None:
    app = admin.machine_app()
    admin.session.post(f"{API}/apps/{app['client_id']}/secret")
    response = admin.bearer.get(f"{API}/audit", params={"client_id": app["client_id"]})
    assert response.status_code == 200
    events = response.json()
    assert [e["kind"] for e in events] == ["secret_rotated", "app_created"]
    rotated, created = events
    assert rotated["id"] > created["id"] and rotated["at"] >= created["at"]
    assert rotated["actor"] == admin.email
    assert created["actor"] == f"client:{admin.admin_app['client_id']}"
    assert created["address"] == "127.0.0.1"
    assert created["detail"] == {"name": app["name"], "platform": "api_services", "admin": False}

    everything = admin.bearer.get(f"{API}/audit", params={"limit": 10_000}).json()
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)


def test_the_audit_log_filters_by_kind_user_and_time(admin: Admin) -> None:
    user, _ = admin.create_user()
    admin.bearer.patch(f"{API}/users/{user['id']}", json={"admin": True})
    admin.bearer.patch(f"{API}/users/{user['id']}", json={"admin": False})

    created = admin.bearer.get(f"{API}/audit", params={"kind": "user_created"}).json()
    assert created and {e["kind"] for e in created} == {"user_created"}
    assert user["email"] in [e["user"] for e in created]

    mine = admin.bearer.get(f"{API}/audit", params={"user": user["email"]}).json()
    assert [(e["kind"], e["detail"]) for e in mine] == [
        ("user_changed", {"changes": ["admin_removed"]}),
        ("user_changed", {"changes": ["admin_granted"]}),
        ("user_created", {"admin": False}),
    ]
    assert {e["user"] for e in mine} == {user["email"]}

    everything = admin.bearer.get(f"{API}/audit", params={"limit": 10_000}).json()
    since = everything[0]["at"]
    recent = admin.bearer.get(f"{API}/audit", params={"since": since, "limit": 10_000}).json()
    assert recent == [e for e in everything if e["at"] >= since]
    future = admin.bearer.get(f"{API}/audit", params={"since": since + 3600}).json()
    assert future == []
    older = admin.bearer.get(f"{API}/audit", params={"before": everything[1]["id"], "limit": 2})
    assert older.json() == everything[2:4]


def test_sign_ins_consents_and_sign_outs_say_who_and_from_where(admin: Admin) -> None:
    """A consent is audited when the user presses Allow (``consent_given``), not when a
    remembered one is reused; sign-ins, failed ones and sign-outs name the account (never the
    text typed) and the address, as the admin's own changes do."""
    user, password = admin.create_user()
    email = user["email"]
    app = admin.create_app(name="Audited portal", platform="web", redirect_uris=[WEB_CB])
    params = _code_request(app)
    wrong = "wrong-" + secrets.token_urlsafe(12)
    nobody = f"nobody-{secrets.token_hex(4)}@example.com"
    with admin.live.client() as browser:
        page = browser.get("/ws/oauth/authorize", params=params)
        assert log_in(browser, page, nobody, wrong).status_code == 401
        unknown = admin.bearer.get(f"{API}/audit", params={"kind": "login_failed", "limit": 1})
        assert log_in(browser, page, email, wrong).status_code == 401
        assert authorize(browser, params, user=(email, password)).status_code == 307
        # The consent is remembered (a Web app): straight back to the app, no new consent.
        assert browser.get("/ws/oauth/authorize", params=params).status_code == 307
        sign_out = parse_form(browser.get("/ws/oauth/logout").text)
        assert browser.post("/ws/oauth/logout", data=sign_out.fields).status_code == 200
    account, signed_in = _sign_in(admin.live, email, password, "/account")
    assert signed_in.status_code == 303, signed_in.text
    sign_out = parse_form(account.get("/account/logout").text)
    assert sign_out.action == "/account/logout"
    assert account.post(sign_out.action, data=sign_out.fields).status_code == 303
    account.close()

    def events(kind: str) -> list[tuple[str | None, str | None, dict[str, Any]]]:
        found = admin.bearer.get(f"{API}/audit", params={"kind": kind, "user": email})
        assert found.status_code == 200, found.text
        assert {e["user"] for e in found.json()} <= {email}
        return [(e["actor"], e["address"], e["detail"]) for e in found.json()]

    here = "127.0.0.1"
    (anyone,) = unknown.json()
    assert (anyone["user"], anyone["actor"], anyone["address"]) == (None, None, here)
    assert nobody not in unknown.text and wrong not in unknown.text
    assert events("login_failed") == [
        (email, here, {"where": "authorize", "reason": "bad_credentials"})
    ]
    assert events("login") == [
        (email, here, {"where": "account"}),
        (email, here, {"where": "authorize"}),
    ]
    assert events("consent_given") == [(email, here, {"scope": "monitoring"})]
    given = admin.bearer.get(f"{API}/audit", params={"kind": "consent_given", "user": email})
    assert [e["client_id"] for e in given.json()] == [app["client_id"]]
    assert events("logout") == [
        (email, here, {"where": "account"}),
        (email, here, {"where": "authorize"}),
    ]


def test_a_cookie_of_the_same_name_planted_for_slash_does_not_shut_the_user_out(
    admin: Admin,
) -> None:
    # Another app on this host (cookies ignore ports) can set ninja_oauth_account for "/". A
    # browser sends the cookie of the longer path first (RFC 6265 section 5.4): that one counts.
    user, password = admin.create_user()
    browser, signed_in = _sign_in(admin.live, user["email"], password, "/account")
    assert signed_in.status_code == 303, signed_in.text
    name = next(c.name for c in browser.cookies.jar if c.path == "/account")
    real = browser.cookies.get(name, path="/account")
    browser.close()
    planted = "planted-" + secrets.token_urlsafe(16)
    as_sent = _once(
        admin.live, "GET", "/account/apps", headers={"Cookie": f"{name}={real}; {name}={planted}"}
    )
    assert as_sent.status_code == 200, as_sent.text
    assert user["email"] in as_sent.text
    first_planted = _once(
        admin.live, "GET", "/account/apps", headers={"Cookie": f"{name}={planted}; {name}={real}"}
    )
    assert first_planted.status_code == 303  # to the sign-in page: a cookie for "/" alone


def test_a_revocation_is_audited_with_the_address_it_came_from(admin: Admin) -> None:
    app = admin.machine_app()
    token = admin.machine_token(app)
    revoked = _once(
        admin.live,
        "POST",
        "/ws/oauth/revoke",
        data={"token": token},
        auth=(app["client_id"], app["client_secret"]),
    )
    assert revoked.status_code == 200, revoked.text
    assert admin.api_status(token) == 401
    found = admin.bearer.get(
        f"{API}/audit", params={"kind": "token_revoked", "client_id": app["client_id"]}
    )
    assert found.status_code == 200, found.text
    (event,) = found.json()
    assert event["address"] == "127.0.0.1"
    assert event["detail"] == {"kind": "access_token"}
    assert token not in found.text


def test_the_audit_export_is_json_lines_without_a_secret(admin: Admin) -> None:
    app = admin.machine_app()
    admin.secrets.append(
        admin.bearer.post(f"{API}/apps/{app['client_id']}/secret").json()["client_secret"]
    )
    response = admin.session.get(f"{API}/audit", params={"format": "jsonl"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ndjson"
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["cache-control"] == "no-store"
    lines = response.text.splitlines()
    events = [json.loads(line) for line in lines]
    assert events == admin.bearer.get(f"{API}/audit", params={"limit": 10_000}).json()
    assert {"app_created", "secret_rotated", "app_deleted", "consent_revoked"} <= {
        e["kind"] for e in events
    }
    assert len(admin.secrets) >= 5
    leaked = [s for s in admin.secrets if s in response.text]
    assert leaked == []


def test_bad_audit_filters_are_400_naming_the_field(admin: Admin) -> None:
    assert_field(admin.bearer.get(f"{API}/audit", params={"since": "yesterday"}), "since")
    assert_field(admin.bearer.get(f"{API}/audit", params={"format": "csv"}), "format")
    assert_field(admin.bearer.get(f"{API}/audit", params={"limit": 0}), "limit")


# -- the documentation --------------------------------------------------------------------------


def test_the_openapi_document_shows_each_operation_with_its_schemas(admin: Admin) -> None:
    doc = _once(admin.live, "GET", "/openapi.json").json()
    paths = doc["paths"]
    expected = {
        f"{API}/apps": {"get", "post"},
        f"{API}/apps/{{client_id}}": {"get", "patch", "delete"},
        f"{API}/apps/{{client_id}}/secret": {"post"},
        f"{API}/apps/{{client_id}}/revoke-tokens": {"post"},
        f"{API}/users": {"get", "post"},
        f"{API}/users/{{user_id}}": {"get", "patch"},
        f"{API}/consents": {"get"},
        f"{API}/consents/{{consent_id}}": {"delete"},
        f"{API}/audit": {"get"},
        f"{API}/session": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
        for method in methods:
            operation = paths[path][method]
            assert operation["tags"] == ["Administration"]
            assert {"oauth2": []} in operation["security"]
    create = paths[f"{API}/apps"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewAppBody"
    }
    assert create["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/NewAppOut"
    }
    assert "client_secret" in doc["components"]["schemas"]["NewAppOut"]["properties"]
    assert "client_secret" not in doc["components"]["schemas"]["AppOut"]["properties"]
    assert "422" not in create["responses"]


# -- review findings: sessions bound to their area, cross-site posts, a demoted admin app ------


def test_a_session_of_the_account_area_is_no_admin_session(admin: Admin) -> None:
    """Each area's session is its own: the token of an administrator's /account session,
    sent as the console's cookie, signs nobody in at /admin/api."""
    user, password = admin.create_user(admin=True)
    account, answer = _sign_in(admin.live, user["email"], password, area="/account")
    assert answer.status_code == 303, answer.text
    token = account.cookies.get("ninja_oauth_account", path="/account")
    assert token
    account.close()
    with admin.live.client(cookies={"ninja_oauth_admin": token}) as replayed:
        assert replayed.get(f"{API}/session").status_code == 401


@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_a_sign_in_posted_from_another_site_is_refused(admin: Admin, site: str) -> None:
    """Another app on this host (another port is same-site) can plant the sign-in form's
    cookie; the browser's Sec-Fetch-Site header gives it away."""
    user, password = admin.create_user()
    browser, answer = _sign_in(
        admin.live, user["email"], password, area="/account", **{"Sec-Fetch-Site": site}
    )
    assert answer.status_code == 400
    assert "ninja_oauth_account=" not in answer.headers.get("set-cookie", "")
    browser.close()


def test_an_admin_app_whose_admin_scope_is_taken_away_loses_the_api_at_once(
    admin: Admin,
) -> None:
    second = admin.create_app(name="Second admin script", platform="api_services", admin=True)
    token = admin.machine_token(second, scope="admin")
    headers = {"Authorization": f"Bearer {token}"}
    assert _once(admin.live, "GET", f"{API}/apps", headers=headers).status_code == 200
    changed = admin.bearer.patch(
        f"{API}/apps/{second['client_id']}", json={"scopes": ["monitoring"]}
    )
    assert changed.status_code == 200, changed.text
    refused = _once(admin.live, "GET", f"{API}/apps", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"


@pytest.mark.parametrize("number", [0, 2**31, 2**63, 10**20])
def test_a_console_page_or_form_for_an_id_beyond_any_row_is_a_404_page(
    any_store: Admin, number: int
) -> None:
    """The console's paths take any number; PostgreSQL refuses one past its INTEGER columns
    and SQLite one past 64 bits. No such user or consent: the 404 page, never a 500."""
    admin = any_store
    form = {"csrf_token": admin.csrf_token, "change": "disable"}
    answers = [
        admin.session.get(f"/admin/users/{number}"),
        admin.session.post(f"/admin/users/{number}/change", data=form),
        admin.session.post(f"/admin/users/{number}/revoke-tokens", data=form),
        admin.session.post(f"/admin/consents/{number}/revoke", data=form),
    ]
    user, password = admin.create_user()
    account, signed_in = _sign_in(admin.live, user["email"], password, area="/account")
    assert signed_in.status_code == 303, signed_in.text
    page = parse_form(account.get("/account/logout").text)
    answers.append(
        account.post(
            f"/account/consents/{number}/revoke", data={"csrf_token": page.fields["csrf_token"]}
        )
    )
    account.close()
    for answer in answers:
        assert answer.status_code == 404, (answer.request.url, answer.status_code, answer.text)
        assert "Something went wrong" not in answer.text


@pytest.mark.parametrize("body", [b"{bad", b"\xff\xfe"], ids=["not-json", "not-utf8"])
def test_who_asks_is_decided_before_a_body_that_is_not_json(admin: Admin, body: bytes) -> None:
    """FastAPI reads a JSON body before any dependency: without this order a caller without
    credentials got the body's 400, not the 401 that tells it to authenticate."""
    json_type = {"Content-Type": "application/json"}
    anonymous = _once(admin.live, "POST", f"{API}/apps", content=body, headers=json_type)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    token = admin.machine_token(admin.machine_app())
    outsider = _once(
        admin.live,
        "POST",
        f"{API}/apps",
        content=body,
        headers={**json_type, "Authorization": f"Bearer {token}"},
    )
    assert outsider.status_code == 403, outsider.text
    allowed = admin.bearer.post(f"{API}/apps", content=body, headers=json_type)
    assert allowed.status_code == 400, allowed.text
    assert allowed.json()["field"] == "body"
