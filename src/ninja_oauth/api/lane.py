"""The short way from the root app to the /v2 reads, past FastAPI's per-request layers.

Through the FastAPI app, a bearer-protected read pays more for the layers around its handler
than for the handler: five middlewares, a router that matches the path again at each level of
``include_router`` (FastAPI keeps included routers as nested views and re-matches on the way
in), two exit stacks per request. The lane answers the requests a ``LeanRoute`` answers leanly
with the same parts, and hands every other request, untouched, to the FastAPI app:

* routing: FastAPI's own flattened view of its routes (``iter_route_contexts``: every route as
  included, with its prefix, dependencies and responses), matched in the router's order with
  each route's compiled path, convertors and methods; the first full match wins, as in the
  router. No full match (a 404, a 405, a trailing-slash redirect) goes to the app;
* the handler: ``lean_handler`` of the matched route's view, the one FastAPI's pipeline runs;
  when it answers None (a parameter fails validation, overrides are set) the app answers;
* errors: Starlette's ServerErrorMiddleware and ExceptionMiddleware with the app's exception
  handlers, split between the two as FastAPI's ``build_middleware_stack`` splits them. A
  request that raises nothing pays nothing for them: an exception is raised again inside
  them, before or after a response start, as it happened (``_raise_in``);
* the layers left out do nothing for such a request: FastAPI's AsyncExitStackMiddleware and the
  route's exit stacks (used by dependencies with yield and uploaded files: a lean route has
  neither), the body limits (the lane steps aside where one is set, and a lean route never
  reads the body), telemetry (the lane steps aside while FastAPI's telemetry is enabled,
  which it checks at most once a second).

Where the app has anything the lane does not reproduce (user middleware, a root path, a body
limit, routes other than APIRoute and Route), the lane hands everything to the app.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ninja_oauth.api.lean import LeanHandler, LeanRoute, lean_handler

try:  # FastAPI internals: without them the lane hands every request to the app.
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - depends on the FastAPI version
    iter_route_contexts = None  # type: ignore[assignment]


@dataclass(frozen=True)
class _Entry:
    """One route as the router matches it; ``handler`` None: the app answers it."""

    path_regex: re.Pattern[str]
    param_convertors: dict[str, Any]
    methods: frozenset[str] | None
    endpoint: Callable[..., Any] | None
    route: Route
    handler: LeanHandler | None


class ApiLane:
    """An ASGI app in front of ``api`` that answers its lean reads itself."""

    def __init__(self, api: FastAPI) -> None:
        self.api = api
        # Built on the first request, as FastAPI builds its middleware stack: routes and
        # exception handlers are all registered by then (FastAPI, too, reads the handlers once).
        self._built = False
        self._entries: list[_Entry] = []
        self._telemetry_enabled: Callable[[], bool] = lambda: True
        self._errors: ASGIApp = _raise
        self._errors_after_start: ASGIApp = _raise

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._built:
            self._build()
        if (
            scope["type"] == "http"
            and self._entries
            and not scope.get("root_path")  # FastAPI then matches the path without it
            and not self._telemetry_enabled()
        ):
            try:
                entry, path_params = self._match(scope)
            except Exception:  # a path convertor failing: the app's router fails as it does
                entry, path_params = None, {}
            if entry is not None and entry.handler is not None:
                # What FastAPI's app and router put in the scope before the route runs.
                scope["app"] = self.api
                if "router" not in scope:
                    scope["router"] = self.api.router
                scope["endpoint"] = entry.endpoint
                scope["path_params"] = path_params
                scope["route"] = entry.route
                try:
                    answer = entry.handler(Request(scope, receive, send))
                except Exception as exc:  # as if raised in the route: the handler runs there
                    await _raise_in(self._errors, exc, scope, receive, send)
                    return
                if answer is not None:
                    await self._respond(answer, scope, receive, send)
                    return
        await self.api(scope, receive, send)

    async def _respond(
        self, answer: Awaitable[Response], scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            response = await answer
        except Exception as exc:
            await _raise_in(self._errors, exc, scope, receive, send)
            return
        try:
            await response(scope, receive, send)
        except Exception as exc:
            # The response had started (Response.__call__ sends its start message first): the
            # middlewares may log and re-raise, and have nothing more to send.
            await _raise_in(self._errors_after_start, exc, scope, receive, _sent_already)

    def _match(self, scope: Scope) -> tuple[_Entry | None, dict[str, Any]]:
        path = scope["path"]
        method = scope["method"]
        for entry in self._entries:
            match = entry.path_regex.match(path)
            if match is None or (entry.methods is not None and method not in entry.methods):
                continue
            params = dict(scope.get("path_params", {}))
            for key, value in match.groupdict().items():
                params[key] = entry.param_convertors[key].convert(value)
            return entry, params
        return None, {}

    def _build(self) -> None:
        self._built = True
        api = self.api
        telemetry = getattr(getattr(api, "_native_telemetry", None), "enabled", None)
        if (
            iter_route_contexts is None
            or telemetry is None
            or api.user_middleware
            or api.root_path
            or getattr(api, "max_body_size", None) is not None
        ):
            return
        entries: list[_Entry] = []
        for context in iter_route_contexts(api.routes):
            route = context.original_route
            if not isinstance(route, Route):  # a mount, a host, a websocket: the app's
                return
            handler = None
            if isinstance(route, LeanRoute) and getattr(context, "max_body_size", None) is None:
                handler = lean_handler(context)
            entries.append(
                _Entry(
                    path_regex=context.path_regex,
                    param_convertors=context.param_convertors,
                    methods=frozenset(context.methods) if context.methods else None,
                    endpoint=context.endpoint,
                    route=route,
                    handler=handler,
                )
            )
        # As FastAPI's build_middleware_stack: the handler of Exception (or 500) answers in
        # ServerErrorMiddleware, the others in ExceptionMiddleware.
        error_handler = None
        handlers: dict[Any, Any] = {}
        for key, value in api.exception_handlers.items():
            if key in (500, Exception):
                error_handler = value
            else:
                handlers[key] = value

        def errors(app: ASGIApp) -> ASGIApp:
            return ServerErrorMiddleware(
                ExceptionMiddleware(app, handlers=handlers, debug=api.debug),
                handler=error_handler,
                debug=api.debug,
            )

        self._errors = errors(_raise)
        self._errors_after_start = errors(_start_then_raise)
        self._telemetry_enabled = _checked_at_most_every_second(telemetry)
        self._entries = entries


_clock = time.monotonic  # the lane's own name for it, so that a test can move it alone


def _checked_at_most_every_second(enabled: Callable[[], bool]) -> Callable[[], bool]:
    """FastAPI's telemetry check, cached: it asks OpenTelemetry for each of its three global
    providers, reading the environment each time, which cost a twentieth of a read request.
    It can only turn on (FastAPI reads its settings once, and an OpenTelemetry provider once
    set is never unset): once on, it stays on; while off, it is asked again after a second. A
    provider set while serving so reaches the lane's requests within a second."""
    on = False
    asked = -1.0

    def check() -> bool:
        nonlocal on, asked
        if on:
            return True
        now = _clock()
        if now - asked >= 1.0:
            asked = now
            on = enabled()
        return on

    return check


# The scope key carrying an exception into the error middlewares (ASGI passes per-request data
# in the scope, as Starlette does its exception handlers).
_RAISED = "ninja_oauth.lane.raised"


async def _raise_in(
    errors: ASGIApp, exc: Exception, scope: Scope, receive: Receive, send: Send
) -> None:
    """Let ``errors`` (the middlewares) answer ``exc`` as if the route had raised it there."""
    scope[_RAISED] = exc
    await errors(scope, receive, send)


async def _raise(scope: Scope, _receive: Receive, _send: Send) -> None:
    raise scope.pop(_RAISED)


async def _start_then_raise(scope: Scope, _receive: Receive, send: Send) -> None:
    # The middlewares learn that a response started from its start message; this one stands
    # for the one already sent and goes no further than them (``_sent_already``).
    await send({"type": "http.response.start", "status": 500, "headers": []})
    raise scope.pop(_RAISED)


async def _sent_already(_message: Message) -> None:
    pass
