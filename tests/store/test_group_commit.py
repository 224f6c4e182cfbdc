"""The SQLite group commit: deferred units of work, batches, failures, and a lock never waited
for on the event loop (store/group_commit.py)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ninja_oauth.oauth.domain import App, NewToken
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store import checkpointer, group_commit
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.unit_of_work import NeedsWriter
from tests.store.conftest import copies, new_token

NOW = int(time.time())


@pytest.fixture
def store(file_store: Store) -> Store:
    """This module's store is a SQLite file (the group commit's only store)."""
    return file_store


@pytest.fixture
def lock_path(db_path: Path) -> Path:
    """The file lock every writer of this store takes (store/writer.py)."""
    return db_path.with_name(db_path.name + ".write-lock")


@pytest.fixture
def repos(store: Store) -> Repositories:
    return build_repositories(store)


def _deferred_save(store: Store, repos: Repositories, token: NewToken) -> list[Any]:
    with store.deferred() as rows:
        repos.tokens.save(token)
    return rows


def test_a_deferred_unit_writes_nothing_until_its_rows_are_committed(
    store: Store, repos: Repositories, app: App
) -> None:
    token = new_token(app)
    rows = _deferred_save(store, repos, token)
    assert len(rows) == 1
    assert not copies(store, token.access_digest)

    asyncio.run(store.commit_deferred(rows))
    assert copies(store, token.access_digest) == 1


def test_units_that_reach_the_commit_in_one_turn_of_the_loop_share_one_transaction(
    store: Store, repos: Repositories, app: App, batches: list[int]
) -> None:
    issued = [new_token(app) for _ in range(20)]

    async def request(token: NewToken) -> None:
        await store.commit_deferred(_deferred_save(store, repos, token))

    async def main() -> None:
        await asyncio.gather(*(request(t) for t in issued))

    asyncio.run(main())
    assert batches == [20]
    assert [copies(store, t.access_digest) for t in issued] == [1] * 20


def test_any_other_write_in_a_deferred_unit_raises_needs_writer(
    store: Store, repos: Repositories, app: App
) -> None:
    token = new_token(app)
    with pytest.raises(NeedsWriter), store.deferred():
        repos.tokens.save(token)
        repos.throttle.record_failure("client:x", 5, 300, 60, NOW)
    # Nothing was written: the request is rerun whole on the writer path.
    assert not copies(store, token.access_digest)
    assert repos.throttle.blocked_for(["client:x"], NOW) == 0


def test_a_failing_unit_fails_alone_and_the_others_commit(
    store: Store, repos: Repositories, app: App
) -> None:
    existing = new_token(app)
    repos.tokens.save(existing)  # committed at once, outside a deferred unit
    clash = new_token(app, access_digest=existing.access_digest)
    fine = new_token(app)

    async def main() -> list[Any]:
        units = [_deferred_save(store, repos, clash), _deferred_save(store, repos, fine)]
        return await asyncio.gather(
            *(store.commit_deferred(u) for u in units), return_exceptions=True
        )

    clash_outcome, fine_outcome = asyncio.run(main())
    assert isinstance(clash_outcome, sqlite3.IntegrityError)
    assert fine_outcome is None
    assert copies(store, fine.access_digest) == 1


def test_a_write_lock_held_elsewhere_is_waited_for_off_the_event_loop(
    store: Store, repos: Repositories, app: App, lock_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token(app)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    handed_over = threading.Event()
    insert_on_writer = store._group_commit._insert_on_writer

    def observed(batch: list[Any]) -> None:
        handed_over.set()
        insert_on_writer(batch)

    monkeypatch.setattr(store._group_commit, "_insert_on_writer", observed)

    async def main() -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another process's writer, as far as the store knows
        try:
            commit = asyncio.ensure_future(
                store.commit_deferred(_deferred_save(store, repos, token))
            )
            # The loop goes on (its retries run, then this wait) until the batch is on the
            # writer path, which waits for the lock.
            assert await asyncio.to_thread(handed_over.wait, 10)
            assert not commit.done()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        await asyncio.wait_for(commit, timeout=10)

    try:
        asyncio.run(main())
    finally:
        os.close(fd)
    assert copies(store, token.access_digest) == 1


def test_the_background_checkpointer_copies_the_wal_into_the_database(
    store: Store, repos: Repositories, app: App, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = db_path.stat().st_size
    written, checkpointed = threading.Event(), threading.Event()
    checkpoint = store._checkpointer._checkpoint

    def observed(conn: sqlite3.Connection) -> None:
        # No pass during the writes: the first one waits for them to end.
        if written.wait(timeout=30):
            checkpoint(conn)
            checkpointed.set()

    monkeypatch.setattr(store._checkpointer, "_checkpoint", observed)

    async def main() -> None:
        for _ in range(30):
            units = [_deferred_save(store, repos, new_token(app)) for _ in range(50)]
            await asyncio.gather(*(store.commit_deferred(u) for u in units))

    asyncio.run(main())
    assert db_path.stat().st_size == before  # the loop's writer never checkpoints
    written.set()
    # Only the checkpointer thread moves pages into the database file.
    assert checkpointed.wait(timeout=10)
    assert db_path.stat().st_size > before


def test_stores_without_a_sqlite_file_never_defer() -> None:
    memory = Store("sqlite://")
    try:
        with pytest.raises(NeedsWriter), memory.deferred():
            pass
    finally:
        memory.close()


def test_a_failure_before_the_insert_answers_the_request_and_the_next_batch_works(
    store: Store, repos: Repositories, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No connection (say, out of file descriptors) fails the batch; it never hangs, and the
    next request's batch is written."""
    failed, fine = new_token(app), new_token(app)
    real = store._group_commit._loop_writer
    calls = 0

    def once_broken() -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise sqlite3.OperationalError("unable to open database file")
        return real()

    monkeypatch.setattr(store._group_commit, "_loop_writer", once_broken)

    async def main() -> None:
        with pytest.raises(sqlite3.OperationalError):
            await asyncio.wait_for(
                store.commit_deferred(_deferred_save(store, repos, failed)), timeout=5
            )
        await asyncio.wait_for(store.commit_deferred(_deferred_save(store, repos, fine)), 5)

    asyncio.run(main())
    assert not copies(store, failed.access_digest)
    assert copies(store, fine.access_digest) == 1


