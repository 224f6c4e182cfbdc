"""What the administration reads and changes across tables (``admin/service.py``): app and user
lists with paging, consents with who gave them, the audit log's filters, and the revocations
that must take effect at once (an app's tokens, a user's, a consent's)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.sql.elements import ColumnElement

from ninja_oauth.oauth.domain import App
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.apps import to_app
from ninja_oauth.store.tables import (
    apps,
    audit_events,
    authorization_codes,
    browser_sessions,
    consents,
    tokens,
    users,
)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    email: str
    is_admin: bool
    disabled_at: int | None
    created_at: int


@dataclass(frozen=True, slots=True)
class ConsentRow:
    id: int
    user_id: int
    email: str
    client_id: str
    app_name: str
    scope: str
    granted_at: int


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: int
    event: str
    client_id: str | None
    user_id: int | None
    email: str | None
    actor: str | None
    address: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditFilter:
    kind: str | None = None
    client_id: str | None = None
    user_id: int | None = None
    since: int | None = None
    until: int | None = None
    before_id: int | None = None  # paging: events older than this one


def _like(text: str) -> str:
    """``text`` as a LIKE pattern matching it anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


class SqlAdministration:
    def __init__(self, store: Store) -> None:
        self._store = store

    # -- apps ----------------------------------------------------------------------------

    def app_page(
        self, search: str, offset: int, limit: int
    ) -> tuple[list[tuple[App, int | None]], int]:
        """One page of apps (newest first) matching ``search`` in the name or client id, each
        with its last use, and how many match in all: two statements whatever the page."""
        where: ColumnElement[bool] | None = None
        if search:
            pattern = _like(search)
            where = or_(
                func.lower(apps.c.name).like(pattern, escape="\\"),
                func.lower(apps.c.client_id).like(pattern, escape="\\"),
            )
        rows = select(apps).order_by(apps.c.id.desc()).offset(offset).limit(limit)
        count = select(func.count()).select_from(apps)
        if where is not None:
            rows, count = rows.where(where), count.where(where)
        with self._store.reading() as conn:
            found = [(to_app(r), r.last_used_at) for r in conn.execute(rows)]
            total = int(conn.execute(count).scalar_one())
        return found, total

    def last_used(self, client_ids: Sequence[str]) -> dict[str, int | None]:
        if not client_ids:
            return {}
        with self._store.reading() as conn:
            rows = conn.execute(
                select(apps.c.client_id, apps.c.last_used_at).where(
                    apps.c.client_id.in_(list(client_ids))
                )
            )
            return {r.client_id: r.last_used_at for r in rows}

    def mark_used(self, client_id: str, at: int) -> None:
        """The app was issued a token at ``at`` (never moves back in time)."""
        with self._store.transaction() as conn:
            conn.execute(
                update(apps)
                .where(
                    and_(
                        apps.c.client_id == client_id,
                        or_(apps.c.last_used_at.is_(None), apps.c.last_used_at < at),
                    )
                )
                .values(last_used_at=at)
            )

    # -- revocations that take effect at once -------------------------------------------

    def revoke_tokens(
        self, now: int, *, client_id: str | None = None, user_id: int | None = None
    ) -> int:
        """Revoke every live token of an app, of a user, or of one user for one app, and
        delete their unredeemed codes (which would otherwise still buy a token)."""
        token_where: list[ColumnElement[bool]] = [tokens.c.revoked_at.is_(None)]
        code_where: list[ColumnElement[bool]] = [authorization_codes.c.consumed_at.is_(None)]
        if client_id is not None:
            token_where.append(tokens.c.client_id == client_id)
            code_where.append(authorization_codes.c.client_id == client_id)
        if user_id is not None:
            token_where.append(tokens.c.user_id == user_id)
            code_where.append(authorization_codes.c.user_id == user_id)
        if len(token_where) == 1:
            raise ValueError("revoke_tokens needs an app, a user, or both")
        with self._store.transaction() as conn:
            # On PostgreSQL, in this order. The codes first: a redemption in flight has its
            # code row locked, so this waits for it to commit, and its new token is then
            # visible to the statements below (each a new snapshot, READ COMMITTED). Then lock
            # the tokens, as revoke_family does, so a refresh rotation committing meanwhile is
            # waited for too; the UPDATE after the lock sees the rows it inserted.
            conn.execute(delete(authorization_codes).where(and_(*code_where)))
            conn.execute(select(tokens.c.id).where(and_(*token_where)).with_for_update())
            revoked = conn.execute(update(tokens).where(and_(*token_where)).values(revoked_at=now))
        return int(revoked.rowcount)

    def end_sessions(self, user_id: int) -> int:
        with self._store.transaction() as conn:
            result = conn.execute(
                delete(browser_sessions).where(browser_sessions.c.user_id == user_id)
            )
        return int(result.rowcount)

    # -- users ---------------------------------------------------------------------------

    def user_page(self, search: str, offset: int, limit: int) -> tuple[list[UserRow], int]:
        query = select(
            users.c.id, users.c.email, users.c.is_admin, users.c.disabled_at, users.c.created_at
        ).order_by(users.c.email)
        count = select(func.count()).select_from(users)
        if search:
            where = users.c.email.like(_like(search), escape="\\")
            query, count = query.where(where), count.where(where)
        with self._store.reading() as conn:
            rows = conn.execute(query.offset(offset).limit(limit)).all()
            total = int(conn.execute(count).scalar_one())
        return [_user(r) for r in rows], total

    def user(self, user_id: int) -> UserRow | None:
        with self._store.reading() as conn:
            row = conn.execute(
                select(
                    users.c.id,
                    users.c.email,
                    users.c.is_admin,
                    users.c.disabled_at,
                    users.c.created_at,
                ).where(users.c.id == user_id)
            ).first()
        return _user(row) if row else None

    def user_id_of(self, email: str) -> int | None:
        with self._store.reading() as conn:
            found = conn.execute(
                select(users.c.id).where(users.c.email == email.strip().lower())
            ).scalar()
        return int(found) if found is not None else None

    def set_user(self, user_id: int, **values: Any) -> bool:
        """Change ``disabled_at``, ``is_admin`` or ``password_hash``."""
        with self._store.transaction() as conn:
            result = conn.execute(update(users).where(users.c.id == user_id).values(**values))
        return bool(result.rowcount)

    def admins_enabled_locked(self) -> int:
        """How many enabled administrators there are, their rows locked until the transaction
        ends (PostgreSQL; SQLite serializes writers): two requests demoting two admins at once
        cannot both see the other still there."""
        with self._store.transaction() as conn:
            rows = conn.execute(
                select(users.c.id)
                .where(and_(users.c.is_admin.is_(True), users.c.disabled_at.is_(None)))
                .with_for_update()
            ).all()
        return len(rows)

    # -- consents ------------------------------------------------------------------------

    def consents(
        self,
        *,
        client_id: str | None = None,
        user_id: int | None = None,
        consent_id: int | None = None,
    ) -> list[ConsentRow]:
        query = (
            select(
                consents.c.id,
                consents.c.user_id,
                users.c.email,
                consents.c.client_id,
                apps.c.name.label("app_name"),
                consents.c.scope,
                consents.c.updated_at,
            )
            .join(users, users.c.id == consents.c.user_id)
            .join(apps, apps.c.client_id == consents.c.client_id)
            .where(consents.c.scope != "")
            .order_by(consents.c.updated_at.desc(), consents.c.id.desc())
        )
        if client_id is not None:
            query = query.where(consents.c.client_id == client_id)
        if user_id is not None:
            query = query.where(consents.c.user_id == user_id)
        if consent_id is not None:
            query = query.where(consents.c.id == consent_id)
        with self._store.reading() as conn:
            rows = conn.execute(query.limit(1000)).all()
        return [
            ConsentRow(r.id, r.user_id, r.email, r.client_id, r.app_name, r.scope, r.updated_at)
            for r in rows
        ]

    def consent(self, consent_id: int) -> ConsentRow | None:
        found = self.consents(consent_id=consent_id)
        return found[0] if found else None

    def delete_consent(self, consent_id: int) -> bool:
        with self._store.transaction() as conn:
            result = conn.execute(delete(consents).where(consents.c.id == consent_id))
        return bool(result.rowcount)

    # -- the audit log -------------------------------------------------------------------

    def audit(self, where: AuditFilter, limit: int) -> list[AuditRow]:
        query = (
            select(audit_events, users.c.email)
            .select_from(audit_events.outerjoin(users, users.c.id == audit_events.c.user_id))
            .order_by(audit_events.c.id.desc())
            .limit(limit)
        )
        if where.kind:
            query = query.where(audit_events.c.event == where.kind)
        if where.client_id:
            query = query.where(audit_events.c.client_id == where.client_id)
        if where.user_id is not None:
            query = query.where(audit_events.c.user_id == where.user_id)
        if where.since is not None:
            query = query.where(audit_events.c.at >= where.since)
        if where.until is not None:
            query = query.where(audit_events.c.at < where.until)
        if where.before_id is not None:
            query = query.where(audit_events.c.id < where.before_id)
        with self._store.reading() as conn:
            rows = conn.execute(query).all()
        return [
            AuditRow(
                r.id,
                r.at,
                r.event,
                r.client_id,
                r.user_id,
                r.email,
                r.actor,
                r.address,
                _detail(r.detail),
            )
            for r in rows
        ]

    def audit_kinds(self) -> list[str]:
        with self._store.reading() as conn:
            return [
                r.event
                for r in conn.execute(
                    select(audit_events.c.event).distinct().order_by(audit_events.c.event)
                )
            ]


def _user(row: Any) -> UserRow:
    return UserRow(row.id, row.email, bool(row.is_admin), row.disabled_at, row.created_at)


def _detail(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
