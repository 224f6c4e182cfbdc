"""Store.run: a request's work is run and committed as its ``Writes`` says (oauth/ports.py):
APPENDS joins the group commit on a SQLite file, CHANGES runs whole on the writer path."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import select

from ninja_oauth.oauth.domain import App, NewToken
from ninja_oauth.oauth.ports import Repositories, Writes
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.tables import throttle
from ninja_oauth.store.writer import WRITER_PREFIX
from tests.store.conftest import copies, new_app, new_token

NOW = int(time.time())


class Boom(Exception):
    pass


def _registered(repos: Repositories) -> App:
    app = new_app()
    repos.apps.add(app)
    return app


def test_appends_on_a_sqlite_file_run_on_the_event_loop_and_share_one_group_commit(
    file_store: Store, batches: list[int]
) -> None:
    repos = build_repositories(file_store)
    issued = [new_token(_registered(repos)) for _ in range(2)]
    ran_on: list[str] = []

    def issue(token: NewToken) -> str:
        ran_on.append(threading.current_thread().name)
        repos.tokens.save(token)
        return token.access_digest

    async def two_requests() -> list[str]:
        runs = (file_store.run(functools.partial(issue, t), Writes.APPENDS) for t in issued)
        return await asyncio.gather(*runs)

    assert asyncio.run(two_requests()) == [t.access_digest for t in issued]
    assert ran_on == [threading.current_thread().name] * 2  # the loop's thread
    assert batches == [2]  # one transaction for both requests' rows
    assert [copies(file_store, t.access_digest) for t in issued] == [1, 1]


def test_appends_that_reach_a_transaction_are_rerun_as_changes_and_written_once(
    file_store: Store, batches: list[int]
) -> None:
    # A client_credentials request that fails authentication: its failure count is a write the
    # answer depends on, so the whole request runs again on the writer path.
    repos = build_repositories(file_store)
    token = new_token(_registered(repos))
    key = f"client:{uuid.uuid4().hex}|192.0.2.1"
    ran_on: list[str] = []

    def work() -> int:
        ran_on.append(threading.current_thread().name)
        repos.tokens.save(token)  # on the loop: collected for the group commit
        return repos.throttle.record_failure(key, 5, 300, 60, NOW)  # NeedsWriter on the loop

    assert asyncio.run(file_store.run(work, Writes.APPENDS)) == 1
    assert len(ran_on) == 2
    assert ran_on[0] == threading.current_thread().name
    assert ran_on[1].startswith(WRITER_PREFIX)
    assert batches == []  # the first run's row never reached the group commit
    assert copies(file_store, token.access_digest) == 1
    with file_store.reading() as conn:
        counted = conn.execute(select(throttle.c.failures).where(throttle.c.key == key))
        assert counted.scalar_one() == 1


def test_changes_run_on_the_writer_thread_as_one_unit_of_work(
    store: Store, repos: Repositories, register: Callable[..., App]
) -> None:
    app = register()
    first, second = new_token(app), new_token(app)

    def work() -> tuple[str, bool]:
        with store.transaction() as one:
            repos.tokens.save(first)
        with store.transaction() as other:  # still the unit's transaction
            repos.tokens.save(second)
        return threading.current_thread().name, one is other

    name, one_transaction = asyncio.run(store.run(work, Writes.CHANGES))
    assert name.startswith(WRITER_PREFIX)
    assert one_transaction
    assert (copies(store, first.access_digest), copies(store, second.access_digest)) == (1, 1)


def test_changes_that_raise_unexpectedly_commit_nothing(
    store: Store, repos: Repositories, register: Callable[..., App]
) -> None:
    token = new_token(register())

    def work() -> None:
        repos.tokens.save(token)
        raise Boom

    with pytest.raises(Boom):
        asyncio.run(store.run(work, Writes.CHANGES))
    assert copies(store, token.access_digest) == 0


def test_an_in_memory_sqlite_runs_appends_as_changes_on_the_writer_path() -> None:
    memory = Store("sqlite://")
    try:
        name = asyncio.run(memory.run(lambda: threading.current_thread().name, Writes.APPENDS))
    finally:
        memory.close()
    assert name.startswith(WRITER_PREFIX)
