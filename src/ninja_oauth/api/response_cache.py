"""A response cache: serialized bodies kept per table version (store/repositories/versions.py).

A list read whose answer depends on one table only can keep the bytes it sent, keyed by its
query parameters, and send them again while the table's version is unchanged: the bearer check
and the scope check still run on every request; what is skipped is reading the rows, building
the response models and serializing them. The version is read before the rows, so a body is
never older than the version it is kept under (a write in between only bumps the version past
it, and the next request reads afresh).
"""

from __future__ import annotations

from collections.abc import Hashable


class ResponseCache:
    """Bodies by key, each valid for one version, at most ``max_bytes`` of them in all (then
    all are dropped: the keys are query parameters, which a caller can vary at will)."""

    def __init__(self, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._bodies: dict[Hashable, tuple[int, bytes]] = {}

    def get(self, key: Hashable, version: int) -> bytes | None:
        kept = self._bodies.get(key)
        if kept is None or kept[0] != version:
            return None
        return kept[1]

    def put(self, key: Hashable, version: int, body: bytes) -> None:
        if len(body) > self._max_bytes:
            return
        replaced = self._bodies.pop(key, None)
        if replaced is not None:
            self._bytes -= len(replaced[1])
        if self._bytes + len(body) > self._max_bytes:
            self._bodies.clear()
            self._bytes = 0
        self._bodies[key] = (version, body)
        self._bytes += len(body)
