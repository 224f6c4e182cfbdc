"""`ninja-oauth apps create|list|show|rotate-secret|delete` (DESIGN §4)."""

from __future__ import annotations

import json
from typing import Any

import typer

from ninja_oauth.cli.common import fail, opened
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import GrantType, Platform
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.registry import RegistrationError, register_app, rotate_secret
from ninja_oauth.oauth.scopes import API_SCOPES

app = typer.Typer(help="Register and manage client apps (Client App IDs).", no_args_is_help=True)

_SCOPES = [s.value for s in API_SCOPES]
_GRANTS = [g.value for g in GrantType]


def _as_dict(item: App, secret: str | None = None, *, with_secret: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"client_id": item.client_id}
    if with_secret:
        data["client_secret"] = secret
    data.update(
        name=item.name,
        platform=item.platform.value,
        redirect_uris=list(item.redirect_uris),
        scopes=list(item.scopes),
        grant_types=list(item.grant_types),
    )
    if item.profile is not None:
        # Only for an app with its own profile: the JSON of the others is unchanged (DESIGN §5).
        data["profile"] = item.profile.value
    return data


def _print(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data))
        return
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else ("-" if value is None else value)
        typer.echo(f"{key:14} {shown}")


@app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="Shown in the app list and on the consent page."),
    platform: Platform = typer.Option(..., "--platform", help="api_services, web, native or spa."),
    redirect_uri: list[str] = typer.Option([], "--redirect-uri", help="Repeat for several."),
    scope: list[str] = typer.Option(
        [], "--scope", help=f"One of {', '.join(_SCOPES)}; default all."
    ),
    grant: list[str] = typer.Option(
        [], "--grant", help="Default: every grant the platform offers."
    ),
    profile: Profile | None = typer.Option(
        None,
        "--profile",
        help="strict: what RFC 9700 advises against is off for this app (implicit, plain or no "
        "PKCE, client_secret in the authorization URL). Default: the server's "
        "(NINJA_OAUTH_PROFILE); an app can only be stricter than its server.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Register an app; a confidential app's secret is printed this once."""
    with opened() as ctx:
        try:
            new = register_app(
                ctx.repos.apps,
                ctx.hasher,
                name=name,
                platform=platform,
                redirect_uris=redirect_uri,
                scopes=scope,
                grant_types=grant,
                profile=profile,
                server_profile=Profile(ctx.settings.profile),
            )
        except RegistrationError as exc:
            fail(str(exc), 2)
    _print(_as_dict(new.app, new.client_secret, with_secret=True), as_json)
    if not as_json and new.client_secret:
        typer.echo("The client secret is shown only now: store it safely.", err=True)


@app.command("list")
def list_apps(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List the registered apps (never their secrets)."""
    with opened() as ctx:
        items = ctx.repos.apps.list()
    if as_json:
        typer.echo(json.dumps([_as_dict(a) for a in items]))
        return
    for item in items:
        typer.echo(f"{item.client_id}  {item.platform.value:12}  {item.name}")


@app.command("show")
def show(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show one app (never its secret)."""
    with opened() as ctx:
        item = ctx.repos.apps.get(client_id)
    if item is None:
        fail(f"no app has the client_id {client_id!r}")
    _print(_as_dict(item), as_json)


@app.command("rotate-secret")
def rotate(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Give a confidential app a new secret (printed once); the old one stops working."""
    with opened() as ctx:
        try:
            new = rotate_secret(ctx.repos.apps, ctx.hasher, client_id)
        except RegistrationError as exc:
            fail(str(exc))
    _print({"client_id": new.app.client_id, "client_secret": new.client_secret}, as_json)


@app.command("set-profile")
def set_profile(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    profile: str = typer.Argument(
        ...,
        help="strict, faithful, or default (follow NINJA_OAUTH_PROFILE). The stricter of the "
        "app's and the server's profile applies.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Set an app's own profile; it applies to its next request."""
    if profile not in ("strict", "faithful", "default"):
        fail(f"unknown profile {profile!r}: use strict, faithful or default", code=2)
    chosen = None if profile == "default" else Profile(profile)
    with opened() as ctx:
        if not ctx.repos.apps.set_profile(client_id, chosen):
            fail(f"no app has the client_id {client_id!r}")
        item = ctx.repos.apps.get(client_id)
    assert item is not None
    _print(_as_dict(item), as_json)


@app.command("delete")
def delete(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete an app with its codes, tokens and consents."""
    with opened() as ctx:
        item = ctx.repos.apps.get(client_id)
        if item is None:
            fail(f"no app has the client_id {client_id!r}")
        if not yes and not typer.confirm(f"Delete {item.name} ({client_id}) and its tokens?"):
            fail("not deleted")
        ctx.repos.apps.delete(client_id)
    typer.echo(f"deleted {client_id}")
