"""The CLI administers through the service the console and the admin API use (issue 11): apps,
users, consents and the audit log, each change audited as by `cli`, errors in one line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from ninja_oauth.passwords import MIN_PASSWORD_LENGTH
from tests.support.flows import assert_oauth_error, authorize, query_of
from tests.support.server import CLI, LiveServer

WEB_CB = "https://webapp.example.com/oauth/callback"


def _run(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60, input=input
    )


def _ok(env: dict[str, str], *args: str, input: str | None = None) -> str:
    result = _run(env, *args, input=input)
    assert (result.returncode, result.stderr) == (0, ""), args
    return result.stdout


def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(_ok(env, *args))


def _audit(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in _ok(env, "audit", "--jsonl", *args).splitlines()]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    base["NINJA_OAUTH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return base


# -- apps ---------------------------------------------------------------------------------


def test_app_changes_are_audited_as_by_the_cli_and_the_audit_never_holds_a_secret(
    env: dict[str, str],
) -> None:
    created = _json(
        env, "apps", "create", "--name", "Admin sync", "--platform", "api_services", "--admin",
        "--json",
    )  # fmt: skip
    client_id, first_secret = created["client_id"], created["client_secret"]
    assert created["admin"] is True
    assert created["scopes"] == ["monitoring", "management", "control", "admin"]

    edited = _json(
        env, "apps", "edit", client_id, "--name", "Renamed", "--scope", "monitoring", "--json"
    )
    assert edited == {
        "client_id": client_id,
        "name": "Renamed",
        "platform": "api_services",
        "redirect_uris": [],
        "scopes": ["monitoring"],
        "grant_types": ["client_credentials", "refresh_token"],
        "admin": True,
        "last_used_at": None,
    }
    assert _json(env, "apps", "show", client_id, "--json") == edited
    assert _json(env, "apps", "list", "--json") == [edited]

    second_secret = _json(env, "apps", "rotate-secret", client_id, "--json")["client_secret"]
    assert _ok(env, "apps", "revoke-tokens", client_id) == f"revoked 0 tokens of {client_id}\n"
    assert _json(env, "apps", "revoke-tokens", client_id, "--json") == {
        "client_id": client_id,
        "revoked": 0,
    }
    assert _ok(env, "apps", "delete", client_id, "--yes") == f"deleted {client_id}\n"

    events = _audit(env)
    assert [e["kind"] for e in events] == [
        "app_deleted",
        "tokens_revoked",
        "tokens_revoked",
        "secret_rotated",
        "app_changed",
        "app_created",
    ]
    assert {(e["actor"], e["client_id"], e["address"]) for e in events} == {
        ("cli", client_id, None)
    }
    assert events[-1]["detail"] == {"name": "Admin sync", "platform": "api_services", "admin": True}
    assert events[-2]["detail"] == {"fields": ["name", "scopes"]}
    assert events[1]["detail"] == {"count": 0, "of": "app"}
    assert events[0]["detail"] == {"name": "Renamed"}
    table = _ok(env, "audit")
    for printed in (json.dumps(events), table):
        assert first_secret not in printed
        assert second_secret not in printed
    assert table.splitlines()[0].split() == [
        "AT", "KIND", "ACTOR", "ADDRESS", "CLIENT_ID", "USER", "DETAIL",
    ]  # fmt: skip
    assert table.splitlines()[1].split()[1:5] == ["app_deleted", "cli", "-", client_id]
    only = _audit(env, "--client-id", client_id, "--kind", "secret_rotated")
    assert [e["kind"] for e in only] == ["secret_rotated"]


def test_apps_edit_replaces_only_the_settings_given(env: dict[str, str]) -> None:
    app = _json(
        env, "apps", "create", "--name", "PSA", "--platform", "web",
        "--redirect-uri", "https://a.example.com/cb", "--redirect-uri", "https://b.example.com/cb",
        "--scope", "monitoring", "--scope", "management", "--json",
    )  # fmt: skip
    client_id = app["client_id"]
    moved = _json(
        env, "apps", "edit", client_id, "--redirect-uri", "https://c.example.com/cb", "--json"
    )
    assert moved["redirect_uris"] == ["https://c.example.com/cb"]
    assert (moved["name"], moved["scopes"]) == ("PSA", ["monitoring", "management"])
    assert moved["grant_types"] == ["authorization_code", "refresh_token"]
    narrowed = _json(env, "apps", "edit", client_id, "--grant", "authorization_code", "--json")
    assert narrowed["grant_types"] == ["authorization_code"]
    assert narrowed["redirect_uris"] == ["https://c.example.com/cb"]
    text = _ok(env, "apps", "edit", client_id, "--name", "PSA")  # no change: no event
    assert "name           PSA\n" in text
    assert "last_used_at   -\n" in text

    changed = _audit(env, "--kind", "app_changed")
    assert [e["detail"]["fields"] for e in changed] == [["grant_types"], ["redirect_uris"]]

    nothing = _run(env, "apps", "edit", client_id)
    assert (nothing.returncode, nothing.stderr) == (
        2,
        "ninja-oauth: give at least one of --name, --redirect-uri, --scope, --grant\n",
    )
    insecure = _run(env, "apps", "edit", client_id, "--redirect-uri", "http://example.com/cb")
    assert insecure.returncode == 2
    assert insecure.stderr.startswith("ninja-oauth: Redirect URI 'http://example.com/cb' must use")
    assert insecure.stderr.count("\n") == 1
    assert _json(env, "apps", "show", client_id, "--json")["redirect_uris"] == [
        "https://c.example.com/cb"
    ]


def test_only_an_admin_app_may_have_the_admin_scope(env: dict[str, str]) -> None:
    plain = _run(
        env, "apps", "create", "--name", "X", "--platform", "api_services", "--scope", "admin"
    )
    assert plain.returncode == 2
    assert plain.stderr.startswith("ninja-oauth: Unknown scope 'admin'")
    assert plain.stderr.count("\n") == 1
    admin = _json(
        env, "apps", "create", "--name", "X", "--platform", "api_services", "--admin",
        "--scope", "admin", "--json",
    )  # fmt: skip
    assert (admin["scopes"], admin["admin"]) == (["admin"], True)
    ordinary = _json(env, "apps", "create", "--name", "Y", "--platform", "api_services", "--json")
    assert "admin" not in ordinary  # the JSON of an ordinary app is unchanged
    assert [a.get("admin", False) for a in _json(env, "apps", "list", "--json")] == [True, False]


# -- refusals -----------------------------------------------------------------------------

_SHORT = f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
_NO_APP = "No app has the client_id 'nope'."
_NO_USER = "No user has the email 'nobody@example.com'."


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["apps", "create", "--name", "X", "--platform", "desktop"],
            2,
            "Unknown platform 'desktop': choose api_services, web, native or spa.",
        ),
        (
            ["apps", "create", "--name", "X", "--platform", "web", "--admin",
             "--redirect-uri", "https://example.com/cb"],
            2,
            "An admin app is an API Services app: the admin scope is granted by "
            "client_credentials only, never through a browser.",
        ),
        (["apps", "show", "nope"], 1, _NO_APP),
        (["apps", "edit", "nope", "--name", "X"], 1, _NO_APP),
        (["apps", "rotate-secret", "nope"], 1, _NO_APP),
        (["apps", "revoke-tokens", "nope"], 1, _NO_APP),
        (["apps", "delete", "nope", "--yes"], 1, _NO_APP),
        (
            ["users", "create", "--email", "not-an-email", "--password", "long-enough"],
            2,
            "'not-an-email' is not an email address.",
        ),
        (["users", "create", "--email", "x@example.com", "--password", "short"], 2, _SHORT),
        (["users", "disable", "nobody@example.com"], 1, _NO_USER),
        (["users", "enable", "Nobody@Example.com"], 1, _NO_USER),
        (["users", "grant-admin", "nobody@example.com"], 1, _NO_USER),
        (["users", "revoke-admin", "nobody@example.com"], 1, _NO_USER),
        (["users", "revoke-tokens", "nobody@example.com"], 1, _NO_USER),
        (["users", "reset-password", "nobody@example.com", "--password", "long-enough"], 1, _NO_USER),
        (["users", "reset-password", "nobody@example.com", "--password", "short"], 2, _SHORT),
        (
            ["users", "reset-password", "nobody@example.com"],
            2,
            "give --password or --password-stdin",
        ),
        (["consents", "list", "--user", "nobody@example.com"], 1, _NO_USER),
        (["consents", "revoke", "999"], 1, "No consent has the id 999."),
        (["audit", "--user", "nobody@example.com"], 1, _NO_USER),
        (["audit", "--limit", "0"], 2, "limit must be between 1 and 10000."),
        (
            ["audit", "--since", "yesterday"],
            2,
            "--since: 'yesterday' is neither an ISO 8601 date and time nor a Unix time",
        ),
        (
            ["audit", "--until", "2024-13-01"],
            2,
            "--until: '2024-13-01' is neither an ISO 8601 date and time nor a Unix time",
        ),
        (
            ["audit", "--since", "99999999999999999999"],
            2,
            "--since: '99999999999999999999' is past the latest Unix time accepted "
            "(4611686018427387904)",
        ),
        (
            ["audit", "--until", "4611686018427387905"],
            2,
            "--until: '4611686018427387905' is past the latest Unix time accepted "
            "(4611686018427387904)",
        ),
        (
            ["audit", "--since", "²"],
            2,
            "--since: '²' is neither an ISO 8601 date and time nor a Unix time",
        ),
        (["audit", "--limit", "99999999999999999999"], 2, "limit must be between 1 and 10000."),
    ],
    ids=[
        "unknown-platform",
        "admin-web-app",
        "show-unknown-app",
        "edit-unknown-app",
        "rotate-unknown-app",
        "revoke-unknown-app",
        "delete-unknown-app",
        "bad-email",
        "short-password",
        "disable-unknown-user",
        "enable-unknown-user",
        "grant-admin-unknown-user",
        "revoke-admin-unknown-user",
        "revoke-tokens-unknown-user",
        "reset-unknown-user",
        "reset-short-password",
        "reset-without-password",
        "consents-unknown-user",
        "revoke-unknown-consent",
        "audit-unknown-user",
        "audit-limit-0",
        "audit-bad-since",
        "audit-bad-until",
        "audit-since-past-64-bits",
        "audit-until-past-the-latest",
        "audit-since-not-a-decimal-digit",
        "audit-limit-past-64-bits",
    ],
)  # fmt: skip
def test_refusals_are_one_line_on_stderr_with_the_right_exit_code(
    env: dict[str, str], args: list[str], code: int, message: str
) -> None:
    result = _run(env, *args)
    assert (result.returncode, result.stdout, result.stderr) == (
        code,
        "",
        f"ninja-oauth: {message}\n",
    )


# -- users --------------------------------------------------------------------------------


def test_users_are_listed_disabled_enabled_and_made_admin_by_email(env: dict[str, str]) -> None:
    assert _ok(env, "users", "create", "--email", "root@example.com", "--password",
               "root-password", "--admin") == "created user root@example.com (id 1, admin)\n"  # fmt: skip
    assert _ok(env, "users", "create", "--email", "Ops@Example.com", "--password",
               "ops-password") == "created user ops@example.com (id 2)\n"  # fmt: skip

    listed = _json(env, "users", "list", "--json")
    assert [{k: u[k] for k in ("id", "email", "admin", "disabled")} for u in listed] == [
        {"id": 2, "email": "ops@example.com", "admin": False, "disabled": False},
        {"id": 1, "email": "root@example.com", "admin": True, "disabled": False},
    ]
    assert all(isinstance(u["created_at"], int) for u in listed)
    table = _ok(env, "users", "list").splitlines()
    assert [line.split()[:4] for line in table] == [
        ["ID", "EMAIL", "ROLE", "STATUS"],
        ["2", "ops@example.com", "user", "enabled"],
        ["1", "root@example.com", "admin", "enabled"],
    ]

    assert (
        _ok(env, "users", "disable", "OPS@example.com") == "disabled user ops@example.com (id 2)\n"
    )
    assert [u["disabled"] for u in _json(env, "users", "list", "--json")] == [True, False]
    assert _json(env, "users", "enable", "ops@example.com", "--json")["disabled"] is False

    for refused in (["revoke-admin", "root@example.com"], ["disable", "root@example.com"]):
        last = _run(env, "users", *refused)
        assert (last.returncode, last.stderr) == (
            1,
            "ninja-oauth: This is the last enabled administrator: make another admin first.\n",
        )
    assert (
        _ok(env, "users", "grant-admin", "ops@example.com")
        == "ops@example.com (id 2) is now an administrator\n"
    )
    assert (
        _ok(env, "users", "revoke-admin", "root@example.com")
        == "root@example.com (id 1) is no longer an administrator\n"
    )
    reset = _run(
        env, "users", "reset-password", "ops@example.com", "--password-stdin",
        input="a-new-password\n",
    )  # fmt: skip
    assert (reset.returncode, reset.stdout) == (0, "reset the password of ops@example.com (id 2)\n")
    assert _json(env, "users", "revoke-tokens", "ops@example.com", "--json") == {
        "user": "ops@example.com",
        "user_id": 2,
        "revoked": 0,
    }
    assert (
        _ok(env, "users", "revoke-tokens", "ops@example.com")
        == "revoked 0 tokens of ops@example.com (id 2)\n"
    )

    events = _audit(env, "--user", "ops@example.com")
    assert [(e["kind"], e["detail"]) for e in events] == [
        ("tokens_revoked", {"count": 0, "of": "user"}),
        ("tokens_revoked", {"count": 0, "of": "user"}),
        ("user_changed", {"changes": ["password_reset"]}),
        ("user_changed", {"changes": ["admin_granted"]}),
        ("user_changed", {"changes": ["enabled"]}),
        ("user_changed", {"changes": ["disabled"]}),
        ("user_created", {"admin": False}),
    ]
    assert {(e["actor"], e["user"], e["user_id"]) for e in events} == {
        ("cli", "ops@example.com", 2)
    }
    everything = _ok(env, "audit", "--jsonl") + _ok(env, "audit")
    for password in ("root-password", "ops-password", "a-new-password"):
        assert password not in everything
    assert [e["user"] for e in _audit(env, "--kind", "user_created")] == [
        "ops@example.com",
        "root@example.com",
    ]


# -- the audit log ------------------------------------------------------------------------


def test_the_audit_is_newest_first_and_filters_by_time_and_count(env: dict[str, str]) -> None:
    for name in ("First", "Second", "Third"):
        _ok(env, "apps", "create", "--name", name, "--platform", "api_services", "--json")
    events = _audit(env)
    assert [e["detail"]["name"] for e in events] == ["Third", "Second", "First"]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert [e["detail"]["name"] for e in _audit(env, "--limit", "2")] == ["Third", "Second"]

    oldest, newest = events[-1]["at"], events[0]["at"]
    assert len(_audit(env, "--since", str(oldest))) == 3
    assert _audit(env, "--since", str(newest + 1)) == []
    assert _audit(env, "--until", str(oldest)) == []
    assert len(_audit(env, "--since", "2000-01-01", "--until", "2999-01-01T00:00:00+00:00")) == 3
    assert _audit(env, "--since", "2999-01-01T00:00:00Z") == []
    assert _ok(env, "audit", "--kind", "no_such_event") == ""


# -- through a running server -------------------------------------------------------------


def _active(live: LiveServer, app: dict[str, Any], token: str) -> bool:
    with live.client() as http:
        info = http.post(
            "/ws/oauth/introspect",
            data={"token": token},
            auth=(app["client_id"], app["client_secret"]),
        )
    assert info.status_code == 200
    return bool(info.json()["active"])


def _code_tokens(live: LiveServer, web: dict[str, Any], user: tuple[str, str]) -> dict[str, Any]:
    params = {
        "response_type": "code",
        "client_id": web["client_id"],
        "redirect_uri": WEB_CB,
        "scope": "monitoring offline_access",
        "state": "st-1",
    }
    with live.client() as browser:
        final = authorize(browser, params, user=user)
    assert final.status_code == 307, final.text
    with live.client() as http:
        tokens = http.post(
            "/ws/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": query_of(final.headers["location"])["code"],
                "redirect_uri": WEB_CB,
            },
            auth=(web["client_id"], web["client_secret"]),
        )
    assert tokens.status_code == 200, tokens.text
    body: dict[str, Any] = tokens.json()
    return body


def _refresh(live: LiveServer, web: dict[str, Any], refresh_token: str) -> httpx.Response:
    with live.client() as http:
        return http.post(
            "/ws/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(web["client_id"], web["client_secret"]),
        )


def test_consents_are_listed_and_revoking_one_ends_the_tokens_it_bought(
    sqlite_server: LiveServer,
) -> None:
    live, env = sqlite_server, sqlite_server.env
    web = live.create_app("web", name="Consent PSA", redirect_uris=[WEB_CB])
    email, password = live.user()
    tokens = _code_tokens(live, web, (email, password))

    listed = _json(env, "consents", "list", "--client-id", web["client_id"], "--json")
    assert [(c["user"], c["client_id"], c["app_name"]) for c in listed] == [
        (email, web["client_id"], "Consent PSA")
    ]
    assert "monitoring" in listed[0]["scopes"]
    assert _json(env, "consents", "list", "--user", email, "--json") == listed
    row = _ok(env, "consents", "list", "--client-id", web["client_id"]).splitlines()[1].split()
    assert (row[0], row[2], row[3], row[-1]) == (
        str(listed[0]["id"]),
        email,
        web["client_id"],
        "PSA",
    )

    assert (
        _ok(env, "consents", "revoke", str(listed[0]["id"]))
        == f"revoked consent {listed[0]['id']}\n"
    )
    assert _json(env, "consents", "list", "--client-id", web["client_id"], "--json") == []
    assert not _active(live, web, tokens["access_token"])
    assert_oauth_error(_refresh(live, web, tokens["refresh_token"]), 400, "invalid_grant")
    (event,) = _audit(env, "--kind", "consent_revoked", "--client-id", web["client_id"])
    assert (event["actor"], event["user"]) == ("cli", email)
    assert event["detail"]["tokens"] >= 1


def test_disabling_a_user_ends_their_tokens_but_not_an_apps_client_credentials(
    sqlite_server: LiveServer,
) -> None:
    live, env = sqlite_server, sqlite_server.env
    web = live.create_app("web", name="Disable PSA", redirect_uris=[WEB_CB])
    m2m = live.create_app("api_services", name="Disable M2M")
    _ok(env, "users", "create", "--email", "leaver@example.com", "--password", "leaver-password")
    user_tokens = _code_tokens(live, web, ("leaver@example.com", "leaver-password"))
    machine_token = live.client_credentials_token(m2m)

    _ok(env, "users", "disable", "leaver@example.com")
    (leaver,) = [
        u for u in _json(env, "users", "list", "--json") if u["email"] == "leaver@example.com"
    ]
    assert leaver["disabled"] is True
    assert not _active(live, web, user_tokens["access_token"])
    assert_oauth_error(_refresh(live, web, user_tokens["refresh_token"]), 400, "invalid_grant")
    assert _active(live, m2m, machine_token)  # an app's own tokens belong to no user
    assert _active(live, m2m, live.client_credentials_token(m2m))


def test_apps_revoke_tokens_ends_every_live_token_of_the_app_at_once(
    sqlite_server: LiveServer,
) -> None:
    live, env = sqlite_server, sqlite_server.env
    m2m = live.create_app("api_services", name="Revoke M2M")
    other = live.create_app("api_services", name="Bystander M2M")
    first, second = live.client_credentials_token(m2m), live.client_credentials_token(m2m)
    bystander = live.client_credentials_token(other)

    answer = _json(env, "apps", "revoke-tokens", m2m["client_id"], "--json")
    assert answer["revoked"] >= 2
    assert not _active(live, m2m, first)
    assert not _active(live, m2m, second)
    with live.client() as http:
        api = http.get("/v2/organizations", headers={"Authorization": f"Bearer {first}"})
    assert api.status_code == 401
    assert _active(live, other, bystander)
    assert _active(live, m2m, live.client_credentials_token(m2m))  # the app itself still works
    (event,) = _audit(env, "--kind", "tokens_revoked", "--client-id", m2m["client_id"])
    assert (event["actor"], event["detail"]) == ("cli", {"count": answer["revoked"], "of": "app"})
