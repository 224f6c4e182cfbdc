"""Fixtures of the client SDK tests: the Authlib test server, a private token cache, and a clock
that lets tokens expire without waiting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ninja_oauth.client import TokenCache
from tests.support.clock import FakeClock

from .authlib_server import RunningServer

CLIENT_ENV = ("NINJA_CLIENT_ID", "NINJA_CLIENT_SECRET", "NINJA_REGION", "NINJA_BASE_URL")


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's NINJA_* settings or touches their real token cache."""
    for name in CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NINJA_OAUTH_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def token_cache(tmp_path: Path) -> TokenCache:
    return TokenCache(tmp_path / "cache")


@pytest.fixture
def clock() -> FakeClock:
    """Pass as `clock=` to the SDK, then `clock.advance(seconds)`."""
    return FakeClock()


@pytest.fixture(scope="session")
def authlib_server() -> Iterator[RunningServer]:
    server = RunningServer().start()
    yield server
    server.stop()
