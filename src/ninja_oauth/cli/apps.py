"""`ninja-oauth apps create|list|show|edit|rotate-secret|revoke-tokens|set-profile|delete`
(DESIGN §4), through the administration service, so each change is audited as by ``cli``."""

from __future__ import annotations

import json
from typing import Any

import typer

from ninja_oauth.admin.service import CLI, AppView
from ninja_oauth.cli.common import administration, every, fail, opened, refused
from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import GrantType
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.scopes import API_SCOPES

app = typer.Typer(help="Register and manage client apps (Client App IDs).", no_args_is_help=True)

_SCOPES = [s.value for s in API_SCOPES]
_GRANTS = [g.value for g in GrantType]


def _as_dict(item: App, secret: str | None = None, *, with_secret: bool = False) -> dict[str, Any]:
    """The JSON contract: README's keys in this order; ``profile`` and ``admin`` only for an
    app that has them (the JSON of the others is unchanged, DESIGN §5)."""
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
        data["profile"] = item.profile.value
    if item.is_admin:
        data["admin"] = True
    return data


def _viewed(view: AppView) -> dict[str, Any]:
    """``_as_dict`` and, for list, show and edit, ``last_used_at``: the Unix time of the last
    token issued to the app (null: never)."""
    return {**_as_dict(view.app), "last_used_at": view.last_used_at}


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
    # A string, not the Platform enum: the service names a bad one in one line (exit 2).
    platform: str = typer.Option(..., "--platform", help="api_services, web, native or spa."),
    redirect_uri: list[str] = typer.Option([], "--redirect-uri", help="Repeat for several."),
    scope: list[str] = typer.Option(
        [], "--scope", help=f"One of {', '.join(_SCOPES)} (and admin for --admin); default all."
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
    admin: bool = typer.Option(
        False,
        "--admin",
        help="An admin app: api_services only; it may have the admin scope (the admin API).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Register an app; a confidential app's secret is printed this once."""
    with opened() as ctx, refused(), ctx.store.transaction():
        view, secret = administration(ctx).create_app(
            CLI,
            name=name,
            platform=platform,
            redirect_uris=redirect_uri,
            scopes=scope,
            grant_types=grant,
            is_admin=admin,
            profile=profile,
        )
    _print(_as_dict(view.app, secret, with_secret=True), as_json)
    if not as_json and secret:
        typer.echo("The client secret is shown only now: store it safely.", err=True)


@app.command("list")
def list_apps(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List the registered apps, oldest first (never their secrets)."""
    with opened() as ctx, refused():
        service = administration(ctx)
        # The service pages newest first; this listing has always been oldest first.
        views = every(lambda offset, limit: service.apps(offset=offset, limit=limit))[::-1]
    if as_json:
        typer.echo(json.dumps([_viewed(v) for v in views]))
        return
    for view in views:
        typer.echo(f"{view.app.client_id}  {view.app.platform.value:12}  {view.app.name}")


@app.command("show")
def show(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show one app (never its secret)."""
    with opened() as ctx, refused():
        view = administration(ctx).app(client_id)
    _print(_viewed(view), as_json)


@app.command("edit")
def edit(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    name: str | None = typer.Option(None, "--name", help="A new name."),
    redirect_uri: list[str] = typer.Option(
        [], "--redirect-uri", help="Replaces every redirect URI; repeat for several."
    ),
    scope: list[str] = typer.Option([], "--scope", help="Replaces the scopes; repeat."),
    grant: list[str] = typer.Option([], "--grant", help="Replaces the grant types; repeat."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Change an app: each option given replaces that setting, the others stay. Tokens already
    issued keep their scope until they expire or are revoked (apps revoke-tokens); a refresh
    issues only the scopes the app still has."""
    if name is None and not (redirect_uri or scope or grant):
        fail("give at least one of --name, --redirect-uri, --scope, --grant", 2)
    with opened() as ctx, refused(), ctx.store.transaction():
        view = administration(ctx).edit_app(
            CLI,
            client_id,
            name=name,
            redirect_uris=redirect_uri or None,
            scopes=scope or None,
            grant_types=grant or None,
        )
    _print(_viewed(view), as_json)


@app.command("rotate-secret")
def rotate(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Give a confidential app a new secret (printed once); the old one stops working."""
    with opened() as ctx, refused(), ctx.store.transaction():
        secret = administration(ctx).rotate_secret(CLI, client_id)
    _print({"client_id": client_id, "client_secret": secret}, as_json)


@app.command("revoke-tokens")
def revoke_tokens(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Revoke every live token of an app, and its unredeemed codes, at once."""
    with opened() as ctx, refused(), ctx.store.transaction():
        count = administration(ctx).revoke_app_tokens(CLI, client_id)
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "revoked": count}))
    else:
        typer.echo(f"revoked {count} token{'' if count == 1 else 's'} of {client_id}")


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
    with opened() as ctx, refused(), ctx.store.transaction():
        view = administration(ctx).set_profile(CLI, client_id, chosen)
    _print(_as_dict(view.app), as_json)


@app.command("delete")
def delete(
    client_id: str = typer.Argument(..., help="The app's client_id."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete an app with its codes, tokens and consents."""
    with opened() as ctx, refused():
        service = administration(ctx)
        found = service.app(client_id).app
        # Asked before the transaction opens: a prompt must not hold the database's writer.
        if not yes and not typer.confirm(f"Delete {found.name} ({client_id}) and its tokens?"):
            fail("not deleted")
        with ctx.store.transaction():
            service.delete_app(CLI, client_id)
    typer.echo(f"deleted {client_id}")
