"""Administration → Audit log: the events newest first, filtered by kind, app, user and date,
paged by the id of the oldest event shown; and the same events as JSON lines to download."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.admin.service import audit_json
from ninja_oauth.store.repositories.administration import AuditFilter
from ninja_oauth.web.console.common import NO_STORE, Session, admin_session, as_int

PAGE = 100
EXPORT_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class Filters:
    """The audit log's filters as the form sent them, and what they mean."""

    kind: str
    client_id: str
    user: str
    since: str
    until: str
    errors: dict[str, str]

    @classmethod
    def of(cls, request: Request) -> Filters:
        q = request.query_params
        errors: dict[str, str] = {}
        since, until = q.get("since", "").strip(), q.get("until", "").strip()
        for name, value in (("since", since), ("until", until)):
            if value and _day(value) is None:
                errors[name] = f"{value[:20]!r} is not a date (YYYY-MM-DD)."
        return cls(
            q.get("kind", "").strip()[:100],
            q.get("client_id", "").strip()[:200],
            q.get("user", "").strip()[:320],
            since[:10] if "since" not in errors else "",
            until[:10] if "until" not in errors else "",
            errors,
        )

    def query(self, **extra: object) -> str:
        pairs = {
            k: v
            for k, v in (
                ("kind", self.kind),
                ("client_id", self.client_id),
                ("user", self.user),
                ("since", self.since),
                ("until", self.until),
            )
            if v
        }
        return urlencode({**pairs, **{k: str(v) for k, v in extra.items()}})

    async def where(self, session: Session, before_id: int | None) -> AuditFilter | None:
        """The store's filter; None when the user named is nobody (so nothing matches)."""
        user_id: int | None = None
        if self.user:
            user_id = await session.read(partial(session.ctx.admin.admin.user_id_of, self.user))
            if user_id is None:
                return None
        since, until = _day(self.since), _day(self.until)
        return AuditFilter(
            kind=self.kind or None,
            client_id=self.client_id or None,
            user_id=user_id,
            since=since,
            # "until" names the last day shown, whole.
            until=until + 86_400 if until is not None else None,
            before_id=before_id,
        )


def _day(value: str) -> int | None:
    """Midnight UTC of a YYYY-MM-DD day, as a Unix time."""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def detail_text(detail: dict[str, object]) -> str:
    """An event's detail as compact text: ``name=value`` pairs, lists joined by commas, a
    value with a space or a quote in JSON quotes (so pairs never run together)."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, list):
            shown = ",".join(str(v) for v in value)
        elif isinstance(value, bool):
            shown = "yes" if value else "no"
        elif value is None:
            shown = "—"
        else:
            shown = str(value)
        if not shown or any(c.isspace() or c in '"=' for c in shown):
            shown = json.dumps(shown, ensure_ascii=False)
        parts.append(f"{key}={shown}")
    return " ".join(parts)


async def audit_page(request: Request) -> Response:
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    filters = Filters.of(request)
    before = as_int(request.query_params.get("before")) or None
    where = await filters.where(session, before)
    admin = session.ctx.admin
    rows = [] if where is None else await session.read(partial(admin.audit, where, PAGE + 1))
    kinds = await session.read(admin.admin.audit_kinds)
    older = filters.query(before=rows[PAGE - 1].id) if len(rows) > PAGE else None
    return session.render(
        "console/audit.html",
        {
            "rows": rows[:PAGE],
            "filters": filters,
            "kinds": kinds,
            "unknown_user": where is None,
            "detail_text": detail_text,
            "older": "/admin/audit?" + older if older is not None else None,
            "newest": "/admin/audit?" + filters.query() if before else None,
            "export": "/admin/audit.jsonl?" + filters.query(),
        },
        400 if filters.errors else 200,
    )


async def audit_export(request: Request) -> Response:
    """The filtered events as JSON lines (``audit_json``), newest first, as a download."""
    session = await admin_session(request)
    if isinstance(session, Response):
        return session
    filters = Filters.of(request)
    where = await filters.where(session, as_int(request.query_params.get("before")) or None)
    rows = (
        []
        if where is None
        else await session.read(partial(session.ctx.admin.audit, where, EXPORT_LIMIT))
    )
    body = "".join(json.dumps(audit_json(r), separators=(",", ":")) + "\n" for r in rows)
    return Response(
        body,
        media_type="application/x-ndjson",
        headers={
            **NO_STORE,
            "Content-Disposition": 'attachment; filename="ninja-oauth-audit.jsonl"',
        },
    )
