"""The `ninja-oauth` command: serve, check, apps, users, consents, audit, demo-data, and the
client commands."""

from __future__ import annotations

import sys

import typer

from ninja_oauth.cli import admin_commands, apps, check, client_commands, serve, users
from ninja_oauth.cli.common import fail

app = typer.Typer(
    name="ninja-oauth",
    help="A NinjaOne-compatible OAuth 2.0 authorization server, Public API slice and client.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
serve.register(app)
check.register(app)
client_commands.register(app)
app.add_typer(apps.app, name="apps")
app.add_typer(users.app, name="users")
admin_commands.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        fail(f"{type(exc).__name__}: unexpected error")
