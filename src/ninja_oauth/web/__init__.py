"""The ASGI app: OAuth routes, login and consent pages, the Public API, one error mapping."""

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
from typing import Any

from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from ninja_oauth import __version__
from ninja_oauth.api import build_api_router
from ninja_oauth.api.errors import API_PREFIX, install_api_error_handlers
from ninja_oauth.api.lane import ApiLane
from ninja_oauth.settings import Settings, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories.maintenance import purge_expired
from ninja_oauth.web import sessions
from ninja_oauth.web.errors import API_EXCEPTION_HANDLERS, EXCEPTION_HANDLERS
from ninja_oauth.web.oauth_routes import oauth_routes, post_lanes
from ninja_oauth.web.security import SecurityHeaders, install_log_filters
from ninja_oauth.web.services import Services, templates


def create_app(settings: Settings, store: Store | None = None) -> Starlette:
    """Build the app for one configuration; the database must already be migrated.

    The root is a Starlette app holding the OAuth endpoints and pages; the Public API is a
    FastAPI app mounted beneath it (for its OpenAPI docs and models). The token endpoint so
    never pays for FastAPI's layers, and only the browser pages carry the session middleware.
    Requests under /v2/ skip the root's routes and go straight to the API (``_Root``), through
    its lane for the reads (api/lane.py).
    """
    install_log_filters()
    own_store = store is None
    the_store = store or Store(settings.url)
    svc = Services.build(settings, the_store)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        purger = asyncio.create_task(_purge_periodically(the_store, settings))
        try:
            yield
        finally:
            purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purger
            if own_store:
                await the_store.aclose()

    api = FastAPI(
        title="ninja-oauth Public API v2",
        version=__version__,
        description="A slice of the NinjaOne Public API v2. Authorize with a bearer token from "
        "POST /ws/oauth/token.",
        exception_handlers=dict(API_EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        docs_url="/docs",
        redoc_url=None,
    )
    api.include_router(build_api_router())
    install_api_error_handlers(api)

    async def home(request: Request) -> Response:
        return templates.TemplateResponse(request, "home.html", {})

    with_session = partial(
        SessionMiddleware,
        secret_key=hashlib.sha256(b"session:" + settings.key_bytes).hexdigest(),
        session_cookie=sessions.COOKIE_NAME,
        max_age=sessions.SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.issuer.startswith("https://"),
    )
    app = _Root(
        api=ApiLane(api),
        post_lanes=post_lanes(),
        routes=[
            *oauth_routes(with_session),
            Route("/", home),
            Mount("/static", StaticFiles(directory=str(Path(__file__).parent / "static"))),
            Mount("", app=api),
        ],
        exception_handlers=dict(EXCEPTION_HANDLERS),
        middleware=[Middleware(SecurityHeaders, access_log=settings.access_log)],
        lifespan=lifespan,
    )
    for state in (app.state, api.state):
        state.services = svc
        state.store = the_store
        state.hasher = svc.hasher
    return app


class _Root(Starlette):
    """The root app, with two shortcuts from the user middleware (SecurityHeaders) past the
    root's own layers:

    * an HTTP request under /v2/ goes straight to ``api``, the Public API's lane. Those layers
      would only pass it on: no root route but the final ``Mount("", api)`` matches a path
      under /v2/ (checked here), and the API answers its errors itself, 404 and 405 included
      (an unexpected error, which the root's error middleware used to log a second time, is
      now logged once);
    * a POST to a path of ``post_lanes`` (the token, revocation and introspection endpoints)
      goes straight to its lane, the endpoint its route would call (oauth_routes.post_lanes).

    Every other request and the lifespan take the root's whole stack, as does a request under
    a ``root_path`` (its routes then match the path without it).
    """

    def __init__(
        self,
        *,
        api: ASGIApp,
        post_lanes: dict[str, ASGIApp],
        routes: list[BaseRoute],
        **kwargs: Any,
    ) -> None:
        *own, last = routes
        assert isinstance(last, Mount) and last.path == "", "the API is mounted last, at the root"
        for route in own:
            path = getattr(route, "path", None)
            assert isinstance(path, str) and "{" not in path, route
            assert not (path + "/").startswith(_API_PATHS), f"{path} is under {_API_PATHS}"
        routed = {getattr(route, "path", None) for route in own}
        assert routed.issuperset(post_lanes), "each lane is the shortcut of a route"
        super().__init__(routes=routes, **kwargs)
        self._api = api
        self._post_lanes = post_lanes

    def build_middleware_stack(self) -> ASGIApp:
        site = super().build_middleware_stack()
        api = self._with_user_middleware(self._api)
        posts = {path: self._with_user_middleware(lane) for path, lane in self._post_lanes.items()}
        router = self.router

        async def by_path(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http" and not scope.get("root_path"):
                path = scope["path"]
                if path.startswith(_API_PATHS):
                    scope.setdefault("router", router)  # as the root's router sets it
                    await api(scope, receive, send)
                    return
                lane = posts.get(path) if scope["method"] == "POST" else None
                if lane is not None:
                    scope.setdefault("router", router)
                    await lane(scope, receive, send)
                    return
            await site(scope, receive, send)

        return by_path

    def _with_user_middleware(self, app: ASGIApp) -> ASGIApp:
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


_API_PATHS = API_PREFIX + "/"


PURGE_EVERY = 600


async def _purge_periodically(store: Store, settings: Settings) -> None:
    """Expired codes, tokens, pending requests and counters go, every ten minutes."""
    while True:
        try:
            await store.write(
                lambda: purge_expired(store, int(time.time()), settings.throttle_window)
            )
        except Exception as exc:  # a failed purge is retried next time, never fatal
            logging.getLogger("ninja_oauth.purge").warning("purge failed: %s", type(exc).__name__)
        await asyncio.sleep(PURGE_EVERY)


def app_factory() -> Starlette:
    """The no-argument factory workers use (``serve --workers N``); reads NINJA_OAUTH_*."""
    return create_app(load_settings())
