"""Scopes as the documents name them, their words for the consent page, and scope resolution."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    MONITORING = "monitoring"
    MANAGEMENT = "management"
    CONTROL = "control"
    OFFLINE_ACCESS = "offline_access"


# The scopes an app can be configured with (DESIGN §6: offline_access never is).
API_SCOPES: tuple[Scope, ...] = (Scope.MONITORING, Scope.MANAGEMENT, Scope.CONTROL)

# Words from the documents' "Scopes" list ("Register Machine-to-Machine Applications").
_DESCRIPTIONS: dict[Scope, str] = {
    Scope.MONITORING: "Read-only access to monitoring data and organization structure",
    Scope.MANAGEMENT: (
        "Modify device and organization information, including creating organizations, "
        "adding devices and running scripts"
    ),
    Scope.CONTROL: "Remote access to devices via the API",
    Scope.OFFLINE_ACCESS: "Stay connected when you are not present (refresh tokens)",
}


def describe(scope: Scope) -> str:
    """The sentence the consent page shows for a scope."""
    return _DESCRIPTIONS[scope]


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope parameter (RFC 6749 §3.3), keeping order, dropping repeats."""
    if not value:
        return []
    seen: dict[str, None] = {}
    for item in value.split():
        seen.setdefault(item, None)
    return list(seen)


_ORDER = {s.value: i for i, s in enumerate(Scope)}


def join_scope(scopes: Iterable[str]) -> str:
    """Canonical space-delimited form: configured scopes first in document order."""
    return " ".join(sorted(set(scopes), key=lambda s: (_ORDER.get(s, len(_ORDER)), s)))
