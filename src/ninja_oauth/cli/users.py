"""`ninja-oauth users create`."""

from __future__ import annotations

import sys

import typer

from ninja_oauth.cli.common import fail, opened
from ninja_oauth.passwords import MIN_PASSWORD_LENGTH, hash_password

app = typer.Typer(help="Manage the users who log in and consent.", no_args_is_help=True)


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
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        fail("give --password or --password-stdin", 2)
    if len(password) < MIN_PASSWORD_LENGTH:
        fail(f"the password must have at least {MIN_PASSWORD_LENGTH} characters", 2)
    if "@" not in email or len(email) > 320:
        fail(f"{email!r} is not an email address", 2)
    with opened() as ctx, ctx.store.transaction():
        if ctx.repos.users.find_by_email(email) is not None:
            fail(f"a user with the email {email.strip().lower()!r} already exists")
        user = ctx.repos.users.add(email, hash_password(password), admin)
    typer.echo(f"created user {user.email} (id {user.id}{', admin' if admin else ''})")
