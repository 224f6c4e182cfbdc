"""The protocol core imports Authlib and the standard library only (STYLE §1 item 2)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ninja_oauth.oauth

CORE = Path(ninja_oauth.oauth.__file__).parent
FORBIDDEN = ("starlette", "fastapi", "sqlalchemy", "alembic", "psycopg", "httpx", "jinja2")
OUR_OTHER_PACKAGES = ("ninja_oauth.web", "ninja_oauth.store", "ninja_oauth.api", "ninja_oauth.cli")


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: inside the core by construction
                found.append("ninja_oauth.oauth")
            elif node.module:
                found.append(node.module)
    return found


def _core_imports() -> dict[str, list[str]]:
    return {str(path.relative_to(CORE)): _imports(path) for path in sorted(CORE.rglob("*.py"))}


def test_the_core_has_modules_to_check() -> None:
    modules = _core_imports()
    assert {"server.py", "ports.py", "grants/authorization_code.py"} <= set(modules)


def test_the_core_imports_no_web_framework_and_no_sql() -> None:
    offending = {
        module: [name for name in names if name.split(".")[0] in FORBIDDEN]
        for module, names in _core_imports().items()
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_the_core_imports_nothing_from_the_other_parts_of_the_package() -> None:
    offending = {
        module: [name for name in names if name.startswith(OUR_OTHER_PACKAGES)]
        for module, names in _core_imports().items()
    }
    assert {m: n for m, n in offending.items() if n} == {}


def test_the_core_imports_only_authlib_the_standard_library_and_itself() -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"authlib", "__future__"}
    offending = {
        module: [
            name
            for name in names
            if name.split(".")[0] not in allowed_roots
            and not (name == "ninja_oauth.oauth" or name.startswith("ninja_oauth.oauth."))
            and name != "ninja_oauth"
        ]
        for module, names in _core_imports().items()
    }
    assert {m: n for m, n in offending.items() if n} == {}
