"""The `ninja-oauth` command as an operator uses it: apps and users, with clear errors."""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import CLI, LiveServer, free_port


def _run(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60, input=input
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NINJA_OAUTH_")}
    base["NINJA_OAUTH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    return base


def test_apps_create_prints_the_json_contract_and_the_secret_only_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    created = _run(
        env, "apps", "create", "--name", "Backup sync", "--platform", "api_services", "--json"
    )
    assert created.returncode == 0, created.stderr
    app: dict[str, Any] = json.loads(created.stdout)
    assert list(app) == [
        "client_id",
        "client_secret",
        "name",
        "platform",
        "redirect_uris",
        "scopes",
        "grant_types",
    ]
    assert app["platform"] == "api_services"
    assert app["scopes"] == ["monitoring", "management", "control"]
    assert app["grant_types"] == ["client_credentials", "refresh_token"]
    assert len(app["client_secret"]) >= 43
    # The key was created beside the SQLite file, readable by the owner only (DESIGN §6).
    key = tmp_path / "secret-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600

    shown = _run(env, "apps", "show", app["client_id"], "--json")
    listed = _run(env, "apps", "list", "--json")
    assert app["client_secret"] not in shown.stdout + listed.stdout
    assert json.loads(shown.stdout)["name"] == "Backup sync"
    assert [a["client_id"] for a in json.loads(listed.stdout)] == [app["client_id"]]

    rotated = json.loads(_run(env, "apps", "rotate-secret", app["client_id"], "--json").stdout)
    assert rotated["client_id"] == app["client_id"]
    assert rotated["client_secret"] != app["client_secret"]

    deleted = _run(env, "apps", "delete", app["client_id"], "--yes")
    assert deleted.returncode == 0
    assert _run(env, "apps", "show", app["client_id"]).returncode == 1


def test_public_apps_have_no_secret_and_need_a_redirect_uri(env: dict[str, str]) -> None:
    missing = _run(env, "apps", "create", "--name", "CLI", "--platform", "native")
    assert missing.returncode == 2
    assert missing.stderr == "ninja-oauth: A native app needs at least one redirect URI.\n"
    ok = _run(
        env,
        "apps",
        "create",
        "--name",
        "CLI",
        "--platform",
        "spa",
        "--redirect-uri",
        "https://spa.example.com/cb",
        "--scope",
        "monitoring",
        "--json",
    )
    app = json.loads(ok.stdout)
    assert app["client_secret"] is None
    assert app["scopes"] == ["monitoring"]
    assert app["grant_types"] == ["authorization_code", "implicit", "refresh_token"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--platform", "web", "--redirect-uri", "http://example.com/cb"],
            "Redirect URI 'http://example.com/cb' must use https (http is allowed only on 127.0.0.1, [::1] and localhost).",
        ),
        (
            ["--platform", "web", "--redirect-uri", "https://example.com/cb#x"],
            "Redirect URI 'https://example.com/cb#x' must not contain a fragment.",
        ),
        (
            ["--platform", "web", "--redirect-uri", "/relative"],
            "Redirect URI '/relative' must be absolute (with a scheme).",
        ),
        (
            ["--platform", "api_services", "--scope", "offline_access"],
            "Unknown scope 'offline_access': choose among monitoring, management, control (offline_access is asked for at authorization, not configured).",
        ),
        (
            [
                "--platform",
                "web",
                "--redirect-uri",
                "https://example.com/cb",
                "--grant",
                "client_credentials",
            ],
            "The grant 'client_credentials' is not available to web apps; they may use authorization_code, refresh_token.",
        ),
    ],
    ids=["http-not-loopback", "fragment", "relative", "offline-access-scope", "grant-not-offered"],
)
def test_registration_errors_are_one_line_and_exit_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = _run(env, "apps", "create", "--name", "X", *args)
    assert result.returncode == 2
    assert result.stderr == f"ninja-oauth: {message}\n"
    assert "Traceback" not in result.stderr


