"""The rows a worker keeps on PostgreSQL (store/pg_changes.py, migration 0011): served without a
round trip until a change of a table they depend on is notified, whoever makes it.

What proves that a row is kept: a change made with the triggers off (``session_replication_role
= replica``, so nothing is notified) is not seen; one made normally is, once its notification
has arrived (a propagation delay, RFC 7009 §2.2: the checks poll for it, for at most a few
seconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store import pg_changes
from ninja_oauth.store.db import Store
from ninja_oauth.store.pg_changes import CHANNEL, LEASE, PROBE_EVERY, KeptRows
from ninja_oauth.store.pg_reads import conninfo
from ninja_oauth.store.repositories.versions import access_async, access_with_versions_async
from tests.store.conftest import new_token

SCOPE = 3  # the scope's place in the bearer check's row (repositories/tokens.ACCESS_COLUMNS)
SCOPE_GIVEN = "monitoring"  # the scope of the ``digest`` fixture's token
WAIT = 5.0  # the most a notification, or a listener's return, may take here


@pytest.fixture(scope="module")
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: the conftest's ``store`` and ``repos`` open it."""
    return pg_database_url


def _sql(url: str, statement: str, *args: Any, quietly: bool = False) -> None:
    """Run ``statement`` on a connection of its own; ``quietly``, with the triggers off."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        if quietly:
            conn.execute("SET session_replication_role = replica")
        conn.execute(statement, args)


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        assert time.monotonic() < deadline, f"never {what}"
        await asyncio.sleep(0.05)


async def _scope(store: Store, digest: str) -> str | None:
    row = await access_async(store, digest)
    return None if row is None else str(row[SCOPE])


async def _until_refused(store: Store, digest: str) -> None:
    async def refused() -> bool:
        return await access_async(store, digest) is None

    await _until(refused, "refused")


async def _until_kept(store: Store, url: str, digest: str) -> None:
    """Read the token until the loop keeps its row: a quiet change of its scope is then not
    seen. (A read that saw the quiet scope may have kept it: a notification drops it.)"""

    async def kept() -> bool:
        await _scope(store, digest)
        _sql(
            url, "UPDATE tokens SET scope = 'quiet' WHERE access_digest = %s", digest, quietly=True
        )
        seen = await _scope(store, digest)
        _sql(
            url,
            "UPDATE tokens SET scope = %s WHERE access_digest = %s",
            SCOPE_GIVEN,
            digest,
            quietly=True,
        )
        if seen == SCOPE_GIVEN:
            return True
        _sql(url, f"NOTIFY {CHANNEL}, 'tokens'")
        return False

    await _until(kept, "kept")


@pytest.fixture
def digest(repos: Repositories, app: App) -> str:
    """A live access token's digest, its scope 'monitoring'."""
    token = new_token(app)
    repos.tokens.save(token)
    return token.access_digest


def test_a_kept_token_is_refused_once_its_revocation_is_notified(
    store: Store, database_url: str, digest: str
) -> None:
    async def scenario() -> None:
        await _until_kept(store, database_url, digest)
        _sql(database_url, "UPDATE tokens SET revoked_at = 1 WHERE access_digest = %s", digest)
        await _until_refused(store, digest)

    asyncio.run(scenario())


def test_a_refresh_rotation_notifies_nothing_and_a_deletion_does(
    store: Store, database_url: str, digest: str
) -> None:
    async def scenario() -> None:
        await _until_kept(store, database_url, digest)
        # Marking the refresh token used changes nothing a bearer check reads: still kept.
        _sql(database_url, "UPDATE tokens SET refresh_used_at = 1 WHERE access_digest = %s", digest)
        await asyncio.sleep(0.3)
        _sql(
            database_url,
            "UPDATE tokens SET scope = 'quiet' WHERE access_digest = %s",
            digest,
            quietly=True,
        )
        assert await _scope(store, digest) == "monitoring"
        _sql(database_url, "DELETE FROM tokens WHERE access_digest = %s", digest)
        await _until_refused(store, digest)

    asyncio.run(scenario())


