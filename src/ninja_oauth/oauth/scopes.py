"""Scopes as the documents name them, their words for the consent page, and scope resolution."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from enum import StrEnum


class Scope(StrEnum):
    MONITORING = "monitoring"
    MANAGEMENT = "management"
    CONTROL = "control"
    OFFLINE_ACCESS = "offline_access"
    # The admin API's scope (/admin/api): only an admin app has it, by client_credentials.
    ADMIN = "admin"


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
    Scope.ADMIN: "Administer this server: apps, users, consents and the audit log",
}


def describe(scope: Scope) -> str:
    """The sentence the consent page shows for a scope."""
    return _DESCRIPTIONS[scope]


def parse_scope(value: str | None) -> list[str]:
    """Split a space-delimited scope parameter (RFC 6749 §3.3), keeping order, dropping repeats."""
    return list(_parsed(value)) if value else []


# Scope strings repeat from request to request (each token request parses and joins them a
# few times): both are kept per distinct value, a bounded number of them.
@functools.lru_cache(maxsize=1024)
def _parsed(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value.split()))


_ORDER = {s.value: i for i, s in enumerate(Scope)}


def join_scope(scopes: Iterable[str]) -> str:
    """Canonical space-delimited form: configured scopes first in document order."""
    return _joined(frozenset(scopes))


@functools.lru_cache(maxsize=1024)
def _joined(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes, key=lambda s: (_ORDER.get(s, len(_ORDER)), s)))
