"""ThrottleRepository: failure counters per key, shared by every worker and node."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite

from ninja_oauth.store.db import Store
from ninja_oauth.store.statements import Sql
from ninja_oauth.store.tables import throttle

# The block doubles with each failure past the limit, up to an hour: a guessing loop slows to a
# crawl, while a person who mistyped waits a minute and is never locked out for good.
MAX_BLOCK = 3600


_BLOCKED_UNTIL = Sql("SELECT max(blocked_until) FROM throttle WHERE key IN (:a, :b)")


class SqlThrottle:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._insert: Any = postgresql.insert if store.dialect == "postgresql" else sqlite.insert

    def blocked_for(self, keys: list[str], now: int) -> int:
        # On every token request (one read, nothing written on success): the driver's cursor.
        until = 0
        for first in range(0, len(keys), 2):
            pair = keys[first : first + 2]
            row = self._store.fetchone(_BLOCKED_UNTIL, {"a": pair[0], "b": pair[-1]})
            if row is not None and row[0] is not None:
                until = max(until, int(row[0]))
        return max(0, until - now)

    def record_failure(self, key: str, limit: int, window: int, block: int, now: int) -> int:
        fresh = throttle.c.window_start <= now - window
        stmt = self._insert(throttle).values(key=key, failures=1, window_start=now, blocked_until=0)
        stmt = stmt.on_conflict_do_update(
            index_elements=[throttle.c.key],
            set_={
                "failures": func.coalesce(_case(fresh, 1, throttle.c.failures + 1), 1),
                "window_start": _case(fresh, now, throttle.c.window_start),
            },
        ).returning(throttle.c.failures)
        with self._store.transaction() as conn:
            failures = int(conn.execute(stmt).scalar_one())
            if failures >= limit:
                seconds = min(block * 2 ** min(failures - limit, 12), MAX_BLOCK)
                conn.execute(
                    update(throttle)
                    .where(throttle.c.key == key)
                    .values(blocked_until=now + seconds)
                )
        return failures

    def forget(self, key: str) -> None:
        with self._store.transaction() as conn:
            conn.execute(delete(throttle).where(throttle.c.key == key))

    def forgive_one(self, key: str) -> None:
        with self._store.transaction() as conn:
            conn.execute(
                update(throttle)
                .where(and_(throttle.c.key == key, throttle.c.failures > 0))
                .values(failures=throttle.c.failures - 1)
            )


def _case(cond: Any, then: Any, otherwise: Any) -> Any:
    from sqlalchemy import case

    return case((cond, then), else_=otherwise)