def test_a_table_version_moved_by_another_writer_is_read_anew(
    store: Store, database_url: str, digest: str
) -> None:
    async def version() -> int:
        _, (number,) = await access_with_versions_async(store, digest, ("organizations",))
        return number

    async def scenario() -> None:
        await _until_kept(store, database_url, digest)
        before = await version()
        # As the triggers of any write to organizations do (migration 0004).
        _sql(
            database_url,
            "UPDATE data_versions SET version = version + 1 WHERE name = 'organizations'",
        )

        async def moved() -> bool:
            return await version() > before

        await _until(moved, "moved")

    asyncio.run(scenario())


def test_a_write_the_loop_commits_drops_what_it_kept_before_it_answers(
    store: Store, database_url: str, digest: str
) -> None:
    async def scenario() -> None:
        await _until_kept(store, database_url, digest)
        _sql(
            database_url,
            "UPDATE tokens SET scope = 'quiet' WHERE access_digest = %s",
            digest,
            quietly=True,
        )
        await store.write(lambda: None)
        # No waiting: what the loop answers after its own write is read after that write.
        assert await _scope(store, digest) == "quiet"

    asyncio.run(scenario())


def test_a_lost_listener_drops_what_was_kept_and_listens_again(
    store: Store, database_url: str, digest: str
) -> None:
    async def scenario() -> None:
        await _until_kept(store, database_url, digest)
        _sql(
            database_url,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE %s",
            f"LISTEN {CHANNEL};%",
        )
        _sql(
            database_url,
            "UPDATE tokens SET scope = 'quiet' WHERE access_digest = %s",
            digest,
            quietly=True,
        )

        async def read_anew() -> bool:
            return await _scope(store, digest) == "quiet"

        await _until(read_anew, "read anew")
        _sql(
            database_url,
            "UPDATE tokens SET scope = 'monitoring' WHERE access_digest = %s",
            digest,
            quietly=True,
        )
        await _until_kept(store, database_url, digest)  # a new listener: kept again

    asyncio.run(scenario())


async def _until_active(kept: KeptRows) -> None:
    async def active() -> bool:
        kept.get("statement", "key")  # starts listening, reads what came back
        return kept.active

    await _until(active, "listening")


def test_nothing_is_kept_while_the_listener_s_probe_has_not_come_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As behind a proxy that pools transactions: LISTEN is answered, nothing reaches it.
    monkeypatch.setattr(pg_changes, "_SEND_PROBE", "SELECT %s::text, %s::text")

    async def scenario() -> None:
        kept = KeptRows(conninfo(database_url))
        try:
            assert kept.get("statement", "key") is None  # starts listening
            await asyncio.sleep(1.0)
            kept.keep("statement", "key", ("row",), ("tokens",), kept.generation)
            assert kept.get("statement", "key") is None
        finally:
            await kept.aclose()

    asyncio.run(scenario())


