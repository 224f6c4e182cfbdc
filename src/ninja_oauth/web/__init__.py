"""The ASGI app: the protocol endpoints, the login and consent pages, the Public API."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from ninja_oauth.api import build_public_api
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.sealed import WEBHOOK_HEADERS, SecretBox
from ninja_oauth.settings import Settings, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.maintenance import purge_expired
from ninja_oauth.web import admin_api, docs, home, protocol, sessions
from ninja_oauth.web.bodies import BodyReader
from ninja_oauth.web.console import console_routes
from ninja_oauth.web.context import WebContext
from ninja_oauth.web.errors import SITE_EXCEPTION_HANDLERS
from ninja_oauth.web.root import BodyLimits, Root
from ninja_oauth.web.security import SecurityHeaders, install_log_filters
from ninja_oauth.web.webhook_delivery import deliver_webhooks


def create_app(settings: Settings, store: Store | None = None) -> ASGIApp:
    """Build the server for one configuration; the database must already be migrated.

    The request path (README, "Architecture"): SecurityHeaders → ``Root``, which sends a POST
    to the token, revocation or introspection endpoint straight to it, a GET or HEAD under
    ``/v2/`` to the Public API's reads, the rest of ``/v2/`` and ``/openapi.json`` to the Public
    API's FastAPI app, and everything else to the site (a Starlette app with the pages, /docs
    included; only they carry the session middleware). The site runs the lifespan.
    """
    install_log_filters()
    own_store = store is None
    the_store = store or Store(settings.url)
    ctx = WebContext.build(settings, the_store)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        purger = asyncio.create_task(_purge_periodically(the_store, settings))
        counter = asyncio.create_task(_flush_usage_periodically(ctx, settings.usage_flush_seconds))
        # Issue 14: POSTs recorded activities to the webhooks that want them.
        deliverer = asyncio.create_task(
            deliver_webhooks(
                the_store,
                SecretBox(ctx.hasher.subkey(WEBHOOK_HEADERS)),
                settings.webhook_allowed_hosts,
                settings.webhook_allow_loopback,
            )
        )
        try:
            yield
        finally:
            for task in (purger, counter, deliverer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await _flush_usage(ctx)  # what was counted since the last flush
            if own_store:
                await the_store.aclose()

    with_session = Middleware(
        SessionMiddleware,
        secret_key=hashlib.sha256(b"session:" + settings.key_bytes).hexdigest(),
        session_cookie=sessions.COOKIE_NAME,
        path=sessions.COOKIE_PATH,
        max_age=sessions.SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.issuer.startswith("https://"),
    )
    site = Starlette(
        routes=[
            *protocol.site_routes(with_session),
            *console_routes(),
            Route("/", home.home),
            *docs.docs_routes(),
            Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static"))),
        ],
        exception_handlers=dict(SITE_EXCEPTION_HANDLERS),
        middleware=[Middleware(sessions.FirstCookieOfEachName)],
        lifespan=lifespan,
    )
    site.state.web = ctx
    # A path with a stray trailing slash is a 404, never a redirect: a redirect would rebuild
    # the query (an authorize request's client_secret) into a Location header, and make a
    # client re-send a form (a password, a client secret) to the URL it builds.
    site.router.redirect_slashes = False
    api = build_public_api(
        the_store,
        ctx.hasher,
        ctx.settings.issuer,
        webhook_allowed_hosts=settings.webhook_allowed_hosts,
        webhook_allow_loopback=settings.webhook_allow_loopback,
    )
    # The admin API lives in the same FastAPI app, so /docs documents it beside /v2. Its
    # session cookie is read as the console's is: the first of its name.
    admin_api.install(api.app, ctx)
    api.app.add_middleware(sessions.FirstCookieOfEachName)
    limits = BodyLimits(api=settings.max_body_bytes, timeout=settings.body_timeout)
    bodies = BodyReader(limits.timeout)
    root = Root(
        posted=protocol.posted_endpoints(ctx, bodies),
        api=api.app,
        api_reads=api.reads,
        site=site,
        limits=limits,
        bodies=bodies,
    )
    return SecurityHeaders(root, access_log=settings.access_log)


PURGE_EVERY = 600


async def _purge_periodically(store: Store, settings: Settings) -> None:
    """Expired codes, tokens, pending requests and counters go, every ten minutes."""
    while True:
        try:
            # On the writer path; purge_expired commits one table at a time.
            await store.write(
                lambda: purge_expired(store, int(time.time()), settings.throttle_window)
            )
        except Exception as exc:  # a failed purge is retried next time, never fatal
            logging.getLogger("ninja_oauth.purge").warning("purge failed: %s", type(exc).__name__)
        await asyncio.sleep(PURGE_EVERY)


async def _flush_usage(ctx: WebContext) -> None:
    """Write the token counts of this process (``oauth/usage.py``); kept for the next try if
    the database cannot take them now."""
    issued = ctx.server.ctx.issued
    usage = issued.drain()
    if not usage.counts:
        return
    try:
        await ctx.store.run(partial(ctx.admin.record_usage, usage), Writes.CHANGES)
    except Exception as exc:
        issued.restore(usage)
        logging.getLogger("ninja_oauth.usage").warning(
            "token counts not written yet: %s", type(exc).__name__
        )
    except BaseException:
        issued.restore(usage)  # cancelled at shutdown: the last flush writes them
        raise


async def _flush_usage_periodically(ctx: WebContext, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        await _flush_usage(ctx)


def app_factory() -> ASGIApp:
    """The no-argument factory workers use (``serve --workers N``); reads NINJA_OAUTH_*."""
    return create_app(load_settings())
