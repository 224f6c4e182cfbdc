"""A migrated store opened for a test and closed after it (the store and fault tests)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate


@contextmanager
def migrated_store(url: str) -> Iterator[Store]:
    migrate(url)
    opened = Store(url)
    try:
        yield opened
    finally:
        opened.close()
