"""`ninja-oauth token`, `login`, `logout` and `api`: the SDK on the command line.

Errors are one line on stderr and a non-zero exit, never a stack trace, never a secret.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
import webbrowser
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import httpx
import typer

from ninja_oauth.cli.client_common import (
    BaseUrlOption,
    ClientIdOption,
    ClientSecretOption,
    RegionOption,
    ScopeOption,
    fail,
    logged_in_client,
    named,
    one_line_errors,
    printable,
    require,
    resolve_server,
)
from ninja_oauth.client import LoginRequired, NinjaOAuth, NinjaOAuthError, TokenCache
from ninja_oauth.client.flows import metadata_url
from ninja_oauth.client.regions import Endpoints

# A CLI login exists so that later commands can refresh silently, so it always asks for
# offline_access; `monitoring` (read-only) is the least privilege that makes `api GET` useful.
DEFAULT_LOGIN_SCOPES = ("monitoring",)
OFFLINE_ACCESS = "offline_access"


def _has_browser() -> bool:
    # Without a display, webbrowser would start a text browser inside this terminal.
    if sys.platform.startswith("linux") and not os.environ.get("BROWSER"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


# Seconds the server has to answer before `login` gives up, instead of waiting for a browser.
PROBE_TIMEOUT = 5.0


def _check_server(base_url: str) -> None:
    """Fail at once, with one line, when nothing answers at ``base_url``: otherwise `login`
    would open a browser on an unreachable page and wait minutes for a callback. Any HTTP
    answer will do (NinjaOne's regions publish no RFC 8414 metadata)."""
    url = metadata_url(base_url)
    try:
        httpx.get(url, timeout=PROBE_TIMEOUT, follow_redirects=False).close()
    except httpx.TimeoutException:
        fail(f"no answer from {base_url} within {PROBE_TIMEOUT:g} seconds: is the server up?")
    except httpx.TransportError as exc:
        reason = str(exc) or type(exc).__name__
        fail(f"cannot reach {base_url} ({reason}): is the server running at that URL?")


def _show_login_url(url: str, *, use_browser: bool) -> None:
    if use_browser and _has_browser() and webbrowser.open(url):
        typer.echo("Opened the browser to log in; waiting for it to come back…", err=True)
        return
    typer.echo(f"Open this URL in a browser to log in:\n{url}", err=True)


@one_line_errors
def token(
    ctx: typer.Context,
    region: RegionOption = None,
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    scope: ScopeOption = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the token response as JSON.")
    ] = False,
) -> None:
    """Get an access token with the client credentials grant and print it."""
    server = resolve_server(ctx, region, base_url)
    auth = NinjaOAuth.client_credentials(
        client_id=require(client_id, "--client-id (NINJA_CLIENT_ID)"),
        client_secret=require(client_secret, "--client-secret (NINJA_CLIENT_SECRET)"),
        scopes=scope,
        **server,
    )
    issued = auth.get_token()
    typer.echo(json.dumps(issued.to_response(time.time())) if json_output else issued.access_token)


@one_line_errors
def login(
    ctx: typer.Context,
    region: RegionOption = None,
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            show_default=False,
            help="A scope to ask for (repeatable; default: monitoring). offline_access is added.",
        ),
    ] = None,
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Loopback port for the redirect (0: any).")
    ] = 0,
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="Open the browser, or only print.")
    ] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the browser.")] = 300.0,
    issuer: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            show_default=False,
            help="The server's issuer, when it is reached by another name (localhost for "
            "127.0.0.1): the callback's iss must name it (RFC 9207).",
        ),
    ] = None,
) -> None:
    """Log in through the browser (authorization code with PKCE, loopback redirect)."""
    server = resolve_server(ctx, region, base_url)
    scopes = list(dict.fromkeys([*(scope or DEFAULT_LOGIN_SCOPES), OFFLINE_ACCESS]))
    cache = TokenCache()
    auth = NinjaOAuth.authorization_code(
        client_id=require(client_id, "--client-id (NINJA_CLIENT_ID) of a native app"),
        scopes=scopes,
        cache=cache,
        **server,
    )
    _check_server(auth.endpoints.base_url)
    issued = auth.login(
        open_browser=functools.partial(_show_login_url, use_browser=browser),
        port=port,
        timeout=timeout,
        issuer=issuer,
    )
    typer.echo(
        f"Logged in to {auth.endpoints.base_url} (scope: {printable(issued.scope or '')}); "
        f"tokens kept in {cache.path}",
        err=True,
    )


