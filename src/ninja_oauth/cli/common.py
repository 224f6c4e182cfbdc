"""What the server commands share (serve, apps, users, consents, audit, demo-data): settings, a
migrated store, the administration service, one-line errors and plain tables. The client
commands share `client_common` instead: they open no database."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import typer

from ninja_oauth.admin.service import MAX_PAGE_SIZE, AdminError, Administration, Page
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.settings import Settings, SettingsError, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.repositories.administration import SqlAdministration

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"ninja-oauth: {message}", err=True)
    sys.exit(code)


@dataclass
class Context:
    settings: Settings
    store: Store
    repos: Repositories
    hasher: SecretHasher


def load(**overrides: object) -> Settings:
    try:
        return load_settings(**overrides)
    except SettingsError as exc:
        fail(str(exc), 2)


@contextlib.contextmanager
def opened(settings: Settings | None = None) -> Iterator[Context]:
    """Settings, a migrated database (every command works on a new one), repositories."""
    settings = settings or load()
    try:
        migrate(settings.url)
    except Exception as exc:
        fail(f"cannot open the database ({type(exc).__name__}): check NINJA_OAUTH_DATABASE_URL")
    store = Store(settings.url)
    try:
        yield Context(settings, store, build_repositories(store), SecretHasher(settings.key_bytes))
    finally:
        store.close()


def administration(ctx: Context) -> Administration:
    """The service the console and the admin API use too, so the three never disagree
    (issue 11). A change runs inside ``ctx.store.transaction()``: with its audit event."""
    return Administration(
        ctx.repos, SqlAdministration(ctx.store), ctx.hasher, Profile(ctx.settings.profile)
    )


@contextlib.contextmanager
def refused() -> Iterator[None]:
    """A refused operation as one line: exit 2 for bad input (the API's 400), 1 otherwise
    (not found, conflict). Enter it outside the transaction, which then rolls back first."""
    try:
        yield
    except AdminError as exc:
        fail(exc.message, 2 if exc.status == 400 else 1)


def every(page: Callable[[int, int], Page[T]]) -> list[T]:
    """All the items of a paged listing (``page(offset, limit)``)."""
    items: list[T] = []
    while True:
        got = page(len(items), MAX_PAGE_SIZE)
        items.extend(got.items)
        if not got.items or len(items) >= got.total:
            return items


def when(at: int | None) -> str:
    """A Unix time as ISO 8601 in UTC, to the second; ``-`` for never."""
    if at is None:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Columns aligned on the widest cell, the last one left ragged; nothing for no rows."""
    if not rows:
        return
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for cells in (headers, *rows):
        line = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
        typer.echo(f"{line}  {cells[-1]}".rstrip() if line else cells[-1])
