"""`ninja-oauth check`: what departs from RFC 9700 or a safe deployment (issue 12), in the
manner of Django's `check --deploy`. The findings are deployment_checks.py's; this module reads
the facts (the store through its repositories, the files' modes) and prints."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import typer
from sqlalchemy.exc import SQLAlchemyError

from ninja_oauth.cli.common import Context, fail, load, opened
from ninja_oauth.cli.deployment_checks import (
    ExposedFile,
    Facts,
    Finding,
    demo_admin_password,
    exposed_file,
    findings,
    is_demo_client_id,
)
from ninja_oauth.passwords import verify_password
from ninja_oauth.store.demo import DEMO_ADMIN_EMAIL
from ninja_oauth.store.engine import sqlite_file

_WIDTH = 92


def _files(ctx: Context) -> tuple[Path | None, tuple[ExposedFile, ...]]:
    """The key file in force (if the key came from one) and the files others may reach."""
    database = sqlite_file(ctx.settings.url)
    if database is None:
        return None, ()
    key_path = database.parent / "secret-key"
    try:
        key_file = (
            key_path if key_path.read_text().strip().encode() == ctx.settings.key_bytes else None
        )
    except OSError:
        key_file = None
    exposed = [exposed_file("database", database)]
    if exposed[0] is None:  # its WAL takes its mode when made; the mode may have changed since
        exposed.append(exposed_file("database WAL", Path(f"{database}-wal")))
    if key_file is not None:
        exposed.append(exposed_file("secret key file", key_file))
    return key_file, tuple(e for e in exposed if e is not None)


def _facts(ctx: Context) -> Facts:
    apps = tuple(ctx.repos.apps.list())
    admin = ctx.repos.users.find_by_email(DEMO_ADMIN_EMAIL)
    key_file, exposed = _files(ctx)
    return Facts(
        apps=apps,
        demo_admin=admin is not None,
        demo_admin_password_derived=admin is not None
        and verify_password(admin[1], demo_admin_password(ctx.hasher)),
        demo_apps=tuple(a.client_id for a in apps if is_demo_client_id(a.client_id)),
        exposed_files=exposed,
        key_file=key_file,
        pgsslmode=os.environ.get("PGSSLMODE") or None,
    )


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(
        text,
        _WIDTH,
        initial_indent=f"  {label}: ",
        subsequent_indent=" " * (len(label) + 4),
        break_long_words=False,
        break_on_hyphens=False,
    )


def _print(found: list[Finding], strict: bool) -> None:
    if not found:
        typer.echo("No findings: nothing checked departs from RFC 9700 or a safe deployment.")
        return
    for finding in found:
        typer.echo(
            textwrap.fill(
                f"[{finding.id}] {finding.on}",
                _WIDTH,
                subsequent_indent="  ",
                break_long_words=False,
                break_on_hyphens=False,
            )
        )
        typer.echo(_wrap("why", finding.why))
        typer.echo(f"  fix: {finding.fix}")  # one line: commands stay whole for copying
        typer.echo("")
    count = f"{len(found)} finding{'s' if len(found) != 1 else ''}"
    typer.echo(f"{count}." if strict else f"{count} (with --strict, check exits 1 on any).")


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        strict: bool = typer.Option(
            False, "--strict", help="Exit 1 if there is any finding (for deploy scripts and CI)."
        ),
    ) -> None:
        """Report the settings and data in force that depart from RFC 9700 (OAuth 2.0 Security
        BCP) or from a safe deployment, each with its reason and its fix. Run it with the
        NINJA_OAUTH_* environment the server runs with."""
        settings = load()
        with opened(settings) as ctx:
            try:
                facts = _facts(ctx)
            except SQLAlchemyError as exc:
                fail(f"cannot read the database ({type(exc).__name__})")
        found = findings(settings, facts)
        _print(found, strict)
        if strict and found:
            raise typer.Exit(1)
