"""The Public API's writes: each runs on the store's writer path as one transaction.

A service checks the request against the stored state (raising ``ApiError`` subclasses), writes,
and records what happened as an activity naming the app and user behind the token (issue 4,
item 3). An exception anywhere rolls the whole transaction back.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection

from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.store.public_api import activities as activity_sql


def now() -> int:
    return int(time.time())


def record(
    conn: Connection,
    who: AccessGrant,
    *,
    activity_type: str,
    status_code: str,
    status: str,
    message: str,
    device_id: int | None = None,
    source_name: str | None = None,
    data: dict[str, Any] | None = None,
) -> int:
    """Append one activity; status codes are values of the spec's Activity.statusCode enum."""
    return activity_sql.insert_activity(
        conn,
        {
            "activity_time": now(),
            "device_id": device_id,
            "activity_type": activity_type,
            "status_code": status_code,
            "status": status,
            "activity_result": "SUCCESS",
            "severity": "NONE",
            "priority": "NONE",
            "source_name": source_name,
            "subject": None,
            "message": message,
            "user_id": who.user_id,
            "client_id": who.client_id,
            "data": data or {},
        },
    )
