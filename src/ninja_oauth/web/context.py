"""What the web layer's handlers share (settings, store, repositories, the authorization
server, the pending sign-ins), built once per process by ``create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

import anyio
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from ninja_oauth.admin.service import Administration
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.ports import Repositories
from ninja_oauth.oauth.profiles import Profile
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.oauth.server import NinjaAuthorizationServer, build_authorization_server
from ninja_oauth.settings import Settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import build_repositories
from ninja_oauth.store.repositories.administration import SqlAdministration
from ninja_oauth.store.repositories.browser_sessions import SqlBrowserSessions
from ninja_oauth.store.repositories.pending import SqlPending
from ninja_oauth.web.sessions import SESSION_MAX_AGE

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WebContext:
    settings: Settings
    store: Store
    repos: Repositories
    hasher: SecretHasher
    server: NinjaAuthorizationServer
    pending: SqlPending
    sessions: SqlBrowserSessions
    # Password checks at once in this process (web/login_and_consent.py).
    hashing: anyio.CapacityLimiter
    # The console's and the admin API's operations (admin/service.py).
    admin: Administration

    async def hashing_thread(self, work: Callable[..., T], *args: object) -> T:
        """argon2 in a worker thread (tens of milliseconds, 19 MiB each: never on the loop or
        the writer path), at most NINJA_OAUTH_PASSWORD_HASH_CONCURRENCY at once per process;
        the others wait their turn without holding a thread."""
        return await anyio.to_thread.run_sync(partial(work, *args), limiter=self.hashing)

    @classmethod
    def build(cls, settings: Settings, store: Store) -> WebContext:
        hasher = SecretHasher(settings.key_bytes)
        repos = build_repositories(store)
        ctx = CoreContext(
            repos=repos,
            hasher=hasher,
            lifetimes=settings.lifetimes,
            issuer=settings.issuer_value,
            limits=settings.throttle_limits,
            policy=settings.policy,
        )
        return cls(
            settings,
            store,
            repos,
            hasher,
            build_authorization_server(ctx),
            SqlPending(store, settings.pending_limits),
            SqlBrowserSessions(store, hasher, SESSION_MAX_AGE),
            anyio.CapacityLimiter(settings.password_hash_concurrency),
            Administration(repos, SqlAdministration(store), hasher, Profile(settings.profile)),
        )


def context(request: Request) -> WebContext:
    """The context of the app serving ``request`` (its state, set by ``create_app``)."""
    ctx: WebContext = request.app.state.web
    return ctx
