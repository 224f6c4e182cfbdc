"""TokenRepository: issue, rotate atomically, revoke a family, and look tokens up by digest."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from ninja_oauth.oauth.domain import AccessGrant, NewToken, RefreshRecord, TokenInfo
from ninja_oauth.oauth.ports import AlreadyUsed, Missing, Rotated
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import tokens

_ACCESS_LOOKUP = select(
    tokens.c.id,
    tokens.c.client_id,
    tokens.c.user_id,
    tokens.c.scope,
    tokens.c.access_expires_at,
    tokens.c.revoked_at,
)


def lookup_access(conn: Connection, access_digest: str) -> AccessGrant | None:
    """The bearer check's one indexed read; a revoked token is None, expiry is the caller's."""
    row = conn.execute(_ACCESS_LOOKUP.where(tokens.c.access_digest == access_digest)).first()
    if row is None or row.revoked_at is not None:
        return None
    return AccessGrant(
        token_id=row.id,
        client_id=row.client_id,
        user_id=row.user_id,
        scopes=frozenset(row.scope.split()),
        expires_at=row.access_expires_at,
    )


class SqlTokens:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, token: NewToken) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                insert(tokens).values(
                    access_digest=token.access_digest,
                    refresh_digest=token.refresh_digest,
                    client_id=token.client_id,
                    user_id=token.user_id,
                    scope=token.scope,
                    refresh_scope=token.refresh_scope,
                    grant_id=token.grant_id,
                    grant_type=token.grant_type,
                    issued_at=token.issued_at,
                    access_expires_at=token.access_expires_at,
                    refresh_expires_at=token.refresh_expires_at,
                )
            )

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

    def refresh_scope(self, refresh_digest: str, client_id: str) -> str | None:
        with self._store.reading() as conn:
            scope = conn.execute(
                select(tokens.c.refresh_scope).where(
                    and_(tokens.c.refresh_digest == refresh_digest, tokens.c.client_id == client_id)
                )
            ).scalar()
        return str(scope) if scope is not None else None

    def revoke_family(self, grant_id: str, now: int) -> int:
        with self._store.transaction() as conn:
            result = conn.execute(
                update(tokens)
                .where(and_(tokens.c.grant_id == grant_id, tokens.c.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
        return int(result.rowcount)

    def find_access(self, access_digest: str) -> AccessGrant | None:
        with self._store.reading() as conn:
            return lookup_access(conn, access_digest)

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
            self.revoke_family(info.grant_id, now)
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
