"""ThrottleRepository: failure counters per key, shared by every worker and node.

Besides the counters, the table holds the *passes* of ``oauth/throttling.py``: the row of a
(client, address) pair that proved the client's secret, keyed ``client-pass:…``, with
``window_start`` the time of that proof and ``blocked_until`` the end of the pass (so that
``purge_expired``, which keeps a row a window past its ``blocked_until``, keeps it till then).
A pass key is never read as a block.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, update
from sqlalchemy.dialects import postgresql, sqlite

from ninja_oauth.oauth.ports import ClientBlocks, Counted
from ninja_oauth.store.db import Store
from ninja_oauth.store.statements import Sql
from ninja_oauth.store.tables import throttle

# The block doubles with each failure past the limit, up to an hour: a guessing loop slows to a
# crawl, while a person who mistyped waits a minute and is never locked out for good.
MAX_BLOCK = 3600


_BLOCKED_UNTIL = Sql("SELECT max(blocked_until) FROM throttle WHERE key IN (:a, :b)")

# A client authentication's blocks and pass (ClientBlocks, in its order), in one indexed read
# that returns one row whatever exists: :a the (client, address) key, :b the address, :p the
# pair's pass. Also the first columns of the token endpoint's read (repositories/apps.py).
BLOCKS_SELECT = (
    "SELECT max(CASE WHEN key = :a THEN blocked_until END) AS key_until, "
    "max(CASE WHEN key = :b THEN blocked_until END) AS address_until, "
    "max(CASE WHEN key = :p THEN window_start END) AS passed_at, "
    "max(CASE WHEN key = :p THEN blocked_until END) AS pass_until "
    "FROM throttle WHERE key IN (:a, :b, :p)"
)
_BLOCKS = Sql(BLOCKS_SELECT)

# A new pass or a renewed one: nothing the request's answer depends on, so on SQLite it may join
# the group commit with the request's token row.
_GRANT_PASS = Sql(
    "INSERT INTO throttle (key, failures, window_start, blocked_until) "
    "VALUES (:key, 0, :now, :until) ON CONFLICT (key) DO UPDATE SET "
    "failures = 0, window_start = excluded.window_start, blocked_until = excluded.blocked_until"
)


def client_blocks(row: Any) -> ClientBlocks:
    """The ClientBlocks of a BLOCKS_SELECT row (NULL: no such row)."""
    key_until, address_until, passed_at, pass_until = (int(x or 0) for x in row)
    return ClientBlocks(key_until, address_until, passed_at, pass_until)


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

    def client_blocks(self, block_keys: tuple[str, str], pass_key: str) -> ClientBlocks:
        first, second = block_keys
        return client_blocks(
            self._store.fetchone(_BLOCKS, {"a": first, "b": second, "p": pass_key})
        )

    def grant_pass(self, pass_key: str, now: int, until: int) -> None:
        self._store.insert(_GRANT_PASS, {"key": pass_key, "now": now, "until": until})

    def record_failure(self, key: str, limit: int, window: int, block: int, now: int) -> int:
        return self.record_attempt(key, limit, window, block, now).failures

    def record_attempt(self, key: str, limit: int, window: int, block: int, now: int) -> Counted:
        # A count starts over a window after its first failure, but not while its last block
        # ended less than a window ago: then it carries on, so the next block doubles (a
        # guesser who retries as each block ends crawls up to MAX_BLOCK).
        fresh = and_(
            throttle.c.window_start <= now - window, throttle.c.blocked_until <= now - window
        )
        stmt = self._insert(throttle).values(key=key, failures=1, window_start=now, blocked_until=0)
        stmt = stmt.on_conflict_do_update(
            index_elements=[throttle.c.key],
            set_={
                "failures": func.coalesce(_case(fresh, 1, throttle.c.failures + 1), 1),
                "window_start": _case(fresh, now, throttle.c.window_start),
            },
        ).returning(throttle.c.failures, throttle.c.blocked_until)  # the block: left as it was
        with self._store.transaction() as conn:
            failures, before = conn.execute(stmt).one()
            until = before = int(before)
            if failures >= limit:
                until = now + min(block * 2 ** min(failures - limit, 12), MAX_BLOCK)
                conn.execute(
                    update(throttle).where(throttle.c.key == key).values(blocked_until=until)
                )
        return Counted(int(failures), before, until)

    def forget(self, key: str) -> None:
        with self._store.transaction() as conn:
            conn.execute(delete(throttle).where(throttle.c.key == key))

    def forgive_one(self, key: str, attempt: Counted | None = None) -> None:
        values: dict[str, Any] = {"failures": throttle.c.failures - 1}
        if attempt is not None and attempt.blocked_until != attempt.blocked_before:
            # The block this attempt set, unless another failure has set the key's since.
            values["blocked_until"] = _case(
                throttle.c.blocked_until == attempt.blocked_until,
                attempt.blocked_before,
                throttle.c.blocked_until,
            )
        with self._store.transaction() as conn:
            conn.execute(
                update(throttle)
                .where(and_(throttle.c.key == key, throttle.c.failures > 0))
                .values(**values)
            )


def _case(cond: Any, then: Any, otherwise: Any) -> Any:
    from sqlalchemy import case

    return case((cond, then), else_=otherwise)
