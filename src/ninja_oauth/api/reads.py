"""The bearer-protected reads of the Public API: plain Starlette routes, declared once.

A read is the hot path of the resource server. FastAPI's dependency solver, run per request,
costs more than the indexed read behind it, so a read is a plain Starlette ``Route`` whose
endpoint does the three steps in order, each an ordinary call:

1. the scope guard (``guard.require``): 401/403 before anything else, as RFC 6750 asks;
2. the parameters: the path ids and a pydantic model of the query parameters, validated by
   pydantic as FastAPI would (the same messages, a 400 naming the field);
3. the handler, whose result is validated against the declared response model and serialized
   by pydantic (absent fields dropped), the bytes FastAPI's ``response_model`` would send.

Its errors are answered by the Public API's one error mapping (``api/errors.py``). The route's
endpoint is an ASGI app, so Starlette adds no wrapper around it, and it answers alike from the
front door's read table (``web/root.py``) and from the API app's own routes.
The same declaration also gives FastAPI an ``APIRoute`` that is never served, only handed to
its OpenAPI generator (``api/__init__.py``), so ``/docs`` shows each read with its parameters,
response schema, scope and errors exactly as it shows the writes.
"""

from __future__ import annotations

import inspect
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from fastapi import Query, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ninja_oauth.api.errors import DOCUMENTED_ERRORS, error_response_for
from ninja_oauth.api.filters import PathId, QueryModel
from ninja_oauth.api.guard import bearer_scheme, require, require_with_versions
from ninja_oauth.api.response_cache import ResponseCache
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.scopes import Scope as OAuthScope
from ninja_oauth.store.db import Store

Q = TypeVar("Q", bound=QueryModel)


class NoQuery(QueryModel):
    """The query of a read that takes no parameters (any that are sent are ignored)."""


@dataclass(frozen=True, slots=True)
class ReadCall(Generic[Q]):
    """What a read's handler gets: the request, the store, the token's grant, the path ids
    (every path parameter of the Public API is an int32 id), the validated query and the
    server's public base URL (links are built on it, never on the request's Host header)."""

    request: Request
    store: Store
    grant: AccessGrant
    path: dict[str, int]
    query: Q
    issuer: str


Handler = Callable[[ReadCall[Any]], Awaitable[Any]]

# A kept body's key holds the hour: it is never served past the hour it was built in, so a body
# may name a time within it (a report cursor's expiry, api/routes/queries.py).
KEPT_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Unkept:
    """A handler's result that a ``kept_per`` read must not keep: it depends on the clock as
    well as on the tables (a device's maintenance window, pending or running), so it is
    answered and built afresh next time."""

    value: Any


# A path id: int32, as the spec types every id (filters.PathId, as the writes take it). Out of
# range is a 400; unknown, a 404.
_PATH_ID: TypeAdapter[int] = TypeAdapter(PathId)
_PATH_PARAM = re.compile(r"{(\w+)}")


@dataclass
class Read:
    """One read: GET ``path`` needing ``scope``, answering ``response`` (a type pydantic
    validates and serializes; absent fields dropped unless ``exclude_none`` is False)."""

    path: str
    handler: Handler
    response: Any
    query: type[QueryModel] = NoQuery
    scope: OAuthScope = OAuthScope.MONITORING
    tags: list[str] = field(default_factory=list)
    exclude_none: bool = True
    responses: dict[int | str, dict[str, Any]] = field(default_factory=dict)
    # The tables (kept in data_versions) the answer depends on, and nothing else but the path,
    # the query and the hour: its body is then kept per their versions (api/response_cache.py).
    kept_per: tuple[str, ...] = ()

    @property
    def path_names(self) -> list[str]:
        """The names of the path's parameters, every one an id."""
        return _PATH_PARAM.findall(self.path)

    def route(self, state: State) -> Route:
        """The Starlette route serving this read (HEAD included, as for every GET route), with
        the store, hasher and issuer of ``state`` (the Public API app's state)."""
        adapter: TypeAdapter[Any] = TypeAdapter(self.response)
        path_names = self.path_names
        query_model = self.query
        # A request without a query string always validates to the same model: built once.
        no_query = _defaults(query_model)
        handler = self.handler
        scope = self.scope
        exclude_none = self.exclude_none
        kept_per = self.kept_per
        route_path = self.path

        async def answer(request: Request) -> Response:
            store: Store = state.store
            if kept_per:
                # One statement: the token and the versions the kept body is checked against.
                grant, versions = await require_with_versions(
                    request, scope, store, state.hasher, kept_per
                )
                # After the token and its scope were checked: a kept body is sent only to a
                # caller who would get it afresh. The versions were read before the rows. The
                # key is the input as sent: a body was kept only for input that passed the
                # checks below, which depend on nothing else, so they need not run again. The
                # hour is part of the key: a kept body is never more than an hour old, so an
                # answer may also name a time within the hour (a cursor's expiry).
                hour = int(time.time()) // KEPT_SECONDS
                raw_path = tuple(request.path_params[name] for name in path_names)
                key = (route_path, raw_path, request.scope["query_string"], hour)
                bodies = _kept_bodies(store)
                kept = bodies.get(key, versions)
                if kept is not None:
                    return Response(kept, media_type="application/json")
            else:
                grant = await require(request, scope, store, state.hasher)
            path = _path_ids(request, path_names)
            if no_query is not None and not request.scope["query_string"]:
                query = no_query
            else:
                query = _validated(query_model, request)
            result = await handler(ReadCall(request, store, grant, path, query, state.issuer))
            if isinstance(result, Response):
                return result
            keep = bool(kept_per)
            if isinstance(result, Unkept):
                result, keep = result.value, False
            body = adapter.dump_json(
                adapter.validate_python(result), by_alias=True, exclude_none=exclude_none
            )
            if keep:
                bodies.put(key, versions, body)
            return Response(body, media_type="application/json")

        return Route(self.path, _Endpoint(answer), methods=["GET"], name=self.handler.__name__)

    def documentation(self) -> APIRoute:
        """An ``APIRoute`` for FastAPI's OpenAPI generator only: never served. Its endpoint
        declares what the served route reads (path ids and the query model), as FastAPI
        documents any route."""
        parameters = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=PathId)
            for name in self.path_names
        ]
        if self.query is not NoQuery:
            parameters.append(
                inspect.Parameter(
                    "query",
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=Annotated[self.query, Query()],
                )
            )

        async def documented(**_: Any) -> None:
            raise RuntimeError("documentation only")  # pragma: no cover - never routed

        documented.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        documented.__name__ = self.handler.__name__
        documented.__doc__ = self.handler.__doc__
        return APIRoute(
            self.path,
            documented,
            methods=["GET"],
            response_model=self.response,
            response_model_exclude_none=self.exclude_none,
            tags=list(self.tags),
            dependencies=[Security(bearer_scheme)],
            responses={**DOCUMENTED_ERRORS, **self.responses},
        )


