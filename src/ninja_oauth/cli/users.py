"""`ninja-oauth users create|list|disable|enable|grant-admin|revoke-admin|reset-password|
revoke-tokens`, through the administration service (audited as by ``cli``). A user is named by
their email."""

from __future__ import annotations

import json
import sys

import typer

from ninja_oauth.admin.service import (
    CLI,
    Administration,
    Conflict,
    NewPassword,
    UserView,
    checked_email,
    new_password,
)
from ninja_oauth.cli.common import administration, every, fail, opened, print_table, refused, when

app = typer.Typer(help="Manage the users who log in and consent.", no_args_is_help=True)

_EMAIL = typer.Argument(..., help="The user's email (the login name).")
_JSON = typer.Option(False, "--json", help="Print the user as one JSON object.")


def _password(password: str | None, from_stdin: bool) -> NewPassword:
    """The new password checked and hashed, before any transaction (argon2 is slow)."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("give --password or --password-stdin", 2)
    with refused():
        return new_password(password)


def _named(user: UserView) -> str:
    return f"{user.row.email} (id {user.row.id})"


@app.command("create")
def create(
    email: str = typer.Option(..., "--email", help="The user's email (the login name)."),
    password: str | None = typer.Option(
        None, "--password", help="The password (or --password-stdin)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
    admin: bool = typer.Option(False, "--admin", help="Make the user an administrator."),
) -> None:
    """Create a user."""
    with refused():
        email = checked_email(email)
    hashed = _password(password, password_stdin)
    with opened() as ctx, refused():
        try:
            with ctx.store.transaction():
                user = administration(ctx).create_user(CLI, email, hashed, admin)
        except Conflict:
            # This command's message (and exit 1) predate the service's: scripts match it.
            fail(f"a user with the email {email!r} already exists")
    typer.echo(f"created user {user.row.email} (id {user.row.id}{', admin' if admin else ''})")


@app.command("list")
def list_users(as_json: bool = typer.Option(False, "--json", help="Print a JSON array.")) -> None:
    """List the users by email: id, email, admin, disabled, created_at."""
    with opened() as ctx, refused():
        service = administration(ctx)
        users = every(lambda offset, limit: service.users(offset=offset, limit=limit))
    if as_json:
        typer.echo(json.dumps([u.as_json() for u in users]))
        return
    print_table(
        ["ID", "EMAIL", "ROLE", "STATUS", "CREATED"],
        [
            [
                str(u.row.id),
                u.row.email,
                "admin" if u.row.is_admin else "user",
                "disabled" if u.disabled else "enabled",
                when(u.row.created_at),
            ]
            for u in users
        ],
    )


def _change(
    email: str,
    as_json: bool,
    said: str,
    *,
    disabled: bool | None = None,
    admin: bool | None = None,
    password: NewPassword | None = None,
) -> None:
    with opened() as ctx, refused(), ctx.store.transaction():
        service: Administration = administration(ctx)
        user = service.user_by_email(email)
        changed = service.change_user(
            CLI, user.row.id, disabled=disabled, admin=admin, password=password
        )
    if as_json:
        typer.echo(json.dumps(changed.as_json()))
    else:
        typer.echo(said.format(user=_named(changed)))


@app.command("disable")
def disable(email: str = _EMAIL, as_json: bool = _JSON) -> None:
    """Disable a user: they cannot log in, their tokens are revoked and sessions ended."""
    _change(email, as_json, "disabled user {user}", disabled=True)


@app.command("enable")
def enable(email: str = _EMAIL, as_json: bool = _JSON) -> None:
    """Enable a disabled user again (their revoked tokens stay revoked)."""
    _change(email, as_json, "enabled user {user}", disabled=False)


@app.command("grant-admin")
def grant_admin(email: str = _EMAIL, as_json: bool = _JSON) -> None:
    """Make a user an administrator (the console)."""
    _change(email, as_json, "{user} is now an administrator", admin=True)


@app.command("revoke-admin")
def revoke_admin(email: str = _EMAIL, as_json: bool = _JSON) -> None:
    """Make an administrator a plain user again; the last enabled administrator stays one."""
    _change(email, as_json, "{user} is no longer an administrator", admin=False)


@app.command("reset-password")
def reset_password(
    email: str = _EMAIL,
    password: str | None = typer.Option(
        None, "--password", help="The new password (or --password-stdin)."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from stdin."
    ),
    as_json: bool = _JSON,
) -> None:
    """Set a user's password; the sessions signed in with the old one end."""
    hashed = _password(password, password_stdin)
    _change(email, as_json, "reset the password of {user}", password=hashed)


@app.command("revoke-tokens")
def revoke_tokens(
    email: str = _EMAIL,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Revoke every live token of a user, for every app, and their unredeemed codes."""
    with opened() as ctx, refused(), ctx.store.transaction():
        service = administration(ctx)
        user = service.user_by_email(email)
        count = service.revoke_user_tokens(CLI, user.row.id)
    if as_json:
        typer.echo(json.dumps({"user": user.row.email, "user_id": user.row.id, "revoked": count}))
    else:
        typer.echo(f"revoked {count} token{'' if count == 1 else 's'} of {_named(user)}")
