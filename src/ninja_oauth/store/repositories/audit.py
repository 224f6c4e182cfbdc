"""AuditLog: security events (issuance anomalies, revocations, logins), never a secret."""

from __future__ import annotations

import json
import time

from sqlalchemy import insert

from ninja_oauth.store.db import Store
from ninja_oauth.store.tables import audit_events


class SqlAudit:
    def __init__(self, store: Store) -> None:
        self._store = store

    def record(
        self,
        event: str,
        *,
        client_id: str | None = None,
        user_id: int | None = None,
        actor: str | None = None,
        address: str | None = None,
        **detail: object,
    ) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                insert(audit_events).values(
                    at=int(time.time()),
                    event=event,
                    client_id=client_id,
                    user_id=user_id,
                    actor=actor[:320] if actor else None,
                    address=address[:64] if address else None,
                    detail=json.dumps(detail, default=str),
                )
            )