# The kept bodies of the reads declared ``kept_per``, per store (versions are per database: a
# test, or a server, that points the API at another store starts afresh), 8 MB per store.
_KEPT: WeakKeyDictionary[Store, ResponseCache] = WeakKeyDictionary()


def _kept_bodies(store: Store) -> ResponseCache:
    bodies = _KEPT.get(store)
    if bodies is None:
        bodies = _KEPT[store] = ResponseCache(8 * 1024 * 1024)
    return bodies


class ReadTable:
    """The reads' table as the front door serves them: a GET is found by the shape of its path
    (its numeric segments standing for the ids) in a dictionary, one lookup whatever its place
    among the sixty-odd reads; anything else (HEAD, a path id that is not a number, a GET of no
    read) goes to ``fallback``, the same routes in a Starlette ``Router`` (which answers HEAD,
    the 400 of a malformed id, and hands the rest to the API app). A ``Router`` alone tries
    its routes' patterns in order: measured, a read near the end of the list paid ~40 µs more
    CPU per request than the first (bench/README.md)."""

    def __init__(self, routes: list[Route], fallback: ASGIApp) -> None:
        self.fallback = fallback
        self._by_shape: dict[str, tuple[ASGIApp, tuple[str, ...]]] = {}
        for route in routes:
            shape = _PATH_PARAM.sub("{}", route.path)
            if shape in self._by_shape:
                raise ValueError(f"two reads of one shape: {route.path}")
            self._by_shape[shape] = (route.app, tuple(_PATH_PARAM.findall(route.path)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            segments = scope["path"].split("/")
            ids = []
            for i, segment in enumerate(segments):
                if segment.isdigit() and segment.isascii():
                    ids.append(segment)
                    segments[i] = "{}"
            found = self._by_shape.get("/".join(segments))
            if found is not None:
                endpoint, names = found
                scope["path_params"] = dict(zip(names, ids, strict=True))
                await endpoint(scope, receive, send)
                return
        await self.fallback(scope, receive, send)


class _Endpoint:
    """A read's endpoint as an ASGI app (Starlette calls an app as it is, where it wraps a
    function), answering its own errors through the Public API's one error mapping: it answers
    alike wherever it is routed from."""

    def __init__(self, answer: Callable[[Request], Awaitable[Response]]) -> None:
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self.answer(request)
        except Exception as exc:
            response = await error_response_for(request, exc)
        await response(scope, receive, send)


class Reads:
    """The reads of one module of ``api/routes``, declared with ``@reads.get(...)``."""

    def __init__(self, tags: list[str]) -> None:
        self.tags = tags
        self.declared: list[Read] = []

    def get(
        self,
        path: str,
        *,
        response: Any,
        query: type[QueryModel] = NoQuery,
        tags: list[str] | None = None,
        exclude_none: bool = True,
        responses: dict[int | str, dict[str, Any]] | None = None,
        kept_per: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        """Declare a read needing the ``monitoring`` scope (the documents: reads need it)."""

        def declare(handler: Handler) -> Handler:
            self.declared.append(
                Read(
                    path,
                    handler,
                    response,
                    query,
                    OAuthScope.MONITORING,
                    tags if tags is not None else list(self.tags),
                    exclude_none,
                    responses or {},
                    kept_per,
                )
            )
            return handler

        return declare


def _defaults(model: type[QueryModel]) -> QueryModel | None:
    """The model of an empty query, or None when that is an error (a required parameter).
    Query models are frozen, so one instance can serve every request."""
    try:
        return model.model_validate({})
    except ValidationError:
        return None


def _validated(model: type[Q], request: Request) -> Q:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise RequestValidationError(_located("query", exc)) from None


def _path_ids(request: Request, names: list[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    errors: list[Any] = []
    for name in names:
        try:
            ids[name] = _PATH_ID.validate_python(request.path_params[name])
        except ValidationError as exc:
            errors += _located("path", exc, name)
    if errors:
        raise RequestValidationError(errors)
    return ids


def _located(source: str, exc: ValidationError, name: str | None = None) -> list[dict[str, Any]]:
    """Pydantic's errors with the parameter's source in front of its location, as FastAPI
    reports them (``("query", "pageSize")``)."""
    prefix = (source, name) if name is not None else (source,)
    return [{**error, "loc": (*prefix, *error["loc"])} for error in exc.errors()]
