"""The public surface of `ninja_oauth.client` (as httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ninja_oauth.client as client


def test_all_is_sorted_and_lists_every_public_name() -> None:
    public = {name for name in dir(client) if not name.startswith("_")}
    modules = {
        "auth",
        "cache",
        "errors",
        "flows",
        "loopback",
        "manager",
        "pkce",
        "regions",
        "tokens",
    }

    assert client.__all__ == sorted(client.__all__)
    assert client.__all__ == sorted(client.__all__, key=str.casefold)
    assert set(client.__all__) == public - modules


def test_every_typed_error_is_importable_from_the_package() -> None:
    from ninja_oauth.client import InvalidClient, InvalidGrant, InvalidScope, OAuthError

    assert all(issubclass(e, OAuthError) for e in (InvalidClient, InvalidGrant, InvalidScope))


def test_the_sdk_depends_on_httpx_platformdirs_and_the_standard_library_only() -> None:
    found: set[str] = set()
    for path in Path(client.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)

    outside = {
        name
        for name in found
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith("ninja_oauth.client")
    }
    assert outside == {"httpx", "platformdirs"}