def test_native_apps_may_register_loopback_and_reverse_domain_schemes(env: dict[str, str]) -> None:
    result = _run(
        env,
        "apps",
        "create",
        "--name",
        "Mobile",
        "--platform",
        "native",
        "--redirect-uri",
        "http://127.0.0.1/callback",
        "--redirect-uri",
        "com.example.ninja:/oauth2redirect",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["redirect_uris"] == [
        "http://127.0.0.1/callback",
        "com.example.ninja:/oauth2redirect",
    ]


def test_users_create_with_password_from_stdin_and_duplicate_refused(env: dict[str, str]) -> None:
    first = _run(
        env,
        "users",
        "create",
        "--email",
        "Ops@Example.com",
        "--password-stdin",
        input="s3cret-pass\n",
    )
    assert first.returncode == 0, first.stderr
    assert "s3cret-pass" not in first.stdout + first.stderr
    again = _run(env, "users", "create", "--email", "ops@example.com", "--password", "another-pass")
    assert again.returncode == 1
    assert again.stderr == "ninja-oauth: a user with the email 'ops@example.com' already exists\n"
    short = _run(env, "users", "create", "--email", "x@example.com", "--password", "short")
    assert short.returncode == 2


def test_a_bad_setting_stops_with_one_line_naming_it(env: dict[str, str]) -> None:
    bad = _run({**env, "NINJA_OAUTH_ACCESS_TOKEN_TTL": "soon"}, "apps", "list")
    assert bad.returncode == 2
    assert bad.stderr.startswith("ninja-oauth: NINJA_OAUTH_ACCESS_TOKEN_TTL:")
    assert bad.stderr.count("\n") == 1
    pg_without_key = _run(
        {**env, "NINJA_OAUTH_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/test"},
        "apps",
        "list",
    )
    assert pg_without_key.returncode == 2
    assert "NINJA_OAUTH_SECRET_KEY is required" in pg_without_key.stderr


def test_serve_on_all_interfaces_without_an_https_issuer_stops_with_one_line(
    env: dict[str, str],
) -> None:
    """The default issuer would be http://0.0.0.0:PORT, which the protocol endpoints refuse."""
    plain = {k: v for k, v in env.items() if k != "NINJA_OAUTH_ISSUER"}
    refused = _run(plain, "serve", "--host", "0.0.0.0", "--port", "1")
    assert refused.returncode == 2
    assert refused.stderr.startswith("ninja-oauth: NINJA_OAUTH_ISSUER: ")
    assert "plain http on a host that is not loopback" in refused.stderr
    assert "0.0.0.0" not in refused.stderr  # SettingsError never shows a value
    assert refused.stderr.count("\n") == 1
    for issuer in ("http://192.0.2.7:8080", "http://auth.example.com"):
        other = _run({**env, "NINJA_OAUTH_ISSUER": issuer}, "apps", "list")
        assert other.returncode == 2, issuer
    for issuer in ("https://auth.example.com", "http://localhost:8080", "http://[::1]:8080"):
        fine = _run({**env, "NINJA_OAUTH_ISSUER": issuer}, "apps", "list")
        assert fine.returncode == 0, (issuer, fine.stderr)


def test_serve_demo_prints_the_admin_and_one_app_per_platform(
    sqlite_server: LiveServer, tmp_path: Path
) -> None:
    from tests.support.server import start_server

    live = start_server(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path, demo=True)
    try:
        printed = live.log_text()
        for platform in ("api_services", "web", "native", "spa"):
            assert f"  {platform}" in printed
        assert "admin login   admin@ninja-oauth.local / " in printed
        m2m_id = next(
            line.split("client_id=")[1]
            for line in printed.splitlines()
            if line.strip().startswith("api_services")
        )
        secret = printed.split(m2m_id, 1)[1].split("client_secret=")[1].split()[0]
        with live.client() as http:
            token = http.post(
                "/ws/oauth/token", data={"grant_type": "client_credentials"}, auth=(m2m_id, secret)
            )
        assert token.status_code == 200
    finally:
        live.stop()


def test_help_is_available_for_every_command() -> None:
    for args in (
        ["--help"],
        ["serve", "--help"],
        ["check", "--help"],
        ["apps", "create", "--help"],
        ["users", "create", "--help"],
        ["token", "--help"],
        ["login", "--help"],
        ["logout", "--help"],
        ["api", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "ninja_oauth", *args], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0
        assert "Usage" in result.stdout


def test_the_installed_command_lists_the_server_and_the_client_commands() -> None:
    """The console script of pyproject.toml, not `python -m`: what a user runs."""
    script = Path(sysconfig.get_path("scripts")) / "ninja-oauth"
    env = {**os.environ, "COLUMNS": "200"}  # one line per command, however rich wraps
    result = subprocess.run(
        [str(script), "--help"], capture_output=True, text=True, timeout=60, env=env
    )

    assert (result.returncode, result.stderr) == (0, "")
    commands = result.stdout.split("Commands", 1)[1]
    listed = re.findall(r"^[│|]?\s*([a-z][a-z-]*)\s{2,}\S", commands, flags=re.MULTILINE)
    assert listed == [
        "serve",
        "demo-data",
        "check",
        "token",
        "login",
        "logout",
        "api",
        "audit",
        "apps",
        "users",
        "consents",
    ]


def test_a_secret_key_file_that_is_too_short_is_refused(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "secret-key").write_text("")  # e.g. left by a crash
    result = _run(env, "apps", "list")
    assert result.returncode == 2
    assert (
        result.stderr
        == f"ninja-oauth: the secret key file {tmp_path / 'secret-key'} is shorter than 32 characters\n"
    )


# -- settings refused at start: one line naming the setting, exit 2 ---------------------------

_NOT_A_LIST = 'Value error, must be a JSON list of strings, such as ["one", "two"]'


@pytest.mark.parametrize(
    ("variable", "value", "command"),
    [
        ("NINJA_OAUTH_TRUSTED_PROXIES", "10.0.0.1", ["serve", "--port"]),
        ("NINJA_OAUTH_TRUSTED_PROXIES", "", ["apps", "list"]),
        ("NINJA_OAUTH_TRUSTED_PROXIES", '"10.0.0.1"', ["apps", "list"]),
        ("NINJA_OAUTH_INTROSPECTION_RESOURCE_SERVERS", "app1", ["check"]),
        ("NINJA_OAUTH_WEBHOOK_ALLOWED_HOSTS", "example.com", ["apps", "list"]),
    ],
    ids=["proxy-not-json-serve", "proxy-empty", "proxy-json-string", "resource-servers", "hosts"],
)
def test_a_list_setting_that_is_not_a_json_list_stops_with_one_line_naming_it(
    env: dict[str, str], variable: str, value: str, command: list[str]
) -> None:
    if command == ["serve", "--port"]:
        command = [*command, str(free_port())]  # were it to start, on a port of its own
    result = _run({**env, variable: value}, *command)
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"ninja-oauth: {variable}: {_NOT_A_LIST}\n",
    )


_OVER_64_BITS = "99999999999999999999"


@pytest.mark.parametrize(
    ("variable", "value", "most"),
    [
        ("ACCESS_TOKEN_TTL", _OVER_64_BITS, 315360000),  # ten years
        ("ACCESS_TOKEN_TTL", "315360001", 315360000),
        ("REFRESH_TOKEN_TTL", _OVER_64_BITS, 315360000),
        ("CODE_TTL", "601", 600),
        ("CLIENT_AUTH_KEY_LIMIT", _OVER_64_BITS, 1000000),
        ("CLIENT_AUTH_ADDRESS_LIMIT", "1000001", 1000000),
        ("LOGIN_KEY_LIMIT", _OVER_64_BITS, 1000000),
        ("LOGIN_ADDRESS_LIMIT", _OVER_64_BITS, 1000000),
        ("THROTTLE_WINDOW", _OVER_64_BITS, 604800),  # a week
        ("THROTTLE_BLOCK", "3601", 3600),  # the longest block there is
        ("PENDING_PER_BROWSER", _OVER_64_BITS, 1000000),
        ("PENDING_PER_ADDRESS", _OVER_64_BITS, 1000000),
        ("PENDING_MAX_BYTES", "65537", 65536),  # what a form may carry
        ("MAX_BODY_BYTES", _OVER_64_BITS, 1073741824),  # 1 GiB
        ("PASSWORD_HASH_CONCURRENCY", _OVER_64_BITS, 1024),
        ("BODY_TIMEOUT", "1e400", 3600),  # infinity as a float
    ],
    ids=[
        "access-token-ttl",
        "access-token-ttl-by-one",
        "refresh-token-ttl",
        "code-ttl",
        "client-auth-key-limit",
        "client-auth-address-limit",
        "login-key-limit",
        "login-address-limit",
        "throttle-window",
        "throttle-block",
        "pending-per-browser",
        "pending-per-address",
        "pending-max-bytes",
        "max-body-bytes",
        "password-hash-concurrency",
        "body-timeout",
    ],
)
def test_a_number_setting_past_its_range_stops_with_one_line_naming_it(
    env: dict[str, str], variable: str, value: str, most: int
) -> None:
    """Such a value used to start the server and then fail what used it (a lifetime: every token
    request, a 500 OverflowError)."""
    result = _run({**env, f"NINJA_OAUTH_{variable}": value}, "apps", "list")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"ninja-oauth: NINJA_OAUTH_{variable}: Input should be less than or equal to {most}\n",
    )


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda key: key.mkdir(), "cannot read the secret key file {key}: Is a directory"),
        (
            lambda key: key.write_bytes(b"\xff\xfe" * 40),
            "the secret key file {key} is not UTF-8 text",
        ),
        (
            lambda key: key.symlink_to(key.parent / "nowhere" / "key"),
            "cannot read the secret key file {key}: a symbolic link to a missing file",
        ),
    ],
    # (A file of mode 000 takes the same path, and root, as on CI, reads it anyway.)
    ids=["a-directory", "not-utf-8", "dangling-symlink"],
)
def test_a_secret_key_file_that_cannot_be_read_is_refused_naming_it(
    env: dict[str, str], tmp_path: Path, make: Callable[[Path], object], problem: str
) -> None:
    key = tmp_path / "secret-key"
    make(key)
    for command in (["apps", "list"], ["serve", "--port", str(free_port())]):
        result = _run(env, *command)
        assert (result.returncode, result.stdout, result.stderr) == (
            2,
            "",
            f"ninja-oauth: {problem.format(key=key)}\n",
        ), command


