"""What grants and endpoints share: the ports, the hasher, lifetimes, issuer and clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ninja_oauth.oauth.config import Issuer, Lifetimes, Policy, ThrottleLimits
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.oauth.usage import IssuedTokens


def _now() -> int:
    return int(time.time())


@dataclass(frozen=True, slots=True)
class CoreContext:
    repos: Repositories
    hasher: SecretHasher
    lifetimes: Lifetimes
    issuer: Issuer
    limits: ThrottleLimits = field(default_factory=ThrottleLimits)
    policy: Policy = field(default_factory=Policy)
    clock: Callable[[], int] = _now
    # Tokens issued per app and grant since the last flush (oauth/usage.py).
    issued: IssuedTokens = field(default_factory=IssuedTokens)
