"""How many tokens each app was issued, per grant, since the last flush (per process).

The audit log keeps counts, never values (issue 11), and an app's "last used" time. Writing a
row per issued token would add a write to the token path, which the benchmarks keep lean; so
each process counts in memory and the web layer writes the counts every
``NINJA_OAUTH_USAGE_FLUSH_SECONDS`` (default 60) and at shutdown: one ``tokens_issued`` event
per app and grant, and the app's ``last_used_at``. A process killed outright loses at most
that interval's counts (README, "Audit log").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    """What was counted since the last drain."""

    counts: dict[tuple[str, str], int]  # (client_id, grant_type) -> tokens issued
    last_used: dict[str, int]  # client_id -> when its last token was issued


class IssuedTokens:
    """Thread-safe counters (tokens are saved on the event loop or on the writer's threads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}
        self._last: dict[str, int] = {}

    def count(self, client_id: str, grant_type: str, at: int) -> None:
        key = (client_id, grant_type)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            if self._last.get(client_id, 0) < at:
                self._last[client_id] = at

    def drain(self) -> Usage:
        with self._lock:
            counts, last = self._counts, self._last
            self._counts, self._last = {}, {}
        return Usage(counts, last)

    def restore(self, usage: Usage) -> None:
        """Put back what a failed flush could not write; the next flush tries again."""
        with self._lock:
            for key, n in usage.counts.items():
                self._counts[key] = self._counts.get(key, 0) + n
            for client_id, at in usage.last_used.items():
                if self._last.get(client_id, 0) < at:
                    self._last[client_id] = at
