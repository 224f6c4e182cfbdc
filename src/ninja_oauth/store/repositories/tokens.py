"""TokenRepository: issue, rotate atomically, revoke a family, and look tokens up by digest."""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import and_, select, update

from ninja_oauth.oauth.domain import AccessGrant, NewToken, RefreshRecord, TokenInfo
from ninja_oauth.oauth.ports import AlreadyUsed, Missing, RefreshFamily, Rotated
from ninja_oauth.store.db import Store
from ninja_oauth.store.statements import Sql
from ninja_oauth.store.tables import tokens

# The bearer check's one indexed read.
# What the resource server reads of an access token (``access_grant`` makes the grant of it).
ACCESS_COLUMNS = ("id", "client_id", "user_id", "scope", "access_expires_at")
ACCESS_LOOKUP = Sql(
    f"SELECT {', '.join(ACCESS_COLUMNS)} FROM tokens "  # noqa: S608 (the columns: constants)
    "WHERE access_digest = :digest AND revoked_at IS NULL"
)

_INSERT = Sql(
    "INSERT INTO tokens (access_digest, refresh_digest, client_id, user_id, scope, refresh_scope, "
    "grant_id, grant_type, issued_at, access_expires_at, refresh_expires_at) VALUES "
    "(:access_digest, :refresh_digest, :client_id, :user_id, :scope, :refresh_scope, :grant_id, "
    ":grant_type, :issued_at, :access_expires_at, :refresh_expires_at)",
    appends=True,
)


_FIELDS = tuple(f.name for f in dataclasses.fields(NewToken))


def access_grant(row: Any) -> AccessGrant | None:
    """An ACCESS_LOOKUP row as the resource server's view; None for no row (unknown or revoked).
    Expiry is the caller's to check against its clock."""
    if row is None:
        return None
    token_id, client_id, user_id, scope, expires_at = row
    return AccessGrant(
        token_id=token_id,
        client_id=client_id,
        user_id=user_id,
        scopes=frozenset(scope.split()),
        expires_at=expires_at,
    )


class SqlTokens:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, token: NewToken) -> None:
        self._store.insert(_INSERT, {f: getattr(token, f) for f in _FIELDS})

    def rotate(
        self, refresh_digest: str, client_id: str, now: int
    ) -> Rotated | AlreadyUsed | Missing:
        with self._store.transaction() as conn:
            row = conn.execute(
                update(tokens)
                .where(
                    and_(
                        tokens.c.refresh_digest == refresh_digest,
                        tokens.c.client_id == client_id,
                        tokens.c.refresh_used_at.is_(None),
                        tokens.c.revoked_at.is_(None),
                        tokens.c.refresh_expires_at > now,
                    )
                )
                .values(refresh_used_at=now)
                .returning(
                    tokens.c.client_id, tokens.c.user_id, tokens.c.refresh_scope, tokens.c.grant_id
                )
            ).first()
            if row is not None:
                return Rotated(
                    RefreshRecord(
                        client_id=row.client_id,
                        user_id=row.user_id,
                        scope=row.refresh_scope or "",
                        grant_id=row.grant_id,
                    )
                )
            seen = conn.execute(
                select(tokens.c.grant_id, tokens.c.refresh_used_at).where(
                    and_(tokens.c.refresh_digest == refresh_digest, tokens.c.client_id == client_id)
                )
            ).first()
        if seen is not None and seen.refresh_used_at is not None:
            return AlreadyUsed(grant_id=seen.grant_id, client_id=client_id)
        return Missing()

    def refresh_family(self, refresh_digest: str, client_id: str) -> RefreshFamily | None:
        with self._store.reading() as conn:
            row = conn.execute(
                select(tokens.c.refresh_scope, tokens.c.refresh_used_at).where(
                    and_(tokens.c.refresh_digest == refresh_digest, tokens.c.client_id == client_id)
                )
            ).first()
        if row is None or row.refresh_scope is None:
            return None
        return RefreshFamily(str(row.refresh_scope), row.refresh_used_at is not None)

    def revoke_family(self, client_id: str, grant_id: str, now: int) -> int:
        """Revoke every token of a family (of app ``client_id``: a family is one app's, and the
        app leads the index that finds it), including one a concurrent rotation is inserting.

        On PostgreSQL an UPDATE that waits on a row lock re-checks only the rows of its first
        snapshot, so a token inserted by the rotation it waited for would escape. Locking the
        family first waits for that rotation to commit; the UPDATE that follows is a new
        statement with a new snapshot (READ COMMITTED) and sees the new token. (SQLite
        serializes writers, and renders no FOR UPDATE.)"""
        with self._store.transaction() as conn:
            family = and_(tokens.c.client_id == client_id, tokens.c.grant_id == grant_id)
            conn.execute(select(tokens.c.id).where(family).with_for_update())
            result = conn.execute(
                update(tokens)
                .where(and_(family, tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
        return int(result.rowcount)

    def find_access(self, access_digest: str) -> AccessGrant | None:
        return access_grant(self._store.fetchone(ACCESS_LOOKUP, {"digest": access_digest}))

    def find(
        self, access_digest: str, refresh_digest: str, now: int, hint: str | None
    ) -> TokenInfo | None:
        # RFC 7009 §2.1 / RFC 7662 §2.1: the hint orders the search, it does not limit it.
        order = (
            ["refresh_token", "access_token"]
            if hint == "refresh_token"
            else [
                "access_token",
                "refresh_token",
            ]
        )
        with self._store.reading() as conn:
            for kind in order:
                column = (
                    tokens.c.access_digest if kind == "access_token" else tokens.c.refresh_digest
                )
                digest = access_digest if kind == "access_token" else refresh_digest
                row = conn.execute(select(tokens).where(column == digest)).first()
                if row is not None:
                    return _info(row, kind, now)
        return None

    def revoke(self, info: TokenInfo, now: int) -> None:
        if info.kind == "refresh_token":
            # RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of the
            # same grant.
            self.revoke_family(info.client_id, info.grant_id, now)
            return
        with self._store.transaction() as conn:
            conn.execute(
                update(tokens)
                .where(and_(tokens.c.id == info.token_id, tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )


def _info(row: Any, kind: str, now: int) -> TokenInfo:
    if kind == "access_token":
        expires = row.access_expires_at
        active = row.revoked_at is None and expires > now
        scope = row.scope
    else:
        expires = row.refresh_expires_at or 0
        active = row.revoked_at is None and row.refresh_used_at is None and expires > now
        scope = row.refresh_scope or row.scope
    return TokenInfo(
        token_id=row.id,
        kind=kind,
        client_id=row.client_id,
        user_id=row.user_id,
        scope=scope,
        grant_id=row.grant_id,
        issued_at=row.issued_at,
        expires_at=expires,
        active=active,
    )
