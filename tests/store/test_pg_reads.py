"""The hot reads' PostgreSQL connections (store/pg_reads.py): bounded per event loop, reused,
and replaced when the server closed them while idle."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
import pytest

from ninja_oauth.store import pg_reads
from ninja_oauth.store.pg_reads import KEEP_IDLE, MAX_OPEN, LoopConnections, conninfo

PID = "SELECT pg_backend_pid(), pg_sleep(%(pause)s)"


@pytest.fixture
def url(pg_database_url: str) -> str:
    return pg_database_url


async def _until(
    admin: psycopg.Connection[Any], query: str, args: tuple[Any, ...], found: bool
) -> None:
    """Poll ``query`` on ``admin`` until it answers a row (``found``) or none, at most 10 s,
    letting the loop run meanwhile."""
    deadline = time.monotonic() + 10
    while (admin.execute(query, args).fetchone() is not None) != found:
        assert time.monotonic() < deadline, f"not {'found' if found else 'gone'}: {query}"
        await asyncio.sleep(0.01)


def test_a_burst_opens_at_most_max_open_connections_and_keeps_some(url: str) -> None:
    reads = LoopConnections(url)

    async def burst() -> tuple[set[int], set[int]]:
        rows = await asyncio.gather(
            *(reads.fetch(PID, {"pause": 0.05}, every=False) for _ in range(3 * MAX_OPEN))
        )
        again = await asyncio.gather(
            *(reads.fetch(PID, {"pause": 0}, every=False) for _ in range(KEEP_IDLE))
        )
        await reads.aclose()
        return {pid for pid, _ in rows}, {pid for pid, _ in again}

    during, after = asyncio.run(burst())
    assert 1 < len(during) <= MAX_OPEN  # the burst ran in parallel, within the bound
    assert after <= during  # the kept connections served the next reads: none opened


@pytest.mark.parametrize("lifetime, connections", [(3600.0, 1), (0.0, 3)])
def test_a_connection_past_its_lifetime_is_replaced(
    url: str, monkeypatch: pytest.MonkeyPatch, lifetime: float, connections: int
) -> None:
    # Its generic plans were made for the tables as they were; a successor plans afresh.
    monkeypatch.setattr(pg_reads, "MAX_LIFETIME", lifetime)
    reads = LoopConnections(url)

    async def one_after_another() -> list[int]:
        pids = [(await reads.fetch(PID, {"pause": 0}, every=False))[0] for _ in range(3)]
        await reads.aclose()
        return pids

    assert len(set(asyncio.run(one_after_another()))) == connections


def test_a_connection_the_server_closed_while_idle_is_replaced(url: str) -> None:
    reads = LoopConnections(url)

    async def scenario() -> tuple[int, int]:
        (first, _) = await reads.fetch(PID, {"pause": 0}, every=False)
        with psycopg.connect(conninfo(url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
            # The backend has gone (its goodbye is then on the idle connection's socket).
            await _until(admin, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (first,), False)
        (second, _) = await reads.fetch(PID, {"pause": 0}, every=False)
        await reads.aclose()
        return first, second

    first, second = asyncio.run(scenario())
    assert second != first


def test_every_row_and_no_row(url: str) -> None:
    reads = LoopConnections(url)

    async def scenario() -> tuple[object, object]:
        every = await reads.fetch("SELECT generate_series(1, 3)", {}, every=True)
        none = await reads.fetch("SELECT 1 WHERE false", {}, every=False)
        await reads.aclose()
        return every, none

    assert asyncio.run(scenario()) == ([(1,), (2,), (3,)], None)


# A keyed statement: one row per key of %(keys)s, the key first, and which backend read it.
KEYED = "SELECT k, upper(k), pg_backend_pid() FROM unnest(CAST(%(keys)s AS text[])) AS k"


def recorded(reads: LoopConnections, monkeypatch: pytest.MonkeyPatch, text: str) -> list[list[str]]:
    """The keys of each statement of ``text`` that ``reads`` sends from now on."""
    statements: list[list[str]] = []
    fetch = reads._fetch

    async def counted(idle: Any, sent: str, params: dict[str, Any], every: bool) -> Any:
        if sent == text:
            statements.append(list(params["keys"]))
        return await fetch(idle, sent, params, every)

    monkeypatch.setattr(reads, "_fetch", counted)
    return statements


def test_keys_asked_for_at_once_are_read_in_one_statement_each_gets_its_row(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = LoopConnections(url)
    statements = recorded(reads, monkeypatch, KEYED)
    keys = [f"key-{i % 12}" for i in range(30)]  # 12 distinct keys, some asked for 3 times

    async def scenario() -> list[object]:
        rows = await asyncio.gather(*(reads.fetch_keyed(KEYED, key) for key in keys))
        await reads.aclose()
        return list(rows)

    rows = asyncio.run(scenario())
    assert [(row[0], row[1]) for row in rows] == [(k, k.upper()) for k in keys]  # type: ignore[index]
    assert len(statements) == 1 and sorted(statements[0]) == sorted(set(keys))


def test_a_key_that_breaks_its_statement_fails_its_own_requests_only(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = LoopConnections(url)
    broken = "SELECT k, 1 / (length(k) - 3) FROM unnest(CAST(%(keys)s AS text[])) AS k"
    statements = recorded(reads, monkeypatch, broken)

    async def scenario() -> list[object]:
        keys = ("abc", "abcd", "abc", "abcde")  # "abc" divides by zero
        rows = await asyncio.gather(
            *(reads.fetch_keyed(broken, key) for key in keys), return_exceptions=True
        )
        await reads.aclose()
        return list(rows)

    first, second, third, fourth = asyncio.run(scenario())
    assert isinstance(first, psycopg.errors.DivisionByZero), first
    assert isinstance(third, psycopg.errors.DivisionByZero), third
    assert (second, fourth) == (("abcd", 1), ("abcde", 0))
    # One statement for the three keys, which failed; then one for each key.
    assert statements == [["abc", "abcd", "abcde"], ["abc"], ["abcd"], ["abcde"]]


def test_a_server_that_cannot_answer_fails_every_key_of_the_statement_at_once(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Read key by key, an outage would cost each request the timeout once per key before it.
    reads = LoopConnections(url)
    statements: list[list[str]] = []

    async def unreachable(idle: object, text: str, params: dict[str, Any], every: bool) -> Any:
        statements.append(list(params["keys"]))
        raise psycopg.OperationalError("connection timeout expired")

    monkeypatch.setattr(reads, "_fetch", unreachable)

    async def scenario() -> list[object]:
        keys = [f"key-{i}" for i in range(5)]
        return list(
            await asyncio.gather(
                *(reads.fetch_keyed(KEYED, k) for k in keys), return_exceptions=True
            )
        )

    failed = asyncio.run(scenario())
    assert all(isinstance(e, psycopg.OperationalError) for e in failed), failed
    assert len(statements) == 1


def test_a_request_that_went_away_leaves_the_others_their_rows(url: str) -> None:
    reads = LoopConnections(url)

    async def scenario() -> tuple[bool, list[object]]:
        leaving = asyncio.ensure_future(reads.fetch_keyed(KEYED, "gone"))
        staying = [asyncio.ensure_future(reads.fetch_keyed(KEYED, k)) for k in ("a", "b")]
        await asyncio.sleep(0)  # all three wait for the statement
        leaving.cancel()
        rows = await asyncio.gather(*staying)
        await reads.aclose()
        return leaving.cancelled(), [row[0] for row in rows]

    cancelled, keys = asyncio.run(scenario())
    assert cancelled and keys == ["a", "b"]


def test_the_connections_use_generic_plans_and_keep_the_url_s_own_options(url: str) -> None:
    # A keyed statement (unnest of the keys) was planned again at every execution under
    # PostgreSQL's default plan_cache_mode; the URL's own options must survive the addition.
    own = url + ("&" if "?" in url else "?") + "options=-c%20statement_timeout%3D4321"
    reads = LoopConnections(own)

    async def settings() -> object:
        row = await reads.fetch(
            "SELECT current_setting('plan_cache_mode'), current_setting('statement_timeout')",
            {},
            every=False,
        )
        await reads.aclose()
        return row

    assert asyncio.run(settings()) == ("force_generic_plan", "4321ms")


def test_a_keyed_read_cancelled_under_its_statement_leaves_no_request_waiting(url: str) -> None:
    reads = LoopConnections(url)
    slow = "SELECT k, pg_sleep(0.5) FROM unnest(CAST(%(keys)s AS text[])) AS k"

    async def scenario() -> list[bool]:
        waiting = [asyncio.ensure_future(reads.fetch_keyed(slow, key)) for key in ("a", "b")]
        with psycopg.connect(conninfo(url), autocommit=True) as admin:  # the statement runs
            running = "SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query = %s"
            await _until(admin, running, (slow.replace("%(keys)s", "$1"),), True)
        (flusher,) = [t for t in asyncio.all_tasks() if "_flush_keyed" in repr(t.get_coro())]
        flusher.cancel()
        done, _ = await asyncio.wait(waiting, timeout=2)
        await reads.aclose()
        return [f in done and f.cancelled() for f in waiting]

    assert asyncio.run(scenario()) == [True, True]
