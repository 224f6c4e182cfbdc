"""`ninja-oauth consents list|revoke` and `ninja-oauth audit`, through the administration
service the console and the admin API use (issue 11)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer

from ninja_oauth.admin.service import CLI, TIME_MAX, audit_json, consent_json
from ninja_oauth.cli.common import administration, fail, opened, print_table, refused, when
from ninja_oauth.store.repositories.administration import AuditFilter

consents = typer.Typer(help="See and revoke the consents users gave apps.", no_args_is_help=True)


@consents.command("list")
def list_consents(
    client_id: str | None = typer.Option(None, "--client-id", help="Only this app's."),
    user: str | None = typer.Option(None, "--user", help="Only this user's (their email)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List the consents, latest first: who allowed which app which scopes."""
    with opened() as ctx, refused():
        service = administration(ctx)
        user_id = service.user_by_email(user).row.id if user is not None else None
        rows = service.consents(client_id=client_id, user_id=user_id)
    if as_json:
        typer.echo(json.dumps([consent_json(r) for r in rows]))
        return
    print_table(
        ["ID", "GRANTED", "USER", "CLIENT_ID", "SCOPES", "APP"],
        [[str(r.id), when(r.granted_at), r.email, r.client_id, r.scope, r.app_name] for r in rows],
    )


@consents.command("revoke")
def revoke_consent(
    consent_id: int = typer.Argument(..., help="The consent's id (consents list)."),
) -> None:
    """Revoke a consent: the tokens and codes it bought stop working at once, and the user is
    asked again next time."""
    with opened() as ctx, refused(), ctx.store.transaction():
        administration(ctx).revoke_consent(CLI, consent_id)
    typer.echo(f"revoked consent {consent_id}")


def _instant(value: str | None, option: str) -> int | None:
    """Unix seconds, or an ISO 8601 date or date and time (UTC unless it says otherwise)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdecimal():  # what int() reads (isdigit() also takes "²", which it does not)
        # Counting digits first: int() refuses a number of over 4300 digits (a ValueError).
        if len(text.lstrip("0")) > len(str(TIME_MAX)) or int(text) > TIME_MAX:
            fail(f"{option}: {value!r} is past the latest Unix time accepted ({TIME_MAX})", 2)
        return int(text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {value!r} is neither an ISO 8601 date and time nor a Unix time", 2)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def _detail(detail: dict[str, object]) -> str:
    parts = []
    for key, value in detail.items():
        shown = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


def audit(
    kind: str | None = typer.Option(None, "--kind", help="Only this event (app_created…)."),
    client_id: str | None = typer.Option(None, "--client-id", help="Only this app's events."),
    user: str | None = typer.Option(None, "--user", help="Only this user's (their email)."),
    since: str | None = typer.Option(
        None, "--since", help="From this time: ISO 8601 (UTC unless given) or Unix seconds."
    ),
    until: str | None = typer.Option(None, "--until", help="Before this time (as --since)."),
    limit: int = typer.Option(100, "--limit", help="At most this many events (1 to 10000)."),
    jsonl: bool = typer.Option(False, "--jsonl", help="One JSON object per line."),
) -> None:
    """Show the audit log, newest first: who changed what, sign-ins, revocations."""
    start, end = _instant(since, "--since"), _instant(until, "--until")
    with opened() as ctx, refused():
        service = administration(ctx)
        user_id = service.user_by_email(user).row.id if user is not None else None
        where = AuditFilter(kind=kind, client_id=client_id, user_id=user_id, since=start, until=end)
        rows = service.audit(where, limit)
    if jsonl:
        for row in rows:
            typer.echo(json.dumps(audit_json(row)))
        return
    print_table(
        ["AT", "KIND", "ACTOR", "ADDRESS", "CLIENT_ID", "USER", "DETAIL"],
        [
            [
                when(r.at),
                r.event,
                r.actor or "-",
                r.address or "-",
                r.client_id or "-",
                r.email or "-",
                _detail(r.detail),
            ]
            for r in rows
        ],
    )


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)
    app.add_typer(consents, name="consents")