def test_a_failing_writer_path_answers_the_request(
    store: Store, repos: Repositories, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = new_token(app)
    monkeypatch.setattr(group_commit, "FLUSH_PATIENCE", 0.0)
    # The locks are always taken.
    monkeypatch.setattr(store._group_commit, "_insert_now", lambda units: False)

    def broken(stack: Any) -> Any:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store._writer, "connection", broken)

    async def main() -> None:
        with pytest.raises(sqlite3.OperationalError):
            await asyncio.wait_for(
                store.commit_deferred(_deferred_save(store, repos, token)), timeout=5
            )

    asyncio.run(main())
    assert not copies(store, token.access_digest)


def test_a_batch_left_by_a_closed_loop_does_not_hold_up_the_next_loop(
    store: Store, repos: Repositories, app: App, lock_path: Path
) -> None:
    abandoned, later = new_token(app), new_token(app)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)

    async def give_up() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(
                store.commit_deferred(_deferred_save(store, repos, abandoned)), timeout=0.02
            )

    try:
        asyncio.run(give_up())  # its batch was still waiting for the lock when the loop closed
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    async def main() -> None:
        await asyncio.wait_for(store.commit_deferred(_deferred_save(store, repos, later)), 5)

    asyncio.run(main())
    assert copies(store, later.access_digest) == 1


def test_a_reader_holding_the_wal_never_holds_up_the_writers(
    store: Store, repos: Repositories, app: App, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkpointer restarts a long WAL only once a passive checkpoint copied it all; a
    reader still on it (a backup, a report) just postpones the restart."""
    monkeypatch.setattr(checkpointer, "CHECKPOINT_EVERY", 0.01)
    monkeypatch.setattr(checkpointer, "CHECKPOINT_RESTART_PAGES", 5)
    reader = sqlite3.connect(db_path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM tokens").fetchone()  # a snapshot kept open
    slowest = 0.0

    async def main() -> None:
        nonlocal slowest
        for _ in range(40):
            units = [_deferred_save(store, repos, new_token(app)) for _ in range(5)]
            started = time.monotonic()
            await asyncio.gather(*(store.commit_deferred(u) for u in units))
            slowest = max(slowest, time.monotonic() - started)
            await asyncio.sleep(0.01)

    try:
        asyncio.run(main())
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    assert slowest < 0.5
