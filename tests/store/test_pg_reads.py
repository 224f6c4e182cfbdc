"""The hot reads' PostgreSQL connections (store/pg_reads.py): bounded per event loop, reused,
and replaced when the server closed them while idle."""

from __future__ import annotations

import asyncio

import psycopg
import pytest

from ninja_oauth.store.pg_reads import KEEP_IDLE, MAX_OPEN, LoopConnections, conninfo

PID = "SELECT pg_backend_pid(), pg_sleep(%(pause)s)"


@pytest.fixture
def url(pg_database_url: str) -> str:
    return pg_database_url


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


def test_a_connection_the_server_closed_while_idle_is_replaced(url: str) -> None:
    reads = LoopConnections(url)

    async def scenario() -> tuple[int, int]:
        (first, _) = await reads.fetch(PID, {"pause": 0}, every=False)
        with psycopg.connect(conninfo(url), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (first,))
        await asyncio.sleep(0.2)  # the server's goodbye reaches the idle connection's socket
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
