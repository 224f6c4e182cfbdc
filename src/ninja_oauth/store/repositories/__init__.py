"""SQLAlchemy Core implementations of the core's ports (``oauth/ports.py``)."""

from __future__ import annotations

from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.apps import SqlApps
from ninja_oauth.store.repositories.audit import SqlAudit
from ninja_oauth.store.repositories.codes import SqlCodes
from ninja_oauth.store.repositories.consents import SqlConsents
from ninja_oauth.store.repositories.throttle import SqlThrottle
from ninja_oauth.store.repositories.tokens import SqlTokens
from ninja_oauth.store.repositories.users import SqlUsers


def build_repositories(store: Store) -> Repositories:
    return Repositories(
        apps=SqlApps(store),
        users=SqlUsers(store),
        codes=SqlCodes(store),
        tokens=SqlTokens(store),
        consents=SqlConsents(store),
        throttle=SqlThrottle(store),
        audit=SqlAudit(store),
    )