def test_a_secret_key_file_whose_directory_is_a_file_is_refused_naming_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "data").write_text("")
    env = {**env, "NINJA_OAUTH_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'cli.db'}"}
    result = _run(env, "apps", "list")
    assert (result.returncode, result.stderr) == (
        2,
        f"ninja-oauth: cannot create the secret key file {tmp_path / 'data' / 'secret-key'}: "
        f"{tmp_path / 'data'} is not a directory\n",
    )


def test_a_default_data_directory_that_cannot_be_made_is_refused_naming_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    # No NINJA_OAUTH_DATABASE_URL: the database goes in the user data directory
    # (XDG_DATA_HOME here), whose parent is a file.
    (tmp_path / "data-home").write_text("")
    env = {k: v for k, v in env.items() if k != "NINJA_OAUTH_DATABASE_URL"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data-home")
    result = _run(env, "apps", "list")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"ninja-oauth: cannot create the data directory {tmp_path / 'data-home' / 'ninja-oauth'}: "
        "Not a directory (or set NINJA_OAUTH_DATABASE_URL)\n",
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apps", "show"], "Missing argument 'client_id'."),
        (
            ["login", "--port", "99999"],
            "Invalid value for '--port': Input should be less than or equal to 65535",
        ),
        (["no-such-command"], "No such command 'no-such-command'."),
    ],
    ids=["missing-argument", "bad-option-value", "unknown-command"],
)
def test_usage_errors_are_one_line_and_exit_2(
    env: dict[str, str], args: list[str], message: str
) -> None:
    result = _run(env, *args)
    assert result.returncode == 2
    assert result.stderr == f"ninja-oauth: {message}\n"


def test_a_closed_standard_output_is_said_not_ignored(env: dict[str, str]) -> None:
    """What a command prints would be lost: it says so and fails, rather than exit 0."""
    command = " ".join(shlex.quote(part) for part in [*CLI, "apps", "list"])
    result = subprocess.run(
        ["/bin/sh", "-c", f"exec {command} >&-"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr == "ninja-oauth: standard output is closed\n"
