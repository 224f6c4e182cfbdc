"""A migrated store opened for a test and closed after it (the store and fault tests), and the
migrations' head."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alembic.script import ScriptDirectory

from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import alembic_config, migrate


def head_revision(url: str) -> str:
    """The newest migration's revision, which a migrated database records."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert head is not None
    return head


@contextmanager
def migrated_store(url: str) -> Iterator[Store]:
    migrate(url)
    opened = Store(url)
    try:
        yield opened
    finally:
        opened.close()
