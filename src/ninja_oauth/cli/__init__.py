"""The `ninja-oauth` command: serve, check, apps, users, consents, audit, demo-data, and the
client commands (``commands.py`` puts them in one app).

The client commands (token, login, logout, api) are what scripts run, often once per call, so
``main`` gives them an app of their own: it loads the client and none of the server's modules
(SQLAlchemy, Authlib, the store, the admin service), which took most of their start-up time.
"""

from __future__ import annotations

import sys

import typer


def new_app() -> typer.Typer:
    """The top-level app, without its commands."""
    return typer.Typer(
        name="ninja-oauth",
        help="A NinjaOne-compatible OAuth 2.0 authorization server, Public API slice and client.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def _app_for(argv: list[str]) -> typer.Typer:
    from ninja_oauth.cli import client_commands

    if argv and argv[0] in client_commands.COMMANDS:
        app = new_app()
        client_commands.register(app)
        return app
    from ninja_oauth.cli.commands import app as every_command

    return every_command


def main() -> None:
    argv = sys.argv[1:]
    if sys.stdout is None:  # started with it closed: what a command prints would be lost
        typer.echo("ninja-oauth: standard output is closed", err=True)
        sys.exit(1)
    try:
        command = typer.main.get_command(_app_for(argv))
        # Not standalone: a usage error (a missing argument, a bad value) comes back here to
        # be said in one line, not in the usage text and a box that Typer prints.
        status = command.main(args=argv, prog_name="ninja-oauth", standalone_mode=False)
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except Exception as exc:
        said = getattr(exc, "format_message", None)
        if callable(said) and isinstance(getattr(exc, "exit_code", None), int):
            # Click's errors (a usage error exits 2), which Typer raises from the Click it
            # ships: known by what they offer, whichever module defines them.
            message = said()
            if message:  # none after the help that a command without arguments prints
                typer.echo(f"ninja-oauth: {message}", err=True)
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        # The last line of defence: one line, never a traceback. Not common.fail: importing
        # common would load the server's code for every command.
        typer.echo(f"ninja-oauth: {type(exc).__name__}: unexpected error", err=True)
        sys.exit(1)
    sys.exit(status if isinstance(status, int) else 0)
