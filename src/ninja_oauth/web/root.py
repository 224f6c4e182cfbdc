"""The server's front door: a small pure-ASGI dispatcher with three ways in, chosen by path.

* a POST to an exact path of the protocol table (token, revocation, introspection) goes to
  its endpoint (``web/protocol.py``): the hot path meets no router and no error middleware;
* a GET or HEAD under ``/v2/`` goes to the Public API's table of reads (``ReadTable`` in
  ``api/reads.py``: a dictionary by the path's shape, then plain Starlette routes); a GET
  that is none of them, any other method under ``/v2/`` and the API's OpenAPI document
  (``/openapi.json``) go to the Public API's FastAPI app. Both answer their errors through
  ``api/errors.py``; the page that shows the document, ``/docs``, is the site's
  (``web/docs.py``);
* anything under ``/admin/api/`` goes to the same FastAPI app (the admin API, documented at
  ``/docs`` beside the Public API);
* everything else, the lifespan included, goes to the site: a Starlette app with the
  authorize, login and consent pages, the metadata, the 405s and the static files.

One dictionary lookup and one prefix test per request, instead of a router that tries each
route in turn: the table is the routing model, and it is all here. A request with a body gets
it read whole first, within a size and a time limit (``web/bodies.py``; a protocol POST reads
its own, through the same reader).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ninja_oauth.web.authlib_adapter import MAX_FORM_BYTES
from ninja_oauth.web.bodies import WITHOUT_BODY, BodyReader, Refused, refusal, replay

API_PREFIX = "/v2/"
ADMIN_API_PREFIX = "/admin/api/"
API_DOC_PATHS = frozenset({"/openapi.json"})


class Root:
    """Dispatch each request to the protocol table, the Public API's reads or app, or the
    site."""

    def __init__(
        self,
        *,
        posted: Mapping[str, ASGIApp],
        api: ASGIApp,
        api_reads: ASGIApp,
        site: ASGIApp,
        limits: BodyLimits | None = None,
        bodies: BodyReader | None = None,
    ) -> None:
        self.posted = dict(posted)
        self.api = api
        self.api_reads = api_reads
        self.site = site
        self.limits = limits or BodyLimits()
        self.bodies = bodies or BodyReader(self.limits.timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            if root_path and (path == root_path or path.startswith(root_path + "/")):
                path = path[len(root_path) :] or "/"  # as the routes see it behind a root path
            method: str = scope["method"]
            if method == "POST":
                endpoint = self.posted.get(path)
                if endpoint is not None:
                    await endpoint(scope, receive, send)  # it reads its body (bodies.py)
                    return
            if path.startswith(API_PREFIX):
                if method in ("GET", "HEAD"):
                    await self.api_reads(scope, receive, send)
                else:
                    await self._with_body(self.api, self.limits.api, False, scope, receive, send)
                return
            if path.startswith(ADMIN_API_PREFIX):
                # The admin API is in the Public API's FastAPI app (documented at /docs).
                await self._with_body(
                    self.api, self.limits.form, False, scope, receive, _not_stored(send)
                )
                return
            if path in API_DOC_PATHS:
                await self.api(scope, receive, send)
                return
            if method not in WITHOUT_BODY:
                await self._with_body(self.site, self.limits.form, True, scope, receive, send)
                return
        await self.site(scope, receive, send)

    async def _with_body(
        self, app: ASGIApp, limit: int, site: bool, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """``app`` gets the body only once it is whole, within ``limit`` and the timeout."""
        body = await self.bodies.read(scope, receive, limit)
        if isinstance(body, Refused):
            await refusal(scope, body, page=site)(scope, receive, send)
            return
        await app(scope, replay(body, receive), send)


_NO_STORE = (b"cache-control", b"no-store")


def _not_stored(send: Send) -> Send:
    """``send`` with ``Cache-Control: no-store`` on the answer unless it has a Cache-Control:
    every answer of the admin API, its refusals (401, 403, 405, 413) as well as its data, which
    the Public API's shared error handlers and the router answer without one."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(name == b"cache-control" for name, _ in headers):
                message["headers"] = [*headers, _NO_STORE]
        await send(message)

    return sending


@dataclass(frozen=True, slots=True)
class BodyLimits:
    """Bytes a body may hold: a form (login, consent, token...) or a Public API write; and the
    seconds it may take to arrive (README, "Limits")."""

    form: int = MAX_FORM_BYTES
    api: int = 1024 * 1024
    timeout: float = 10.0
