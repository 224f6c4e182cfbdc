"""The rows a store keeps on SQLite (store/sqlite_kept.py, migration 0012): the token endpoint's
read of an app and its caller's blocks is served from memory while the ``client_checks`` counter
stands still, and read again, at once, after any change such a row can see, whoever makes it.

What proves that a row is kept: a change whose bump is undone in the same transaction (the
counter then stands still) is not seen; the same change made plainly is seen by the next read.
The changes are made by plain SQL on a connection of their own, as another process would."""

from __future__ import annotations

import asyncio
import functools
import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ninja_oauth.oauth.domain import App
from ninja_oauth.oauth.platforms import Platform
from ninja_oauth.oauth.ports import ClientBlocks, Repositories, Writes
from ninja_oauth.oauth.throttling import Throttle
from ninja_oauth.store import sqlite_kept
from ninja_oauth.store.db import Store
from tests.store.conftest import new_app, new_token
from tests.support.server import LiveServer, start_server

APPENDS = Writes.APPENDS
COUNTER = "client_checks"
FAR = 4_000_000_000  # a block or pass in force until long after this test
UNDO_BUMP = f"UPDATE data_versions SET version = version - 1 WHERE name = '{COUNTER}'"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file only: the conftest's ``store`` and ``repos`` open it."""
    return f"sqlite:///{tmp_path_factory.mktemp('kept') / 'ninja-oauth.db'}"


@pytest.fixture
def plain_sql(store: Store) -> Iterator[Callable[..., None]]:
    """Run statements in one transaction on a connection of their own (another process's)."""
    path = store.url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)

    def run(*statements: str, params: dict[str, Any] | None = None) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in statements:
            conn.execute(statement, params or {})
        conn.execute("COMMIT")

    yield run
    conn.close()


def _counter(store: Store) -> int:
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as conn:
        row = conn.execute("SELECT version FROM data_versions WHERE name = ?", (COUNTER,))
        return int(row.fetchone()[0])


def _key(kind: str) -> str:
    return f"{kind}:{uuid.uuid4().hex}"


class Caller:
    """A client calling from one address: its throttle keys, and its app as the token endpoint
    reads it."""

    def __init__(self, repos: Repositories, client_id: str) -> None:
        self.repos = repos
        self.client_id = client_id
        self.keys = (_key("client"), _key("client-addr"))
        self.pass_key = _key("client-pass")

    def read(self) -> tuple[ClientBlocks, App | None]:
        return self.repos.apps.get_guarded(self.client_id, self.keys, self.pass_key)


@pytest.fixture
def caller(repos: Repositories) -> Caller:
    app = new_app(Platform.API_SERVICES, grant_types=("client_credentials",))
    repos.apps.add(app)
    return Caller(repos, app.client_id)


def _kept(caller: Caller, plain_sql: Callable[..., None]) -> None:
    """Read the caller's row until the store keeps it: a rename whose bump is undone is then
    not seen. Leaves the row as it was."""
    before = caller.read()
    assert before[1] is not None
    plain_sql(
        "UPDATE apps SET name = 'quietly renamed' WHERE client_id = :c",
        UNDO_BUMP,
        params={"c": caller.client_id},
    )
    assert caller.read() == before  # kept: the quiet change is not seen
    plain_sql(
        "UPDATE apps SET name = :n WHERE client_id = :c",
        UNDO_BUMP,
        params={"c": caller.client_id, "n": before[1].name},
    )


def test_a_kept_row_is_served_until_its_counter_moves(
    store: Store, caller: Caller, plain_sql: Callable[..., None]
) -> None:
    _kept(caller, plain_sql)
    plain_sql(
        "UPDATE apps SET name = 'quietly renamed' WHERE client_id = :c",
        UNDO_BUMP,
        params={"c": caller.client_id},
    )
    assert caller.read()[1].name != "quietly renamed"  # type: ignore[union-attr]
    version = _counter(store)
    plain_sql(f"UPDATE data_versions SET version = version + 1 WHERE name = '{COUNTER}'")
    assert _counter(store) == version + 1
    assert caller.read()[1].name == "quietly renamed"  # type: ignore[union-attr]


