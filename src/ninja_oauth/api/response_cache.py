"""A response cache: serialized bodies kept per table version (store/repositories/versions.py).

A read whose answer depends only on some tables (and on its path and query) can keep the bytes
it sent, keyed by them, and send them again while those tables' versions are unchanged: the
bearer check and the scope check still run on every request; what is skipped is reading the
rows, building the response models and serializing them. The versions are read before the
rows, so a body is never older than the versions it is kept under (a write in between only
bumps a version past them, and the next request reads afresh).
"""

from __future__ import annotations

from collections.abc import Hashable


class ResponseCache:
    """Bodies by key, each valid for one version, at most ``max_bytes`` of them in all (then
    all are dropped: the keys are query parameters, which a caller can vary at will)."""

    def __init__(self, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        self._bodies: dict[Hashable, tuple[Hashable, bytes]] = {}

    def get(self, key: Hashable, version: Hashable) -> bytes | None:
        kept = self._bodies.get(key)
        if kept is None or kept[0] != version:
            return None
        return kept[1]

    def put(self, key: Hashable, version: Hashable, body: bytes) -> None:
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
