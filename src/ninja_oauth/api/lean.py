"""A route class that answers the /v2 reads without FastAPI's general dependency solver.

FastAPI solves a route's dependencies on every request with a general, recursive solver:
for the bearer-protected reads (the router's ``Security`` scheme, the store, the scope check,
then the query parameters) that solver costs more than the database read behind them. A
``LeanRoute`` keeps everything FastAPI builds for the route (the OpenAPI operation, the
response model, the error handlers) and, for a route of the simple shape those reads have,
swaps the per-request solver for a precomputed sequence doing the same steps:

* each sub-dependency is an ``async def`` taking only the ``Request`` (the bearer scheme, the
  store, the scope guard), called in FastAPI's order, each call once, its result passed by name;
* the endpoint's own parameters are path and query parameters (validated by FastAPI's own
  ``request_params_to_args``, so values are the same) and optionally the ``Request``;
* the endpoint's return value is validated and serialized by FastAPI's ``serialize_response``
  with the route's response model and options, as the stock handler does, so the bytes match.

Anything else falls back to FastAPI's stock handler: a route of another shape (bodies,
headers, cookies, generator dependencies, custom response classes...) is never lean; and a
request whose parameters fail validation, a request made while dependency overrides are set,
or one traced by FastAPI's telemetry is handed to the stock handler whole, which then does
exactly what it always does (sub-dependencies first, then the 400 naming the field).

``lean_handler`` builds the precomputed sequence alone: it answers None where the stock
handler must answer. ``LeanRoute`` pairs it with the stock handler inside FastAPI's pipeline;
``lane.py`` uses it to answer the /v2 reads before that pipeline.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import request_params_to_args
from fastapi.routing import APIRoute, serialize_response
from fastapi.security import HTTPBearer
from fastapi.utils import is_body_allowed_for_status_code
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

_EFFECTIVE_ROUTE: ContextVar[Any] | None
try:  # FastAPI internals: without them every route keeps the stock handler.
    from fastapi import routing as _fastapi_routing
    from fastapi.telemetry._api import _get_request_telemetry

    _EFFECTIVE_ROUTE = _fastapi_routing._effective_route_context_var
    _endpoint_context = _fastapi_routing._extract_endpoint_context
except (ImportError, AttributeError):  # pragma: no cover - depends on the FastAPI version
    _EFFECTIVE_ROUTE = None

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# The answer to await, or None where the stock handler must answer: decided from the request
# alone (its parameters, the overrides, telemetry) before any sub-dependency runs.
LeanHandler = Callable[[Request], Awaitable[Response] | None]

# Dependant fields that make a dependency or an endpoint need the general solver.
_UNSUPPORTED_PARAMS = (
    "websocket_param_name",
    "response_param_name",
    "background_tasks_param_name",
    "security_scopes_param_name",
)


def _is_async_function(call: Any) -> bool:
    """An ``async def`` (or an instance whose ``__call__`` is one), not an async generator;
    never a class (calling one builds an instance)."""
    if inspect.isclass(call):
        return False
    if inspect.isroutine(call):
        return inspect.iscoroutinefunction(call)
    return callable(call) and inspect.iscoroutinefunction(type(call).__call__)


def _plain(dependant: Dependant) -> bool:
    return (
        _is_async_function(dependant.call)
        and getattr(dependant, "concurrency", None) is None
        and not dependant.body_params
        and not dependant.header_params
        and not dependant.cookie_params
        and not any(getattr(dependant, name) for name in _UNSUPPORTED_PARAMS)
    )


def _request_param(sub: Dependant) -> str | None:
    """The parameter name of a sub-dependency whose only input is the request, such as
    ``async def f(request: Request)`` or the security scheme's ``(request: HTTPConnection)``;
    None for any other sub-dependency."""
    names = [n for n in (sub.request_param_name, sub.http_connection_param_name) if n]
    if (
        _plain(sub)
        and not sub.dependencies
        and not sub.path_params
        and not sub.query_params
        and len(names) == 1
    ):
        return names[0]
    return None


_IMMUTABLE = (type(None), bool, int, float, str, bytes)


def _defaults(fields: list[Any]) -> dict[str, Any] | None:
    """What ``request_params_to_args`` answers for a request without a query string, computed
    once: it depends on nothing else. None when that is an error (a required parameter) or a
    value that could be shared mutable state between requests."""
    if not fields:
        return None
    values, errors = request_params_to_args(fields, QueryParams(""))
    if errors or not all(isinstance(v, _IMMUTABLE) for v in values.values()):
        return None
    return values


def _inert(sub: Dependant) -> bool:
    """A sub-dependency the lean handler may leave out: a bearer scheme declared only for the
    OpenAPI document (``auto_error=False``, result unused). Its call reads the header and
    returns the credentials or None; it cannot fail and changes nothing."""
    call = sub.call
    return sub.name is None and type(call) is HTTPBearer and not call.auto_error


class LeanRoute(APIRoute):
    """An ``APIRoute`` whose handler skips the general solver when the route's shape allows."""

    def get_route_handler(self) -> Handler:
        stock = super().get_route_handler()
        if _EFFECTIVE_ROUTE is None:
            return stock
        # As APIRoute.get_route_handler: when included in a router, FastAPI builds the handler
        # for that inclusion (its dependencies, responses, overrides provider) through this.
        route: Any = self
        context = _EFFECTIVE_ROUTE.get()
        if context is not None and context.original_route is self:
            route = context
        lean = lean_handler(route)
        if lean is None:
            return stock

        async def handler(request: Request) -> Response:
            answer = lean(request)
            return await (answer if answer is not None else stock(request))

        return handler


