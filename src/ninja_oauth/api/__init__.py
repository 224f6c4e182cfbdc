"""The resource server: a slice of the NinjaOne Public API v2 (issue 4).

Reads need the ``monitoring`` scope, writes ``management``, remote access ``control``; the
guard in ``guard.py`` enforces this. One FastAPI app serves every /v2 operation and documents
them all at /docs:

* the reads are plain Starlette routes in the app's route table (``reads.py``: the guard, then
  pydantic for the parameters and the response; FastAPI's per-request dependency solver costs
  more than the indexed read behind them);
* the writes are FastAPI routes (its body validation, its dependencies for the guard);
* errors of both become HTTP in ``errors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Security
from fastapi.openapi.utils import get_openapi
from starlette.datastructures import State
from starlette.routing import BaseRoute, Route, Router

from ninja_oauth import __version__
from ninja_oauth.api.errors import DOCUMENTED_ERRORS, install_api_error_handlers
from ninja_oauth.api.guard import bearer_scheme
from ninja_oauth.api.reads import Read, ReadTable
from ninja_oauth.api.routes import (
    activities,
    alerts,
    catalog,
    device_actions,
    devices,
    inventory,
    lists,
    organizations,
    queries,
    ticketing,
    webhooks,
)
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.sealed import WEBHOOK_HEADERS, SecretBox
from ninja_oauth.store.db import Store

# In the order their routes are matched: a module's reads, then its writes.
_READS: list[Read] = [
    *organizations.reads.declared,
    *devices.reads.declared,
    *activities.reads.declared,
    *catalog.reads.declared,
    *alerts.reads.declared,
    *inventory.reads.declared,
    *queries.reads.declared,
    *ticketing.reads.declared,
    *lists.reads.declared,
]
_WRITES = [
    organizations.writes,
    devices.writes,
    device_actions.writes,
    alerts.writes,
    inventory.writes,
    ticketing.writes,
    webhooks.writes,
    lists.writes,
]


@dataclass(frozen=True, slots=True)
class PublicApi:
    """The Public API as the front door serves it (``web/root.py``)."""

    # Every /v2 operation, its OpenAPI document (/openapi.json, shown at /docs) and its errors.
    app: FastAPI
    # The reads alone, for GET and HEAD: the same routes as in ``app``, without the app's
    # middleware layers around them; a GET they do not route goes on to ``app``.
    reads: ReadTable


def build_public_api(
    store: Store,
    hasher: SecretHasher,
    issuer: str,
    *,
    webhook_allowed_hosts: list[str] | tuple[str, ...] = (),
    webhook_allow_loopback: bool = True,
) -> PublicApi:
    """The /v2 app, with its OpenAPI document at /openapi.json (shown at /docs), and its reads.
    ``issuer`` is the server's public base URL (``Settings.issuer``): every link the API
    answers (a dashboard, a remote session) is built on it, never on the request's Host
    header, which the client chooses. ``webhook_allowed_hosts``: the hosts besides loopback a
    webhook may point to (``Settings.webhook_allowed_hosts``)."""
    # What the reads and the writes' dependencies use, and what a test may point elsewhere.
    state = State(
        {
            "store": store,
            "hasher": hasher,
            "issuer": issuer.rstrip("/"),
            "webhook_targets": webhooks.WebhookTargets.of(
                webhook_allowed_hosts, webhook_allow_loopback
            ),
            # The custom header values are stored sealed (ninja_oauth/sealed.py).
            "webhook_headers": SecretBox(hasher.subkey(WEBHOOK_HEADERS)),
        }
    )
    read_routes: list[Route] = [read.route(state) for read in _READS]
    api = FastAPI(
        title="ninja-oauth Public API v2",
        version=__version__,
        description="A slice of the NinjaOne Public API v2. Authorize with a bearer token from "
        "POST /ws/oauth/token.",
        # /docs is the site's page (web/docs.py): Swagger UI from this server, not a CDN.
        docs_url=None,
        redoc_url=None,
        # The reads are in the app's table too: another method on their paths is a 405 there.
        routes=list[BaseRoute](read_routes),
        # A path with a stray trailing slash is a 404, never a redirect: Starlette's would build
        # its Location on the request's Host header and make a client re-send a write's body
        # (and its token) there. The admin API, included in this app, answers alike.
        redirect_slashes=False,
    )
    api.state = state
    for router in _WRITES:
        api.include_router(
            router, dependencies=[Security(bearer_scheme)], responses=DOCUMENTED_ERRORS
        )
    install_api_error_handlers(api)

    documented = [read.documentation() for read in _READS]

    def openapi() -> dict[str, Any]:
        # FastAPI's documented way to extend the document: the reads, which FastAPI does not
        # route, are handed to its generator beside the writes.
        if api.openapi_schema is None:
            api.openapi_schema = get_openapi(
                title=api.title,
                version=api.version,
                description=api.description,
                routes=[*documented, *api.routes],
            )
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]
    # No redirect here either: a GET with a stray slash goes on to the app's 404.
    fallback = Router(routes=read_routes, redirect_slashes=False, default=api)
    return PublicApi(api, ReadTable(read_routes, fallback))