def test_rows_are_read_anew_once_the_probes_stop_coming_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection cut silently (nothing to read, no error) cannot keep rows served: the
    lease of the last probe that came back runs out."""

    async def scenario() -> None:
        kept = KeptRows(conninfo(database_url))
        try:
            await _until_active(kept)
            kept.keep("statement", "key", ("row",), ("tokens",), kept.generation)
            assert kept.get("statement", "key") == ("row",)
            monkeypatch.setattr(pg_changes, "_SEND_PROBE", "SELECT %s::text, %s::text")
            stopped = time.monotonic()

            async def dropped() -> bool:
                return kept.get("statement", "key") is None

            await _until(dropped, "dropped")
            assert time.monotonic() - stopped <= LEASE + PROBE_EVERY + 1.0
        finally:
            await kept.aclose()

    asyncio.run(scenario())


def test_a_row_read_before_the_listener_worked_is_not_kept(database_url: str) -> None:
    """A change committed before LISTEN took effect is never notified: a read that began
    then may hold a row older than it."""

    async def scenario() -> None:
        kept = KeptRows(conninfo(database_url))
        try:
            began = kept.generation
            await _until_active(kept)
            kept.keep("statement", "key", ("old row",), ("tokens",), began)
            assert kept.get("statement", "key") is None
        finally:
            await kept.aclose()

    asyncio.run(scenario())


def test_a_row_read_while_its_table_changed_is_not_kept(database_url: str) -> None:
    async def scenario() -> None:
        kept = KeptRows(conninfo(database_url))
        try:
            await _until_active(kept)
            began = kept.generation
            _sql(database_url, f"NOTIFY {CHANNEL}, 'tokens'")  # arrives while the read runs

            async def notified() -> bool:
                kept.drain()
                return kept.generation != began

            await _until(notified, "notified")
            kept.keep("statement", "key", ("old row",), ("tokens",), began)
            assert kept.get("statement", "key") is None
            kept.keep("statement", "key", ("new row",), ("tokens",), kept.generation)
            assert kept.get("statement", "key") == ("new row",)
            # Another table's change leaves it; its own table's drops it.
            _sql(database_url, f"NOTIFY {CHANNEL}, 'apps'")
            await asyncio.sleep(0.2)
            assert kept.get("statement", "key") == ("new row",)
            _sql(database_url, f"NOTIFY {CHANNEL}, 'tokens'")

            async def dropped() -> bool:
                return kept.get("statement", "key") is None

            await _until(dropped, "dropped")
        finally:
            await kept.aclose()

    asyncio.run(scenario())


def test_the_triggers_notify_each_change_a_kept_row_can_see_and_no_other(
    store: Store, database_url: str, repos: Repositories, app: App, digest: str
) -> None:
    """Migration 0011: each notifying commit takes PostgreSQL's notification lock, so only
    what a kept row reads notifies."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")

        def notified(statement: str, *args: Any) -> list[str]:
            _sql(database_url, statement, *args)
            return [n.payload for n in listener.notifies(timeout=0.3, stop_after=5)]

        app_id = app.client_id
        assert notified("UPDATE apps SET name = 'renamed' WHERE client_id = %s", app_id) == ["apps"]
        assert notified("UPDATE apps SET last_used_at = 5 WHERE client_id = %s", app_id) == []
        throttle = "INSERT INTO throttle (key, failures, window_start, blocked_until) VALUES "
        assert notified(throttle + "('client:a', 1, 1, 0)") == []  # a failure under the limit
        assert notified("UPDATE throttle SET failures = 2 WHERE key = 'client:a'") == []
        assert notified("UPDATE throttle SET blocked_until = 9e9 WHERE key = 'client:a'") == [
            "throttle"
        ]
        assert notified("DELETE FROM throttle WHERE key = 'client:a'") == ["throttle"]
        assert notified(throttle + "('client-pass:p', 0, 1, 9e9)") == ["throttle"]
        assert notified(throttle + "('login:x', 1, 1, 9e9)") == []
        assert notified(throttle + "('client:old', 1, 1, 2)") == ["throttle"]
        assert notified("DELETE FROM throttle WHERE key = 'client:old'") == []  # not in force
        assert notified(
            "UPDATE data_versions SET version = version + 1 WHERE name = 'organizations'"
        ) == ["data_versions"]
        assert (
            notified("UPDATE tokens SET refresh_used_at = 1 WHERE access_digest = %s", digest) == []
        )
        repos.tokens.save(new_token(app))
        assert [n.payload for n in listener.notifies(timeout=0.3, stop_after=5)] == []
        # Expired rows go without a word (the purge); a live one does not.
        expired = new_token(app)
        repos.tokens.save(expired)
        assert notified(
            "UPDATE tokens SET access_expires_at = 1 WHERE access_digest = %s",
            expired.access_digest,
        ) == ["tokens"]
        assert notified("DELETE FROM tokens WHERE access_digest = %s", expired.access_digest) == []
        assert notified("DELETE FROM tokens WHERE access_digest = %s", digest) == ["tokens"]
        # One notification for a statement that revokes many rows.
        for _ in range(3):
            repos.tokens.save(new_token(app))
        assert notified("UPDATE tokens SET revoked_at = 2 WHERE client_id = %s", app_id) == [
            "tokens"
        ]
        assert notified("DELETE FROM apps WHERE client_id = %s", app_id) == ["apps"]
