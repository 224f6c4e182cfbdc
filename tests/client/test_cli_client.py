"""`ninja-oauth token | login | logout | api`, run in-process against the Authlib test server."""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from ninja_oauth.cli import client_commands
from ninja_oauth.cli.commands import app
from ninja_oauth.client import NinjaOAuth

from .authlib_server import ORGANIZATIONS, Client, RunningServer

Run = Callable[..., Result]


@pytest.fixture
def run() -> Run:
    """The `ninja-oauth` command itself, as registered, run in-process."""
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), env=env, input=input)

    return invoke


@pytest.fixture
def service(authlib_server: RunningServer) -> Client:
    return authlib_server.add_client(grant_types=["client_credentials"])


def credentials(server: RunningServer, client: Client) -> dict[str, str]:
    assert client.client_secret is not None
    return {
        "NINJA_BASE_URL": server.base_url,
        "NINJA_CLIENT_ID": client.client_id,
        "NINJA_CLIENT_SECRET": client.client_secret,
    }


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A browser that opens the URL and follows every redirect, back to the loopback port."""
    opened: list[str] = []

    def open_url(url: str) -> bool:
        opened.append(url)
        return httpx.get(url, follow_redirects=True, timeout=10).status_code == 200

    monkeypatch.setenv("BROWSER", "test-browser")
    monkeypatch.setattr(webbrowser, "open", open_url)
    return opened


def native_client(server: RunningServer, **settings: Any) -> Client:
    return server.add_client(
        public=True,
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=["http://127.0.0.1/callback"],
        **settings,
    )


def test_token_prints_only_an_access_token_the_api_accepts(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    result = run("token", env=credentials(authlib_server, service))

    assert (result.exit_code, result.stderr) == (0, "")
    headers = {"Authorization": f"Bearer {result.stdout.strip()}"}
    response = httpx.get(f"{authlib_server.base_url}/v2/organizations", headers=headers)
    assert response.json() == ORGANIZATIONS
    assert result.stdout.count("\n") == 1


# What `ninja-oauth token` (the installed command, cli.main) loaded once it had printed its token.
_LOADED_BY_TOKEN = """
import sys
from ninja_oauth.cli import main
sys.argv = ["ninja-oauth", "token"]
try:
    main()
finally:
    server = ("sqlalchemy", "authlib", "starlette", "ninja_oauth.store", "ninja_oauth.admin")
    print(*sorted(m for m in server if m in sys.modules), sep=",", file=sys.stderr)
