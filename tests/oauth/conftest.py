"""Fixtures of the protocol-core tests: a fresh core on fakes per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.oauth.harness import Core


@pytest.fixture
def core_factory() -> Callable[..., Core]:
    """Build a core with other lifetimes or throttle limits."""
    return Core


@pytest.fixture
def core(core_factory: Callable[..., Any]) -> Core:
    built: Core = core_factory()
    return built
