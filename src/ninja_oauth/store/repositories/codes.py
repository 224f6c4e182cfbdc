"""CodeRepository: ``consume`` is one ``UPDATE … WHERE consumed_at IS NULL RETURNING`` (STYLE §4),
so two requests (or two nodes) can never both redeem a code."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import and_, insert, select, update

from ninja_oauth.oauth.domain import AuthorizationCode
from ninja_oauth.oauth.ports import AlreadyUsed, Consumed, Missing
from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import authorization_codes as codes

_CODE_COLUMNS = (
    codes.c.client_id,
    codes.c.user_id,
    codes.c.redirect_uri,
    codes.c.scope,
    codes.c.grant_id,
    codes.c.expires_at,
    codes.c.code_challenge,
    codes.c.code_challenge_method,
)


def _code(row: Any) -> AuthorizationCode:
    return AuthorizationCode(
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        scope=row.scope,
        grant_id=row.grant_id,
        expires_at=row.expires_at,
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
    )


class SqlCodes:
    def __init__(self, store: Store) -> None:
        self._store = store

    def save(self, code_digest: str, code: AuthorizationCode) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                insert(codes).values(
                    code_digest=code_digest,
                    client_id=code.client_id,
                    user_id=code.user_id,
                    redirect_uri=code.redirect_uri,
                    scope=code.scope,
                    code_challenge=code.code_challenge,
                    code_challenge_method=code.code_challenge_method,
                    grant_id=code.grant_id,
                    expires_at=code.expires_at,
                    created_at=int(time.time()),
                )
            )

    def peek(self, code_digest: str, client_id: str) -> Consumed | AlreadyUsed | Missing:
        with self._store.reading() as conn:
            row = conn.execute(
                select(*_CODE_COLUMNS, codes.c.consumed_at).where(
                    and_(codes.c.code_digest == code_digest, codes.c.client_id == client_id)
                )
            ).first()
        if row is None:
            return Missing()
        if row.consumed_at is not None:
            return AlreadyUsed(grant_id=row.grant_id, client_id=client_id, code=_code(row))
        return Consumed(_code(row))

    def consume(
        self, code_digest: str, client_id: str, now: int
    ) -> Consumed | AlreadyUsed | Missing:
        with self._store.transaction() as conn:
            row = conn.execute(
                update(codes)
                .where(
                    and_(
                        codes.c.code_digest == code_digest,
                        codes.c.client_id == client_id,
                        codes.c.consumed_at.is_(None),
                    )
                )
                .values(consumed_at=now)
                .returning(*_CODE_COLUMNS)
            ).first()
            if row is not None:
                return Consumed(_code(row))
            used = conn.execute(
                select(codes.c.grant_id).where(
                    and_(codes.c.code_digest == code_digest, codes.c.client_id == client_id)
                )
            ).first()
        if used is not None:
            return AlreadyUsed(grant_id=used.grant_id, client_id=client_id)
        return Missing()