"""


def test_the_client_commands_run_without_loading_the_servers_code(
    authlib_server: RunningServer, service: Client
) -> None:
    # Scripts run `ninja-oauth token` once per call: it starts without the server's modules.
    env = {**os.environ, **credentials(authlib_server, service)}
    token = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_TOKEN], env=env, capture_output=True, text=True
    )
    assert (token.returncode, token.stderr) == (0, "\n")
    headers = {"Authorization": f"Bearer {token.stdout.strip()}"}
    response = httpx.get(f"{authlib_server.base_url}/v2/organizations", headers=headers)
    assert response.json() == ORGANIZATIONS
    # Any other command line gets the app of every command.
    helped = subprocess.run(
        [sys.executable, "-m", "ninja_oauth", "--help"], env=env, capture_output=True, text=True
    )
    assert helped.returncode == 0
    for command in ("serve", "apps", "users", "audit", *client_commands.COMMANDS):
        assert re.search(rf"^[│ ]*{command}\b", helped.stdout, re.MULTILINE), command


def test_token_json_prints_the_token_response(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    assert service.client_secret is not None
    result = run(
        "token",
        "--json",
        "--base-url",
        authlib_server.base_url,
        "--client-id",
        service.client_id,
        "--client-secret",
        service.client_secret,
        "--scope",
        "monitoring",
        "--scope",
        "control",
    )

    body = json.loads(result.stdout)
    assert result.exit_code == 0
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["scope"]) == ("Bearer", "monitoring control")
    assert body["expires_in"] in (3599, 3600)
    assert service.client_secret not in result.output


def test_a_wrong_secret_is_one_line_on_stderr_without_the_secret(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    env = credentials(authlib_server, service) | {"NINJA_CLIENT_SECRET": "wrong-secret-42"}

    result = run("token", env=env)

    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        "ninja-oauth: invalid_client: The client cannot authenticate with methods: "
        "['client_secret_basic', 'client_secret_post'] (HTTP 401)\n"
    )
    assert "wrong-secret-42" not in result.output


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        ((), {}, "give --region (NINJA_REGION) or --base-url (NINJA_BASE_URL)"),
        (
            ("--region", "eu", "--base-url", "http://127.0.0.1:1"),
            {},
            "give only one of --region (NINJA_REGION) or --base-url (NINJA_BASE_URL)",
        ),
        (
            ("--region", "eu"),
            {"NINJA_CLIENT_SECRET": "x"},
            "--client-id (NINJA_CLIENT_ID) is required",
        ),
        (
            ("--base-url", "http://ninja.example"),
            {"NINJA_CLIENT_ID": "client-a", "NINJA_CLIENT_SECRET": "secret-b"},
            "base_url must use https (plain http is allowed only on loopback hosts)",
        ),
    ],
    ids=["no-server", "two-servers", "no-client-id", "remote-http"],
)
def test_bad_settings_are_a_usage_error_on_one_line(
    run: Run, args: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    result = run("token", *args, env=env)

    assert (result.exit_code, result.stderr) == (2, f"ninja-oauth: {message}\n")


def test_a_region_flag_beats_a_base_url_from_the_environment(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def get_token(self: NinjaOAuth) -> Any:
        seen.append(self.api_base_url)
        raise RuntimeError("stop here")

    monkeypatch.setattr(NinjaOAuth, "get_token", get_token)
    env = {
        "NINJA_BASE_URL": "http://127.0.0.1:1",
        "NINJA_CLIENT_ID": "a",
        "NINJA_CLIENT_SECRET": "b",
    }

    result = run("token", "--region", "us2", env=env)

    assert seen == ["https://us2.ninjarmm.com"]
    assert (result.exit_code, result.stderr) == (1, "ninja-oauth: unexpected RuntimeError\n")


def test_api_with_client_credentials_prints_the_json(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    result = run("api", "GET", "/v2/organizations", env=credentials(authlib_server, service))

    assert (result.exit_code, result.stdout) == (0, json.dumps(ORGANIZATIONS) + "\n")


def test_api_sends_a_json_body(run: Run, authlib_server: RunningServer, service: Client) -> None:
    env = credentials(authlib_server, service)

    result = run("api", "post", "/v2/echo", "--data", '{"name": "Initech"}', env=env)
    piped = run("api", "POST", "/v2/echo", "-d", "-", env=env, input='{"n": 1}')

    assert json.loads(result.stdout) == {"received": {"name": "Initech"}}
    assert json.loads(piped.stdout) == {"received": {"n": 1}}


def test_api_http_error_prints_the_body_and_exits_non_zero(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    result = run("api", "GET", "/v2/missing", env=credentials(authlib_server, service))

    assert result.exit_code == 1
    assert result.stderr == "ninja-oauth: HTTP 404 Not Found for GET /v2/missing\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("GET", "https://elsewhere.example/v2"), "the path must start with a single '/'"),
        (("GET", "//elsewhere.example/v2"), "the path must start with a single '/'"),
        (("FETCH", "/v2/organizations"), "unsupported HTTP method 'FETCH'"),
        (("POST", "/v2/echo", "--data", "{oops"), "--data is not valid JSON"),
    ],
    ids=["absolute-url", "scheme-relative-url", "bad-method", "bad-json"],
)
def test_api_refuses_what_could_misdirect_the_token(
    run: Run, authlib_server: RunningServer, service: Client, args: tuple[str, ...], message: str
) -> None:
    result = run("api", *args, env=credentials(authlib_server, service))

    assert result.exit_code == 2
    assert result.stderr.startswith(f"ninja-oauth: {message}")
    assert service.token_requests.total() == 0


def test_api_without_login_says_to_log_in(run: Run, authlib_server: RunningServer) -> None:
    result = run("api", "GET", "/v2/organizations", "--base-url", authlib_server.base_url)

    assert result.exit_code == 1
    assert result.stderr == (
        f"ninja-oauth: not logged in to {authlib_server.base_url}. Run `ninja-oauth login`.\n"
    )


def test_login_then_api_then_logout(
    run: Run, authlib_server: RunningServer, browser: list[str]
) -> None:
    client = native_client(authlib_server)
    server = ("--base-url", authlib_server.base_url)

    login = run("login", *server, "--client-id", client.client_id, "--scope", "management")
    called = run("api", "GET", "/v2/organizations", *server)
    logout = run("logout", *server)
    again = run("logout", *server)

    assert login.exit_code == 0
    assert login.stderr.startswith(
        "Opened the browser to log in; waiting for it to come back…\n"
        f"Logged in to {authlib_server.base_url} (scope: management offline_access); "
        "tokens kept in "
    )
    assert "scope=management+offline_access" in browser[0]
    assert (called.exit_code, json.loads(called.stdout)) == (0, ORGANIZATIONS)
    assert (logout.exit_code, logout.stderr) == (0, "Logged out.\n")
    assert (again.exit_code, again.stderr) == (0, f"Not logged in to {authlib_server.base_url}.\n")
    assert client.token_requests == {"authorization_code": 1}


def test_login_asks_for_monitoring_and_offline_access_by_default(
    run: Run, authlib_server: RunningServer, browser: list[str]
) -> None:
    client = native_client(authlib_server)

    result = run("login", "--base-url", authlib_server.base_url, "--client-id", client.client_id)

    assert result.exit_code == 0
    assert "scope=monitoring+offline_access" in browser[0]


def test_login_without_a_display_prints_the_url(
    run: Run, authlib_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = native_client(authlib_server)
    for name in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")

    result = run(
        "login", "--base-url", authlib_server.base_url, "--client-id", client.client_id,
        "--timeout", "0.3",
    )  # fmt: skip

    lines = result.stderr.splitlines()
    assert result.exit_code == 1
    assert lines[0] == "Open this URL in a browser to log in:"
    assert lines[1].startswith(f"{authlib_server.base_url}/ws/oauth/authorize?response_type=code&")
    assert lines[2:] == ["ninja-oauth: no login callback within 0.3 seconds"]


def test_a_revoked_login_tells_the_user_to_log_in_again(
    run: Run, authlib_server: RunningServer, browser: list[str]
) -> None:
    client = native_client(authlib_server, expires_in=1)
    server = ("--base-url", authlib_server.base_url)
    assert run("login", *server, "--client-id", client.client_id).exit_code == 0
    for record in authlib_server.store.tokens:
        if record.client_id == client.client_id:
            record.access_revoked = record.refresh_revoked = True

    result = run("api", "GET", "/v2/organizations", *server)

    assert result.exit_code == 1
    assert result.stderr == (
        "ninja-oauth: invalid_grant (HTTP 400). The refresh token is no longer valid: log in again. "
        "Run `ninja-oauth login`.\n"
    )


def test_an_unexpected_failure_is_one_line_without_its_message(
    run: Run, authlib_server: RunningServer, service: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: NinjaOAuth) -> Any:
        raise KeyError(f"secret {service.client_secret}")

    monkeypatch.setattr(NinjaOAuth, "get_token", explode)

    result = run("token", env=credentials(authlib_server, service))

    assert (result.exit_code, result.stderr) == (1, "ninja-oauth: unexpected KeyError\n")


def test_json_is_pretty_on_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    response = httpx.Response(200, json=ORGANIZATIONS)

    client_commands._print_response(response)

    printed = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert json.loads(printed) == ORGANIZATIONS
    assert printed.startswith('[\n  {\n    "id": 1,')


class _Hostile(http.server.BaseHTTPRequestHandler):
    """A server whose words carry terminal escape sequences (a title, a clipboard write)."""

    def do_POST(self) -> None:  # the token endpoint: a token for client "good" only
        if b"client_id=good" in self.rfile.read(int(self.headers["Content-Length"])):
            token = {"access_token": "a" * 40, "token_type": "Bearer", "expires_in": 3600}
            self._answer(200, "application/json", json.dumps(token).encode())
            return
        self._answer(400, "application/json", json.dumps({
            "error": "invalid_client",
            "error_description": "\x1b]0;PWNED\x07 bad \x1b[8m hidden \x9b2J",
        }).encode())  # fmt: skip

    def do_GET(self) -> None:  # the API: a body that is not JSON
        self._answer(502, "text/plain", b"line one\n\x1b]52;c;ZWNobyBwd25lZA==\x07line two\n")

    def _answer(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hostile() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_servers_text_reaches_the_terminal_with_its_control_characters_escaped(
    run: Run, hostile: str
) -> None:
    server = ("--base-url", hostile, "--client-id", "cid", "--client-secret", "s" * 20)
    token = run("token", *server)
    called = run("api", "GET", "/v2/x", *server[:2], "--client-id", "good", *server[4:])

    assert token.exit_code == 1
    assert token.stderr == (
        "ninja-oauth: invalid_client: \\x1b]0;PWNED\\x07 bad \\x1b[8m hidden \\x9b2J (HTTP 400)\n"
    )
    assert called.exit_code == 1
    assert called.stdout == "line one\n\\x1b]52;c;ZWNobyBwd25lZA==\\x07line two\n\n"
    assert "\x1b" not in token.output + called.output and "\x9b" not in token.output


def test_a_login_port_beyond_65535_is_a_usage_error(run: Run) -> None:
    result = run("login", "--base-url", "http://127.0.0.1:1", "--client-id", "x", "--port", "70000")
    assert result.exit_code == 2
    assert "65535" in result.output and "Traceback" not in result.output


def test_a_control_character_in_the_api_path_is_one_line_and_exit_2(run: Run, hostile: str) -> None:
    credentials = ("--client-id", "good", "--client-secret", "s" * 20)
    result = run("api", "GET", "/v2/\x01", "--base-url", hostile, *credentials)
    assert result.exit_code == 2
    assert result.stderr.startswith("ninja-oauth: ") and result.stderr.count("\n") == 1
    assert "unexpected" not in result.stderr


def test_a_base_url_with_a_port_out_of_range_sends_nothing(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    """Port 99999 resolves as 34463 (modulo 65536): the secret would go to another service.
    Refused before any request, in one line, exit 2."""
    env = {**credentials(authlib_server, service), "NINJA_BASE_URL": "http://127.0.0.1:99999"}
    result = run("token", env=env)

    assert result.exit_code == 2
    assert result.stderr == "ninja-oauth: base_url has an invalid port: 'http://127.0.0.1:99999'\n"
    assert service.token_requests.total() == 0


def test_api_says_a_redirect_was_not_followed_and_fails(
    run: Run, authlib_server: RunningServer, service: Client
) -> None:
    result = run("api", "GET", "/v2/moved", env=credentials(authlib_server, service))

    assert result.exit_code == 1
    assert (
        result.stderr == "ninja-oauth: HTTP 302 Found for GET /v2/moved: a redirect, not followed\n"
    )
