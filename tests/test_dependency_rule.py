"""The package's dependency rule (STYLE §3): cli → web, api, store, oauth, settings, client,
serving; admin → oauth, store, passwords; web → admin, api, oauth, store, settings, sealed;
api → oauth, store, sealed; store → oauth, settings, limits; oauth → authlib and the standard
library; sealed → cryptography; client → httpx (never the server's modules); serving → uvicorn
(it imports the app it serves by name)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ninja_oauth

ROOT = Path(ninja_oauth.__file__).parent

# Which of our own parts each part may import (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "oauth": set(),
    "store": {"oauth", "settings", "passwords", "limits"},
    "api": {"oauth", "store", "sealed"},
    "admin": {"oauth", "store", "passwords"},
    "web": {"admin", "api", "oauth", "store", "settings", "passwords", "limits", "sealed"},
    "cli": {"admin", "web", "api", "store", "oauth", "settings", "passwords", "client", "serving"},
    "client": set(),
    "sealed": set(),
    "serving": set(),  # imports the app it serves by name, in the worker
}


def _part(path: Path) -> str:
    rel = path.relative_to(ROOT)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _our_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "ninja_oauth" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_the_rule_allows(part: str) -> None:
    files = [p for p in ROOT.rglob("*.py") if _part(p) == part]
    assert files, f"no modules found for {part}"
    offending = {
        str(p.relative_to(ROOT)): sorted(_our_imports(p) - ALLOWED[part] - {part}) for p in files
    }
    assert {k: v for k, v in offending.items() if v} == {}