def lean_handler(route: Any) -> LeanHandler | None:
    """The lean handler of ``route`` (an APIRoute or FastAPI's per-inclusion view of one), or
    None when its shape needs the stock handler (see ``LeanHandler``)."""
    if _EFFECTIVE_ROUTE is None:
        return None
    dependant: Dependant = route.dependant
    subs = dependant.dependencies
    calls = [sub.call for sub in subs]
    if (
        not _plain(dependant)
        or dependant.http_connection_param_name
        or route.body_field is not None
        or getattr(route, "stream_item_field", None) is not None
        or getattr(route, "is_json_stream", False)
        or not isinstance(route.response_class, DefaultPlaceholder)
        or not all(_request_param(sub) for sub in subs)
        or len({id(call) for call in calls}) != len(calls)
    ):
        return None
    # (call, its request parameter, the endpoint parameter it fills or None), in FastAPI's order.
    steps: list[tuple[Callable[..., Any], str, str | None]] = []
    for sub in subs:
        request_param = _request_param(sub)
        assert sub.call is not None and request_param is not None
        if not _inert(sub):
            steps.append((sub.call, request_param, sub.name))
    endpoint = dependant.call
    assert endpoint is not None
    request_name = dependant.request_param_name
    path_fields = dependant.path_params
    query_fields = dependant.query_params
    no_query = _defaults(query_fields)
    response_field = route.response_field
    # What a ResponseValidationError (a 500) names, as the stock handler fills it in.
    endpoint_ctx = _endpoint_context(endpoint)
    endpoint_path = dependant.path
    # As the stock handler's response arguments: the route's status code when it sets one.
    response_args: dict[str, Any] = {"status_code": route.status_code} if route.status_code else {}
    overrides_provider = route.dependency_overrides_provider
    options: dict[str, Any] = {
        "include": route.response_model_include,
        "exclude": route.response_model_exclude,
        "by_alias": route.response_model_by_alias,
        "exclude_unset": route.response_model_exclude_unset,
        "exclude_defaults": route.response_model_exclude_defaults,
        "exclude_none": route.response_model_exclude_none,
    }

    def handler(request: Request) -> Awaitable[Response] | None:
        if (
            overrides_provider is not None
            and getattr(overrides_provider, "dependency_overrides", None)
        ) or _get_request_telemetry() is not None:
            return None
        values: dict[str, Any] = {}
        if path_fields:
            path_values, errors = request_params_to_args(path_fields, request.path_params)
            if errors:
                return None
            values.update(path_values)
        if no_query is not None and not request.scope["query_string"]:
            values.update(no_query)
        elif query_fields:
            query_values, errors = request_params_to_args(query_fields, request.query_params)
            if errors:
                return None
            values.update(query_values)
        return answer(request, values)

    async def answer(request: Request, values: dict[str, Any]) -> Response:
        for call, request_param, name in steps:
            solved = await call(**{request_param: request})
            if name is not None:
                values[name] = solved
        if request_name is not None:
            values[request_name] = request
        raw = await endpoint(**values)
        if isinstance(raw, Response):
            return raw
        if response_field is None:
            # The stock handler answers such routes with JSONResponse(jsonable_encoder(...)).
            content = await serialize_response(response_content=raw)
            response: Response = route.response_class.value(content, **response_args)
        else:
            ctx = endpoint_ctx.copy()
            if endpoint_path:
                mount_path = request.scope.get("root_path", "").rstrip("/")
                ctx["path"] = f"{request.method} {mount_path}{endpoint_path}"
            body = await serialize_response(
                field=response_field,
                response_content=raw,
                endpoint_ctx=ctx,
                dump_json=True,
                **options,
            )
            response = Response(content=body, media_type="application/json", **response_args)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        return response

    return handler
