"""The Store's units of work: nested transactions, rollback, and the async read/write paths."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, select

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.statements import Sql
from ninja_oauth.store.tables import apps
from tests.store.conftest import new_app

Register = Callable[..., App]


@pytest.fixture
def migrated(store: Store) -> Store:
    """The module's store, whose database is migrated."""
    return store


class Boom(Exception):
    pass


def test_a_nested_transaction_joins_the_outer_one_and_rolls_back_with_it(
    store: Store, repos: Repositories
) -> None:
    first, second = new_app(), new_app()
    with pytest.raises(Boom), store.transaction() as outer:
        repos.apps.add(first)
        with store.transaction() as inner:
            assert inner is outer
            repos.apps.add(second)
        # Reads inside the transaction see its own writes.
        assert repos.apps.get(second.client_id) == second
        raise Boom
    assert repos.apps.get(first.client_id) is None
    assert repos.apps.get(second.client_id) is None


def test_a_transaction_commits_every_write_together(store: Store, repos: Repositories) -> None:
    first, second = new_app(), new_app()
    with store.transaction():
        repos.apps.add(first)
        repos.apps.add(second)
    assert (repos.apps.get(first.client_id), repos.apps.get(second.client_id)) == (first, second)


def test_another_thread_does_not_see_uncommitted_writes(store: Store, repos: Repositories) -> None:
    app = new_app()
    seen: list[App | None] = []
    with store.transaction():
        repos.apps.add(app)
        reader = threading.Thread(target=lambda: seen.append(repos.apps.get(app.client_id)))
        reader.start()
        reader.join(timeout=10)
    assert seen == [None]
    assert repos.apps.get(app.client_id) == app


def test_the_async_read_path_returns_what_the_function_read(database_url: str) -> None:
    app = new_app()

    def client_ids(conn: Connection) -> list[str]:
        return list(
            conn.execute(
                select(apps.c.client_id).where(apps.c.client_id == app.client_id)
            ).scalars()
        )

    async def scenario() -> tuple[list[str], list[str]]:
        store = Store(database_url)
        try:
            before = await store.read(client_ids)
            await store.write(lambda: build_repositories(store).apps.add(app))
            return before, await store.read(client_ids)
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) == ([], [app.client_id])


def test_run_is_the_write_path_and_returns_the_result(database_url: str) -> None:
    app = new_app()

    async def scenario() -> bool:
        store = Store(database_url)
        try:
            repos = build_repositories(store)
            await store.write(lambda: repos.apps.add(app))
            return await store.write(lambda: repos.apps.delete(app.client_id))
        finally:
            await store.aclose()

    assert asyncio.run(scenario()) is True