# Each: what plain SQL changes, and what the next read must show.
CHANGES: dict[str, tuple[str, Callable[[tuple[ClientBlocks, App | None]], bool]]] = {
    "secret rotated": (
        "UPDATE apps SET secret_digest = 'rotated' WHERE client_id = :c",
        lambda row: row[1] is not None and row[1].secret_digest == "rotated",
    ),
    "scopes changed": (
        "UPDATE apps SET scopes = 'management' WHERE client_id = :c",
        lambda row: row[1] is not None and row[1].scopes == ("management",),
    ),
    "app deleted": ("DELETE FROM apps WHERE client_id = :c", lambda row: row[1] is None),
    "app replaced": (
        "INSERT OR REPLACE INTO apps (client_id, name, platform, redirect_uris, scopes, "
        "grant_types, secret_digest, created_at) VALUES (:c, 'Replaced', 'api_services', '[]', "
        "'monitoring', 'client_credentials', 'replaced', 1)",
        lambda row: row[1] is not None and row[1].secret_digest == "replaced",
    ),
    "caller blocked": (
        "INSERT INTO throttle (key, failures, window_start, blocked_until) "
        f"VALUES (:a, 10, 1, {FAR})",
        lambda row: row[0].key_until == FAR,
    ),
    "address blocked": (
        "INSERT INTO throttle (key, failures, window_start, blocked_until) "
        f"VALUES (:b, 30, 1, {FAR})",
        lambda row: row[0].address_until == FAR,
    ),
    "pass granted": (
        "INSERT INTO throttle (key, failures, window_start, blocked_until) "
        f"VALUES (:p, 0, 12345, {FAR})",
        lambda row: row[0].passed_at == 12345 and row[0].pass_until == FAR,
    ),
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_a_change_made_elsewhere_is_seen_by_the_next_read(
    store: Store, caller: Caller, plain_sql: Callable[..., None], change: str
) -> None:
    statement, shows = CHANGES[change]
    _kept(caller, plain_sql)
    version = _counter(store)
    a, b = caller.keys
    plain_sql(statement, params={"c": caller.client_id, "a": a, "b": b, "p": caller.pass_key})
    assert _counter(store) > version
    assert shows(caller.read())


def test_a_pass_renamed_away_moves_the_counter_and_is_seen(
    store: Store, caller: Caller, plain_sql: Callable[..., None]
) -> None:
    insert = (
        "INSERT INTO throttle (key, failures, window_start, blocked_until) VALUES (:p, 0, 7, :u)"
    )
    plain_sql(insert, params={"p": caller.pass_key, "u": FAR})
    assert caller.read()[0].pass_until == FAR
    version = _counter(store)
    plain_sql(
        "UPDATE throttle SET key = :k WHERE key = :p", params={"p": caller.pass_key, "k": "gone"}
    )
    assert _counter(store) == version + 1
    assert caller.read()[0].pass_until == 0


def test_a_block_that_is_lifted_or_renewed_moves_the_counter_and_is_seen(
    store: Store, caller: Caller, plain_sql: Callable[..., None]
) -> None:
    a, _ = caller.keys
    insert = (
        "INSERT INTO throttle (key, failures, window_start, blocked_until) VALUES (:a, 10, 1, :u)"
    )
    plain_sql(insert, params={"a": a, "u": FAR})
    assert caller.read()[0].key_until == FAR
    plain_sql(
        "UPDATE throttle SET blocked_until = :u WHERE key = :a", params={"a": a, "u": FAR + 1}
    )
    assert caller.read()[0].key_until == FAR + 1
    version = _counter(store)
    plain_sql("DELETE FROM throttle WHERE key = :a", params={"a": a})
    assert _counter(store) == version + 1
    assert caller.read()[0] == ClientBlocks()
    # Set again, then lifted by a REPLACE (whose deleted row fires no DELETE trigger).
    plain_sql(insert, params={"a": a, "u": FAR})
    assert caller.read()[0].key_until == FAR
    plain_sql(
        "INSERT OR REPLACE INTO throttle (key, failures, window_start, blocked_until) "
        "VALUES (:a, 0, 1, 0)",
        params={"a": a},
    )
    assert caller.read()[0].key_until == 0


def test_what_no_kept_row_reads_leaves_the_counter_alone(
    store: Store, caller: Caller, plain_sql: Callable[..., None]
) -> None:
    """The usage count's last_used_at (every minute), a new app, a failure under the limit, a
    sign-in key's block and an expired block's removal: no kept row is dropped for them."""
    a, _ = caller.keys
    expired = _key("client")
    plain_sql(
        "INSERT INTO throttle (key, failures, window_start, blocked_until) VALUES (:e, 9, 5, 10)",
        params={"e": expired},
    )
    version = _counter(store)
    other = new_app(Platform.API_SERVICES, grant_types=("client_credentials",))
    caller.repos.apps.add(other)
    plain_sql(
        "UPDATE apps SET last_used_at = 99 WHERE client_id = :c",
        "INSERT INTO throttle (key, failures, window_start, blocked_until) VALUES (:a, 1, 5, 0)",
        "UPDATE throttle SET failures = 2 WHERE key = :a",
        "INSERT INTO throttle (key, failures, window_start, blocked_until) "
        f"VALUES (:l, 9, 5, {FAR})",
        "DELETE FROM throttle WHERE key = :e",
        params={"c": caller.client_id, "a": a, "l": _key("login"), "e": expired},
    )
    assert _counter(store) == version


def test_a_store_keeps_the_rows_of_several_callers(
    caller: Caller, repos: Repositories, plain_sql: Callable[..., None]
) -> None:
    other = new_app(Platform.API_SERVICES, grant_types=("client_credentials",))
    repos.apps.add(other)
    second = Caller(repos, other.client_id)
    first_row, second_row = caller.read(), second.read()
    for client in (caller, second):
        plain_sql(
            "UPDATE apps SET name = 'quietly renamed' WHERE client_id = :c",
            UNDO_BUMP,
            params={"c": client.client_id},
        )
    assert caller.read() == first_row
    assert second.read() == second_row


def test_a_counter_that_goes_missing_drops_what_was_kept(
    store: Store, caller: Caller, plain_sql: Callable[..., None]
) -> None:
    """Migrated down and up again while the store runs: nothing kept under the old counter is
    served under the new one, which starts past any version the old one reached."""
    _kept(caller, plain_sql)
    version = _counter(store)
    plain_sql(
        f"DELETE FROM data_versions WHERE name = '{COUNTER}'",
        "UPDATE apps SET name = 'renamed while uncounted' WHERE client_id = :c",
        params={"c": caller.client_id},
    )
    assert caller.read()[1].name == "renamed while uncounted"  # type: ignore[union-attr]
    plain_sql(
        f"INSERT INTO data_versions (name, version) VALUES ('{COUNTER}', :v)",
        "UPDATE apps SET name = 'renamed again' WHERE client_id = :c",
        UNDO_BUMP,
        params={"c": caller.client_id, "v": version + 1},
    )
    assert caller.read()[1].name == "renamed again"  # type: ignore[union-attr]


def test_an_unknown_client_is_never_kept(
    caller: Caller, repos: Repositories, plain_sql: Callable[..., None]
) -> None:
    """A guessed client_id fills no memory, and an app added later (which moves no counter)
    is seen by the next read."""
    unknown = Caller(repos, "app-" + uuid.uuid4().hex[:16])
    assert unknown.read()[1] is None
    columns = "client_id, name, platform, redirect_uris, scopes, grant_types, created_at"
    plain_sql(
        f"INSERT INTO apps ({columns}) VALUES "
        "(:c, 'Late', 'api_services', '[]', 'monitoring', 'client_credentials', 1)",
        params={"c": unknown.client_id},
    )
    late = unknown.read()[1]
    assert late is not None and late.name == "Late"


def test_past_its_bound_the_store_forgets_and_reads_again(
    repos: Repositories, plain_sql: Callable[..., None], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_kept, "KEEP_MAX", 2)
    callers = []
    for _ in range(3):
        app = new_app(Platform.API_SERVICES, grant_types=("client_credentials",))
        repos.apps.add(app)
        callers.append(Caller(repos, app.client_id))
        callers[-1].read()
    # The third read dropped the first two: a quiet rename of the first is now seen.
    first = callers[0]
    plain_sql(
        "UPDATE apps SET name = 'forgotten' WHERE client_id = :c",
        UNDO_BUMP,
        params={"c": first.client_id},
    )
    assert first.read()[1].name == "forgotten"  # type: ignore[union-attr]


# -- a client_credentials token's unit: the kept row checked at its commit ------------------


def _issue(caller: Caller, runs: list[str], *, write: bool, pass_key: str = "") -> str | None:
    """A token request's unit of work as ``Store.run`` runs it: read the caller's app, save a
    token row for it (if ``write``), and grant ``pass_key`` a pass (if given); the app's name
    as the unit saw it. Each run's token digest goes to ``runs``."""
    app = caller.read()[1]
    if app is None:
        return None
    token = new_token(app)
    runs.append(token.access_digest)
    if pass_key:
        caller.repos.throttle.grant_pass(pass_key, 1, FAR)
    if write:
        caller.repos.tokens.save(token)
    return app.name


def _rows_of(store: Store, digest: str) -> int:
    with sqlite3.connect(store.url.removeprefix("sqlite:///")) as conn:
        found = conn.execute("SELECT count(*) FROM tokens WHERE access_digest = ?", (digest,))
        return int(found.fetchone()[0])


@pytest.mark.parametrize("write", [True, False], ids=["a token row", "nothing written"])
def test_a_unit_served_a_row_that_proves_stale_is_run_again_on_the_change(
    store: Store, caller: Caller, plain_sql: Callable[..., None], write: bool
) -> None:
    """The unit on the event loop is served the kept row without reading the counter; the
    change, committed before the unit's commit, makes the group commit's check fail: nothing
    of that run is written, and the run again sees the change and commits once."""
    _kept(caller, plain_sql)
    plain_sql(
        "UPDATE apps SET name = 'renamed before the commit' WHERE client_id = :c",
        params={"c": caller.client_id},
    )
    runs: list[str] = []
    work = functools.partial(_issue, caller, runs, write=write)
    assert asyncio.run(store.run(work, APPENDS)) == "renamed before the commit"
    stale, again = runs
    assert _rows_of(store, stale) == 0
    assert _rows_of(store, again) == (1 if write else 0)


def test_a_pass_granted_in_a_batch_sends_the_later_units_kept_rows_to_be_read_again(
    store: Store, repos: Repositories, plain_sql: Callable[..., None]
) -> None:
    """Several token requests on one loop, their rows in one group commit. The first grants a
    pass, which moves the counter inside the batch's transaction: the second, served a row
    kept before it, is checked against the moved counter, writes nothing and runs again; every
    token is written exactly once."""
    callers = []
    for _ in range(2):
        app = new_app(Platform.API_SERVICES, grant_types=("client_credentials",))
        repos.apps.add(app)
        callers.append(Caller(repos, app.client_id))
        callers[-1].read()  # kept before the batch
    runs: list[list[str]] = [[], []]
    works = [
        functools.partial(_issue, callers[0], runs[0], write=True, pass_key=callers[0].pass_key),
        functools.partial(_issue, callers[1], runs[1], write=True),
    ]

    async def batch() -> list[str | None]:
        return await asyncio.gather(*(store.run(work, APPENDS) for work in works))

    assert asyncio.run(batch()) == ["Store test app"] * 2
    assert [len(issued) for issued in runs] == [1, 2]
    assert [_rows_of(store, digest) for issued in runs for digest in issued] == [1, 0, 1]
    assert callers[0].read()[0].pass_until == FAR


# -- over HTTP: a server of two workers, the change made by the command line ----------------


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("kept-workers")
    live = start_server(f"sqlite:///{tmp / 'ninja-oauth.db'}", tmp, workers=2)
    try:
        yield live
    finally:
        live.stop()


def _tokens(server: LiveServer, app: dict[str, Any], secret: str, times: int) -> list[int]:
    """``times`` client_credentials requests, each on a new connection (the kernel spreads them
    over both workers)."""
    statuses = []
    for _ in range(times):
        with httpx.Client(base_url=server.base_url, timeout=30) as http:
            answer = http.post(
                "/ws/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(app["client_id"], secret),
            )
        statuses.append(answer.status_code)
    return statuses


def _failures(server: LiveServer, client_id: str) -> int:
    """The failed client authentications counted for ``client_id`` from this host."""
    key, _ = Throttle.client_keys(client_id, "127.0.0.1")
    path = server.env["NINJA_OAUTH_DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        row = conn.execute("SELECT failures FROM throttle WHERE key = ?", (key,)).fetchone()
    return 0 if row is None else int(row[0])


def test_a_secret_rotated_by_the_command_line_is_refused_by_every_worker_at_once(
    two_workers: LiveServer,
) -> None:
    app = two_workers.create_app("api_services", scopes=["monitoring"])
    # Each worker that answered keeps the app's row (kept rows: the tests above).
    assert _tokens(two_workers, app, app["client_secret"], 12) == [200] * 12
    rotated = json.loads(
        two_workers.cli("apps", "rotate-secret", app["client_id"], "--json").stdout
    )
    # No wait, no retry: the very next requests, on either worker, see the new secret (a few:
    # the tenth failure in a row would block the caller).
    assert _tokens(two_workers, app, app["client_secret"], 6) == [401] * 6
    # Each counted as a failure, the first on each worker too (a run on the kept row, which
    # passed, found stale at its commit and run again: nothing of it stays on the request).
    assert _failures(two_workers, app["client_id"]) == 6
    assert _tokens(two_workers, app, rotated["client_secret"], 12) == [200] * 12


def test_an_app_deleted_by_the_command_line_is_unknown_to_every_worker_at_once(
    two_workers: LiveServer,
) -> None:
    app = two_workers.create_app("api_services", scopes=["monitoring"])
    assert _tokens(two_workers, app, app["client_secret"], 12) == [200] * 12
    two_workers.cli("apps", "delete", app["client_id"], "--yes")
    assert _tokens(two_workers, app, app["client_secret"], 6) == [401] * 6
