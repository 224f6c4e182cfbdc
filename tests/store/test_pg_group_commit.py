"""PostgreSQL's group commit (store/pg_group_commit.py): a request that only appends rows runs
on the event loop, makes its reads with the async driver first (NeedsRead) and commits its rows
with those of the requests that reached the same point, in one transaction; each request gets
its own outcome."""

from __future__ import annotations

import asyncio
import threading

import psycopg
import pytest
from sqlalchemy import text

from ninja_oauth.oauth.domain import App, NewToken
from ninja_oauth.oauth.ports import Repositories, Writes
from ninja_oauth.store import pg_reads
from ninja_oauth.store.db import Store
from ninja_oauth.store.pg_group_commit import PgGroupCommit
from ninja_oauth.store.statements import Sql
from tests.store.conftest import new_token


@pytest.fixture(scope="module")
def database_url(pg_database_url: str) -> str:
    """PostgreSQL only: the conftest's ``store`` and ``repos`` open it."""
    return pg_database_url


def _xmins(store: Store, digests: list[str]) -> list[str]:
    """The transaction that wrote each token row (PostgreSQL's xmin)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT access_digest, xmin::text FROM tokens WHERE access_digest = ANY(:d)"),
            {"d": digests},
        ).all()
    by_digest = dict(rows)
    return [by_digest[d] for d in digests if d in by_digest]


def test_a_unit_reads_with_the_async_driver_then_appends_on_the_loop(
    store: Store, repos: Repositories, app: App
) -> None:
    token = new_token(app)
    seen: list[tuple[int, App | None]] = []

    def work() -> str:
        found = repos.apps.get(app.client_id)  # a hot read: made first, then work runs again
        seen.append((threading.get_ident(), found))
        repos.tokens.save(token)
        return "issued"

    async def request() -> tuple[int, str]:
        return threading.get_ident(), await store.run(work, Writes.APPENDS)

    loop_thread, answer = asyncio.run(request())
    assert answer == "issued"
    # Ran once with the row at hand, on the event loop's thread: no writer thread, no rerun.
    assert seen == [(loop_thread, app)]
    assert len(_xmins(store, [token.access_digest])) == 1


def test_concurrent_units_commit_together_and_each_is_answered(
    store: Store, repos: Repositories, app: App
) -> None:
    tokens = [new_token(app) for _ in range(20)]

    def work(token: NewToken) -> str:
        repos.apps.get(app.client_id)
        repos.tokens.save(token)
        return token.access_digest

    async def burst() -> list[str]:
        return await asyncio.gather(
            *(store.run(lambda t=t: work(t), Writes.APPENDS) for t in tokens)
        )

    digests = asyncio.run(burst())
    assert digests == [t.access_digest for t in tokens]
    xmins = _xmins(store, digests)
    assert len(xmins) == 20  # every row is there
    assert len(set(xmins)) < 20  # and some were committed in one transaction


def test_a_refused_row_fails_its_own_request_only(
    store: Store, repos: Repositories, app: App
) -> None:
    good = [new_token(app) for _ in range(4)]
    taken = new_token(app, access_digest=good[0].access_digest)  # the same digest: unique

    async def burst() -> list[object]:
        def save(token: NewToken) -> None:
            repos.tokens.save(token)

        first = store.run(lambda: save(good[0]), Writes.APPENDS)
        await first
        rest = [store.run(lambda t=t: save(t), Writes.APPENDS) for t in [*good[1:], taken]]
        return await asyncio.gather(*rest, return_exceptions=True)

    outcomes = asyncio.run(burst())
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], psycopg.errors.UniqueViolation)
    assert len(_xmins(store, [t.access_digest for t in good])) == 4


def test_a_batch_of_more_rows_than_one_statement_takes_commits_them_all_at_once(
    store: Store, repos: Repositories, app: App
) -> None:
    """A batch's token rows go in one statement whatever their number (``Sql.rows``: one JSON
    parameter; as ``VALUES (…), (…)`` 6000 rows would be 42,000 parameters, and PostgreSQL
    takes 65,535 at most): they commit in one transaction with a unit that writes another
    table."""
    tokens = [new_token(app) for _ in range(6000)]
    mark = Sql("INSERT INTO data_versions (name, version) VALUES ('batch-test', 1)")
    group = PgGroupCommit(store.engine.url.render_as_string(hide_password=False))
    saving = Sql(
        "INSERT INTO tokens (access_digest, client_id, scope, grant_id, grant_type, issued_at, "
        "access_expires_at) VALUES (:access_digest, :client_id, :scope, :grant_id, "
        ":grant_type, :issued_at, :access_expires_at)",
        appends=True,
    )
    fields = ("access_digest", "client_id", "scope", "grant_id", "grant_type", "issued_at")

    def row(token: NewToken) -> dict[str, object]:
        return {f: getattr(token, f) for f in (*fields, "access_expires_at")}

    async def one_batch() -> None:
        # Queued in one turn of the loop: one batch.
        await asyncio.gather(
            *(group.commit([(saving, row(t))]) for t in tokens), group.commit([(mark, {})])
        )
        await group.aclose()

    asyncio.run(one_batch())
    xmins = _xmins(store, [t.access_digest for t in tokens])
    assert len(xmins) == 6000 and len(set(xmins)) == 1
    with store.engine.begin() as conn:
        assert (
            conn.execute(
                text("SELECT xmin::text FROM data_versions WHERE name = 'batch-test'")
            ).scalar_one()
            == xmins[0]
        )
        conn.execute(text("DELETE FROM data_versions WHERE name = 'batch-test'"))


def test_a_unit_that_changes_rows_goes_to_the_writer_path(
    store: Store, repos: Repositories, app: App
) -> None:
    """Any write but an appended row (here a transaction of its own) cannot join the group
    commit: the unit runs again on a writer thread, as one transaction."""
    ran_on: list[int] = []

    def work() -> None:
        ran_on.append(threading.get_ident())
        with store.transaction() as conn:
            conn.execute(
                text("UPDATE apps SET name = 'Renamed' WHERE client_id = :c"), {"c": app.client_id}
            )

    async def request() -> int:
        await store.run(work, Writes.APPENDS)
        return threading.get_ident()

    loop_thread = asyncio.run(request())
    assert ran_on[-1] != loop_thread
    assert repos.apps.get(app.client_id).name == "Renamed"  # type: ignore[union-attr]


@pytest.mark.parametrize("lifetime, connections", [(3600.0, 1), (0.0, 2)])
def test_the_loops_connection_is_replaced_once_past_its_lifetime(
    store: Store, monkeypatch: pytest.MonkeyPatch, lifetime: float, connections: int
) -> None:
    # Its generic plans were made for the tables as they were; a successor plans afresh.
    monkeypatch.setattr(pg_reads, "MAX_LIFETIME", lifetime)
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS backends"))
        conn.execute(text("CREATE TABLE backends (pid integer NOT NULL)"))
    group = PgGroupCommit(store.engine.url.render_as_string(hide_password=False))
    insert = Sql("INSERT INTO backends VALUES (pg_backend_pid())")

    async def two_batches() -> None:
        await group.commit([(insert, {})])
        await group.commit([(insert, {})])
        await group.aclose()

    asyncio.run(two_batches())
    with store.engine.connect() as conn:
        pids = conn.execute(text("SELECT pid FROM backends")).scalars().all()
    assert len(pids) == 2 and len(set(pids)) == connections


def test_rows_batched_as_json_come_back_as_they_were_sent(store: Store) -> None:
    """The JSON that carries a batch's rows loses nothing: quotes, backslashes, control and
    non-ASCII characters, and integers at both ends of a BIGINT, read back as sent."""
    group = PgGroupCommit(store.engine.url.render_as_string(hide_password=False))
    appending = Sql(
        "INSERT INTO data_versions (name, version) VALUES (:name, :version)", appends=True
    )
    rows = [
        {"name": "json-test 'quoted' \\back\\slash \"double\"", "version": 2**63 - 1},
        {"name": "json-test Ärzte ✓ 𝄞 \t\n", "version": -(2**63)},
        {"name": 'json-test {"a": [1]}', "version": 0},
    ]

    async def one_batch() -> None:
        await asyncio.gather(*(group.commit([(appending, row)]) for row in rows))
        await group.aclose()

    asyncio.run(one_batch())
    with store.engine.begin() as conn:
        got = conn.execute(
            text(
                "SELECT name, version, xmin::text FROM data_versions "
                "WHERE name LIKE 'json-test%' ORDER BY version DESC"
            )
        ).all()
        conn.execute(text("DELETE FROM data_versions WHERE name LIKE 'json-test%'"))
    assert [(name, version) for name, version, _ in got] == sorted(
        ((row["name"], row["version"]) for row in rows), key=lambda row: -row[1]
    )
    assert len({xmin for _, _, xmin in got}) == 1  # one statement, one transaction


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tokens SET revoked_at = :now",
        "INSERT INTO data_versions (name, version) VALUES (:name, 1)",
        "INSERT INTO data_versions (name, version) VALUES (:version, :name)",
        "INSERT INTO data_versions (name, version) SELECT :name, :version",
    ],
)
def test_an_appended_row_is_a_one_row_insert_of_its_columns_named_parameters(
    statement: str,
) -> None:
    """Only a statement whose rows the batch can carry as JSON objects keyed by column may
    be appended: anything else is refused when it is written, not at its first batch."""
    with pytest.raises(ValueError):
        Sql(statement, appends=True)
