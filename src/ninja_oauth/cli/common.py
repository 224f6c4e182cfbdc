"""What the server commands share (serve, apps, users, demo-data): settings, a migrated store,
one-line errors. The client commands share `client_common` instead: they open no database."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NoReturn

import typer

from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.settings import Settings, SettingsError, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.migrate import migrate
from ninja_oauth.store.repositories import build_repositories


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
