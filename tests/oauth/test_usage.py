"""The per-process token counters behind the audit log's ``tokens_issued`` events."""

from __future__ import annotations

import threading

from ninja_oauth.oauth.usage import IssuedTokens


def test_counts_per_app_and_grant_and_the_latest_use() -> None:
    issued = IssuedTokens()
    issued.count("a", "client_credentials", 100)
    issued.count("a", "client_credentials", 90)  # an earlier time never moves last use back
    issued.count("a", "refresh_token", 95)
    issued.count("b", "authorization_code", 50)
    usage = issued.drain()
    assert usage.counts == {
        ("a", "client_credentials"): 2,
        ("a", "refresh_token"): 1,
        ("b", "authorization_code"): 1,
    }
    assert usage.last_used == {"a": 100, "b": 50}
    assert issued.drain().counts == {}  # drained: the next flush starts from zero


def test_a_failed_flush_puts_its_counts_back() -> None:
    issued = IssuedTokens()
    issued.count("a", "client_credentials", 10)
    failed = issued.drain()
    issued.count("a", "client_credentials", 20)
    issued.restore(failed)
    usage = issued.drain()
    assert usage.counts == {("a", "client_credentials"): 2}
    assert usage.last_used == {"a": 20}


def test_no_count_is_lost_between_threads() -> None:
    issued = IssuedTokens()
    drained: list[int] = []

    def work() -> None:
        for i in range(5000):
            issued.count("a", "client_credentials", i)

    def drain() -> None:
        for _ in range(200):
            drained.append(sum(issued.drain().counts.values()))

    threads = [threading.Thread(target=work) for _ in range(4)] + [threading.Thread(target=drain)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(drained) + sum(issued.drain().counts.values()) == 4 * 5000