def test_closing_waits_for_a_write_still_running_on_the_writer_path(
    migrated: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As at shutdown: the request (or the periodic purge) that awaited the write is cancelled,
    the write goes on on its thread, and the store closes: the write finishes first, on a
    connection that is closed only afterwards."""
    store = Store(migrated.url)  # a store of its own, to close
    repos = build_repositories(store)
    app = new_app()
    started, finish = threading.Event(), threading.Event()
    closing_writer, closed = threading.Event(), threading.Event()
    close_writer = store._writer.close

    def slow_write() -> None:
        started.set()
        assert finish.wait(timeout=10)  # still running while the store closes
        repos.apps.add(app)

    def observed_close_writer() -> None:
        closing_writer.set()
        close_writer()

    def close() -> None:
        store.close()
        closed.set()

    async def scenario() -> None:
        task = asyncio.ensure_future(store.write(slow_write))
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()
        closing = threading.Thread(target=close)
        closing.start()
        try:
            # close() reached the writer path and has not returned while the write is held
            # (it takes milliseconds otherwise).
            assert closing_writer.wait(timeout=10)
            assert not closed.wait(timeout=0.3)
        finally:
            finish.set()
        closing.join(timeout=10)
        assert closed.is_set()

    monkeypatch.setattr(store._writer, "close", observed_close_writer)
    asyncio.run(scenario())
    again = Store(migrated.url)
    try:
        assert build_repositories(again).apps.get(app.client_id) == app
    finally:
        again.close()


def test_a_transaction_on_one_store_does_not_capture_writes_meant_for_another(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Two stores in one process (tests, tools): each writes to its own database.
    from ninja_oauth.store.migrate import migrate

    urls = [f"sqlite:///{tmp_path_factory.mktemp('two') / 'db.sqlite'}" for _ in range(2)]
    for url in urls:
        migrate(url)
    first, second = Store(urls[0]), Store(urls[1])
    try:
        app = new_app()
        with first.transaction():
            build_repositories(second).apps.add(app)
        assert build_repositories(second).apps.get(app.client_id) == app
        assert build_repositories(first).apps.get(app.client_id) is None
    finally:
        first.close()
        second.close()


def test_an_in_memory_store_reads_through_its_one_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hot read on an in-memory database uses the engine's connection: it sees the
    database, and opens no file (it once opened one named 'None' in the working directory)."""
    monkeypatch.chdir(tmp_path)
    memory = Store("sqlite://")
    try:
        with memory.transaction() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (41)")
        assert memory.fetchone(Sql("SELECT n + :one FROM t"), {"one": 1}) == (42,)
        read = asyncio.run(memory.fetchone_async(Sql("SELECT n FROM t"), {}))
        assert read == (41,)
    finally:
        memory.close()
    assert list(tmp_path.iterdir()) == []


def test_a_hot_read_on_an_in_memory_store_leaves_an_open_write_alone() -> None:
    """Its one connection is shared: a read handing it back while a write transaction is open
    on it must not roll that transaction back."""
    memory = Store("sqlite://")
    try:
        with memory.transaction() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
        opened, read = threading.Event(), threading.Event()

        def write() -> None:
            with memory.transaction() as conn:
                conn.exec_driver_sql("INSERT INTO t VALUES (1)")
                opened.set()
                assert read.wait(10)

        writer = threading.Thread(target=write)
        writer.start()
        assert opened.wait(10)
        memory.fetchone(Sql("SELECT count(*) FROM t"), {})
        read.set()
        writer.join(10)
        assert memory.fetchone(Sql("SELECT count(*) FROM t"), {}) == (1,)
    finally:
        memory.close()


def test_a_long_read_runs_off_the_event_loop_and_a_short_one_on_it(
    store: Store, repos: Repositories
) -> None:
    """A page of thousands of rows must not hold the loop that answers the token and bearer
    requests: ``long`` reads run in a worker thread, and see what was committed."""
    app = new_app()
    repos.apps.add(app)

    def read(conn: Connection) -> tuple[int, str | None]:
        found = conn.execute(select(apps.c.name).where(apps.c.client_id == app.client_id))
        return threading.get_ident(), found.scalar_one_or_none()

    async def both() -> tuple[int, tuple[int, str | None], tuple[int, str | None]]:
        return threading.get_ident(), await store.read(read), await store.read(read, long=True)

    loop_thread, short, long = asyncio.run(both())
    assert long[0] != loop_thread
    assert long[1] == short[1] == app.name
    if store.dialect == "sqlite":  # on PostgreSQL a short read runs in psycopg's async driver
        assert short[0] == loop_thread


def test_an_in_memory_database_keeps_its_long_reads_on_the_loop() -> None:
    """It has one connection, shared with the writer: no second thread may use it at once."""
    memory = Store("sqlite://")
    try:
        got = asyncio.run(
            memory.read(lambda conn: (threading.get_ident(), conn.execute(select(1)).scalar()))
        )
        assert got == (threading.get_ident(), 1)
        long = asyncio.run(memory.read(lambda _: threading.get_ident(), long=True))
        assert long == threading.get_ident()
    finally:
        memory.close()