@one_line_errors
def logout(
    ctx: typer.Context,
    region: RegionOption = None,
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
) -> None:
    """Revoke the tokens of `login` and delete them."""
    cache = TokenCache()
    server = resolve_server(ctx, region, base_url)
    base = Endpoints.resolve(**server).base_url
    try:
        chosen = logged_in_client(cache, base, client_id, named(ctx, "client_id"))
    except LoginRequired:
        typer.echo(f"Not logged in to {base}.", err=True)
        return
    auth = NinjaOAuth.authorization_code(client_id=chosen, cache=cache, **server)
    try:
        revoked = auth.revoke()
    except NinjaOAuthError as exc:
        raise NinjaOAuthError(f"tokens deleted, but the server did not revoke them: {exc}") from exc
    typer.echo("Logged out." if revoked else f"Not logged in to {base} as {chosen}.", err=True)


def _request_body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data == "-" and sys.stdin is None:
        raise ValueError("--data - reads standard input, which is closed")
    text = sys.stdin.read() if data == "-" else data
    if data.startswith("@"):
        text = Path(data[1:]).read_text(encoding="utf-8")
    try:
        json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        raise ValueError("--data is not valid JSON") from None
    return text.encode()


def _print_response(response: httpx.Response) -> None:
    if not response.content:
        return
    try:
        body = response.json()
    except ValueError:
        typer.echo(printable(response.text, keep="\n\t"))
        return
    if sys.stdout.isatty():
        from rich.console import Console

        # ensure_ascii: the C1 control characters of a string escaped as well.
        Console().print_json(data=body, ensure_ascii=True)
    else:
        typer.echo(json.dumps(body))


@one_line_errors
def api(
    ctx: typer.Context,
    method: Annotated[str, typer.Argument(help="HTTP method: GET, POST, PUT, PATCH, DELETE.")],
    path: Annotated[str, typer.Argument(help="API path, e.g. /v2/organizations.")],
    region: RegionOption = None,
    base_url: BaseUrlOption = None,
    client_id: ClientIdOption = None,
    client_secret: ClientSecretOption = None,
    scope: ScopeOption = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            "-d",
            metavar="JSON",
            show_default=False,
            help="JSON body, @FILE, or - for stdin.",
        ),
    ] = None,
) -> None:
    """Call the Public API and print the JSON answer; non-zero exit on an HTTP error.

    Uses the tokens of `login`, unless client credentials are given.
    """
    verb = method.upper()
    if verb not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        raise ValueError(f"unsupported HTTP method {method!r}")
    if not path.startswith("/") or path.startswith("//"):
        # An absolute URL would send the bearer token to whatever host it names.
        raise ValueError("the path must start with a single '/', e.g. /v2/organizations")
    server = resolve_server(ctx, region, base_url)
    if client_secret:
        auth = NinjaOAuth.client_credentials(
            client_id=require(client_id, "--client-id (NINJA_CLIENT_ID)"),
            client_secret=client_secret,
            scopes=scope,
            **server,
        )
    else:
        cache = TokenCache()
        base = Endpoints.resolve(**server).base_url
        chosen = logged_in_client(cache, base, client_id, named(ctx, "client_id"))
        auth = NinjaOAuth.authorization_code(client_id=chosen, cache=cache, **server)
        if auth.token is None:
            raise LoginRequired(f"client {chosen} is not logged in to {base}")
    body = _request_body(data)
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    with httpx.Client(base_url=auth.api_base_url, auth=auth, timeout=60.0) as http:
        response = http.request(verb, path, content=body, headers=headers)
    _print_response(response)
    if response.is_error:
        fail(f"HTTP {response.status_code} {response.reason_phrase} for {verb} {path}")
    if response.is_redirect:  # not followed: the bearer token goes to the API's host only
        fail(
            f"HTTP {response.status_code} {response.reason_phrase} for {verb} {path}: "
            "a redirect, not followed"
        )


# The client commands by name: ``register`` adds them, and ``cli.main`` runs them without the
# server's code.
COMMANDS: dict[str, Callable[..., None]] = {
    "token": token,
    "login": login,
    "logout": logout,
    "api": api,
}


def register(app: typer.Typer) -> None:
    """Add `token`, `login`, `logout` and `api` to the `ninja-oauth` Typer app."""
    for name, command in COMMANDS.items():
        app.command(name)(command)
