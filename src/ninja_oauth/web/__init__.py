"""The ASGI app: OAuth routes, login and consent pages, the Public API, one error mapping."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from ninja_oauth import __version__
from ninja_oauth.api import build_api_router
from ninja_oauth.settings import Settings, load_settings
from ninja_oauth.store.db import Store
from ninja_oauth.web import sessions
from ninja_oauth.web.errors import EXCEPTION_HANDLERS
from ninja_oauth.web.oauth_routes import oauth_routes
from ninja_oauth.web.security import SecurityHeaders
from ninja_oauth.web.services import Services, templates


def create_app(settings: Settings, store: Store | None = None) -> FastAPI:
    """Build the app for one configuration; the database must already be migrated."""
    own_store = store is None
    the_store = store or Store(settings.url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_store:
            await the_store.aclose()

    app = FastAPI(
        title="ninja-oauth Public API v2",
        version=__version__,
        description="A slice of the NinjaOne Public API v2. Authorize with a bearer token from "
        "POST /ws/oauth/token.",
        lifespan=lifespan,
        exception_handlers=dict(EXCEPTION_HANDLERS),  # type: ignore[arg-type]
        docs_url="/docs",
        redoc_url=None,
    )
    svc = Services.build(settings, the_store)
    app.state.services = svc
    app.state.store = the_store
    app.state.hasher = svc.hasher
    app.router.routes.extend(oauth_routes())
    app.include_router(build_api_router())
    _install_api_errors(app)

    async def home(request: Request) -> Response:
        return templates.TemplateResponse(request, "home.html", {})

    app.add_route("/", home, include_in_schema=False)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    session_key = hashlib.sha256(b"session:" + settings.key_bytes).hexdigest()
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key,
        session_cookie=sessions.COOKIE_NAME,
        max_age=sessions.SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.issuer.startswith("https://"),
    )
    app.add_middleware(SecurityHeaders)
    return app


def _install_api_errors(app: FastAPI) -> None:
    try:
        from ninja_oauth.api.errors import install_api_error_handlers
    except ImportError:
        return
    install_api_error_handlers(app)


def app_factory() -> FastAPI:
    """The no-argument factory workers use (``serve --workers N``); reads NINJA_OAUTH_*."""
    return create_app(load_settings())
