"""The admin API (``/admin/api``): the console's operations as JSON, documented at ``/docs``.

Callers: an admin's console session (its cookie, with the CSRF header on every change) or a
bearer token with the ``admin`` scope (an admin app's client_credentials token). Every route
depends on ``_caller``, the one place that decides who asks; every operation is a method of
``admin/service.py``'s ``Administration``, so the CLI, the console and this API never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Security
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ninja_oauth.admin.service import (
    MAX_PAGE_SIZE,
    ROW_ID_MAX,
    TIME_MAX,
    Actor,
    AdminError,
    Invalid,
    NewPassword,
    audit_json,
    checked_email,
    consent_json,
    new_password,
)
from ninja_oauth.api.errors import BearerError, describe_validation_error, validation_field
from ninja_oauth.api.guard import bearer_scheme, require
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.store.repositories.administration import AuditFilter
from ninja_oauth.web.authlib_adapter import client_address
from ninja_oauth.web.console.auth import CSRF_HEADER, Area, Signed, csrf_for, csrf_ok, signed_in
from ninja_oauth.web.context import WebContext, context
from ninja_oauth.web.security import from_this_site

PREFIX = "/admin/api"
T = TypeVar("T")
_NO_STORE = {"Cache-Control": "no-store"}

# -- who asks ---------------------------------------------------------------------------------

# Documents the console's cookie in /docs beside the bearer scheme (either one is enough).
session_cookie = APIKeyCookie(
    name=Area.ADMIN.cookie,
    auto_error=False,
    scheme_name="admin_session",
    description="An administrator's console session (sign in at /admin/login); every call "
    "other than GET needs the X-CSRF-Token header from GET /admin/api/session.",
)


class _Refused(Exception):
    """A caller refused before any operation: a non-admin's session, a missing or wrong CSRF
    header, a bearer token at GET /session (no session to describe)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks, as the audit log names them, and their console session if they have one."""

    ctx: WebContext
    actor: Actor
    signed: Signed | None = None

    async def read(self, work: Callable[[], T]) -> T:
        return await self.ctx.store.read_in_thread(work)

    async def change(self, work: Callable[[], T]) -> T:
        # One transaction: the change and its audit event commit together.
        return await self.ctx.store.run(work, Writes.CHANGES)

    async def password(self, password: str) -> NewPassword:
        return await self.ctx.hashing_thread(new_password, password)


async def _caller(
    request: Request,
    response: Response,
    _token: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
    _session: Annotated[str | None, Security(session_cookie)],
) -> Caller:
    """An Authorization header: the bearer path (the ``admin`` scope, RFC 6750 errors).
    Otherwise the admin console's session: an administrator's, with the CSRF header on any
    call that may change something (the cookie alone would let another site's form act)."""
    ctx = context(request)
    response.headers.update(_NO_STORE)
    address = client_address(request, ctx.settings.trusted_proxies)
    if "authorization" in request.headers:
        grant = await require(request, Scope.ADMIN, ctx.store, ctx.hasher)
        # The app must still be an admin app with the admin scope: taking the scope away
        # ends its tokens' admin access at once, not when they expire.
        app = await ctx.store.run(partial(ctx.repos.apps.get, grant.client_id), Writes.APPENDS)
        if app is None or not app.is_admin or Scope.ADMIN.value not in app.scopes:
            raise BearerError(
                403, "insufficient_scope", "This app may no longer use the admin API.", "admin"
            )
        return _known(request, Caller(ctx, Actor(f"client:{grant.client_id}", address)))
    signed = await signed_in(request, ctx, Area.ADMIN)
    if signed is None:
        raise BearerError(401)  # RFC 6750 §3.1: no error code, and WWW-Authenticate
    if not signed.user.is_admin:
        raise _Refused(403, "forbidden", f"{signed.user.email} is not an administrator")
    if request.method not in ("GET", "HEAD") and not (
        from_this_site(request) and csrf_ok(ctx, signed, request.headers.get(CSRF_HEADER))
    ):
        # As the console's forms: a browser's change comes from this site's own pages.
        raise _Refused(
            403,
            "invalid_request",
            "The X-CSRF-Token header is missing or wrong (send the csrf_token of "
            "GET /admin/api/session), or the call comes from another site's page.",
        )
    return _known(request, Caller(ctx, Actor(signed.user.email, address), signed))


def _known(request: Request, caller: Caller) -> Caller:
    # Kept for _AdminRoute: a schema error after this need not ask who asks again.
    request.state.admin_caller = caller
    return caller


CallerDep = Annotated[Caller, Depends(_caller)]

# -- bodies and answers -----------------------------------------------------------------------


class _Body(BaseModel):
    # An unknown key is a typo, not something to ignore; a "true" string is not a boolean.
    model_config = ConfigDict(extra="forbid", strict=True)


class NewAppBody(_Body):
    name: str = Field(max_length=200, description="The app's name, as the consent page shows it.")
    platform: Literal["api_services", "web", "native", "spa"]
    redirect_uris: list[str] = Field(default_factory=list, max_length=100)
    scopes: list[str] = Field(
        default_factory=list, max_length=10, description="Empty: every scope the app may have."
    )
    grant_types: list[str] = Field(
        default_factory=list, max_length=10, description="Empty: every grant of its platform."
    )
    admin: bool = Field(
        False, description="An admin app (api_services only) may be given the admin scope."
    )


class AppChanges(_Body):
    name: str | None = Field(None, max_length=200)
    redirect_uris: list[str] | None = Field(None, max_length=100)
    scopes: list[str] | None = Field(None, max_length=10)
    grant_types: list[str] | None = Field(None, max_length=10)


class NewUserBody(_Body):
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024)
    admin: bool = False


class UserChanges(_Body):
    disabled: bool | None = Field(None, description="True revokes the user's tokens at once.")
    admin: bool | None = None
    password: str | None = Field(None, max_length=1024)


class AppOut(BaseModel):
    client_id: str
    name: str
    platform: str
    redirect_uris: list[str]
    scopes: list[str]
    grant_types: list[str]
    created_at: int
    last_used_at: int | None
    admin: bool
    confidential: bool


class NewAppOut(AppOut):
    client_secret: str | None = Field(
        description="Shown this once (api_services and web apps); null for public apps."
    )


class SecretOut(BaseModel):
    client_secret: str


class UserOut(BaseModel):
    id: int
    email: str
    admin: bool
    disabled: bool
    created_at: int


class ConsentOut(BaseModel):
    id: int
    user: str
    user_id: int
    client_id: str
    app_name: str
    scopes: list[str]
    granted_at: int


class AuditEventOut(BaseModel):
    id: int
    at: int
    kind: str
    client_id: str | None
    user: str | None
    user_id: int | None
    actor: str | None
    address: str | None
    detail: dict[str, Any]


class SessionOut(BaseModel):
    email: str
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header on every change.")


class AdminErrorBody(BaseModel):
    error: str
    error_description: str
    field: str | None = None


_ERROR_CODES = {404: "not_found", 409: "conflict"}
_TOTAL = {"X-Total-Count": {"description": "How many match in all", "schema": {"type": "integer"}}}
_PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": _TOTAL}}

Search = Annotated[str, Query(max_length=200, description="Text the name or email contains.")]
Offset = Annotated[int, Query(ge=0, le=ROW_ID_MAX)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
ClientId = Annotated[str, Path(max_length=200)]
UserId = Annotated[int, Path(ge=1, le=ROW_ID_MAX)]


class _AdminRoute(APIRoute):
    """A route of the admin API: a request that fails its schema (a key of the wrong type, an
    unknown key, a bad query) is refused as the service refuses bad input, a 400 naming its
    ``field``, not with the Public API's validation answer (which has no ``field``), and only
    once the caller may ask: FastAPI parses a JSON body before it runs any dependency, so a
    body that is not JSON would otherwise answer a caller without credentials with that 400,
    not the 401 with ``WWW-Authenticate`` (or 403) its credentials get."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                if getattr(request.state, "admin_caller", None) is None:
                    await _caller(request, Response(), None, None)  # raises if it may not ask
                raise Invalid(describe_validation_error(exc), validation_field(exc)) from None

        return checked


router = APIRouter(
    prefix=PREFIX,
    tags=["Administration"],
    route_class=_AdminRoute,
    responses={
        "4XX": {
            "model": AdminErrorBody,
            "description": "400 invalid input (`field` names it); 401 no token or session; "
            "403 insufficient_scope, not an administrator, or a missing CSRF header; 404 "
            "unknown id; 409 conflict.",
        }
    },
)

# -- apps -------------------------------------------------------------------------------------


@router.get("/apps", response_model=list[AppOut], responses=_PAGED)
async def list_apps(
    caller: CallerDep,
    response: Response,
    search: Search = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[AppOut]:
    """Apps, newest first, never with a secret."""
    page = await caller.read(partial(caller.ctx.admin.apps, search, offset, limit))
    response.headers["X-Total-Count"] = str(page.total)
    return [AppOut(**view.as_json()) for view in page.items]


@router.post("/apps", status_code=201, response_model=NewAppOut)
async def create_app(caller: CallerDep, body: NewAppBody) -> NewAppOut:
    """Register an app; its client_secret (api_services and web) is answered this once."""
    view, secret = await caller.change(
        partial(
            caller.ctx.admin.create_app,
            caller.actor,
            name=body.name,
            platform=body.platform,
            redirect_uris=body.redirect_uris,
            scopes=body.scopes,
            grant_types=body.grant_types,
            is_admin=body.admin,
        )
    )
    return NewAppOut(**view.as_json(), client_secret=secret)


@router.get("/apps/{client_id}", response_model=AppOut)
async def get_app(caller: CallerDep, client_id: ClientId) -> AppOut:
    view = await caller.read(partial(caller.ctx.admin.app, client_id))
    return AppOut(**view.as_json())


@router.patch("/apps/{client_id}", response_model=AppOut)
async def change_app(caller: CallerDep, client_id: ClientId, body: AppChanges) -> AppOut:
    """Change the name, redirect URIs, scopes or grant types (a key left out is kept)."""
    view = await caller.change(
        partial(
            caller.ctx.admin.edit_app,
            caller.actor,
            client_id,
            name=body.name,
            redirect_uris=body.redirect_uris,
            scopes=body.scopes,
            grant_types=body.grant_types,
        )
    )
    return AppOut(**view.as_json())


@router.delete("/apps/{client_id}", status_code=204, response_class=Response)
async def delete_app(caller: CallerDep, client_id: ClientId) -> None:
    """The app goes, and its tokens, codes and consents with it."""
    await caller.change(partial(caller.ctx.admin.delete_app, caller.actor, client_id))


@router.post("/apps/{client_id}/secret", response_model=SecretOut)
async def rotate_secret(caller: CallerDep, client_id: ClientId) -> SecretOut:
    """A new client_secret, answered this once; the old one stops working at once."""
    secret = await caller.change(partial(caller.ctx.admin.rotate_secret, caller.actor, client_id))
    return SecretOut(client_secret=secret)


@router.post("/apps/{client_id}/revoke-tokens", status_code=204, response_class=Response)
async def revoke_app_tokens(caller: CallerDep, client_id: ClientId) -> None:
    """Every live token of the app is revoked, and its unredeemed codes deleted."""
    await caller.change(partial(caller.ctx.admin.revoke_app_tokens, caller.actor, client_id))


# -- users ------------------------------------------------------------------------------------


@router.get("/users", response_model=list[UserOut], responses=_PAGED)
async def list_users(
    caller: CallerDep,
    response: Response,
    search: Search = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[UserOut]:
    """Users in email order."""
    page = await caller.read(partial(caller.ctx.admin.users, search, offset, limit))
    response.headers["X-Total-Count"] = str(page.total)
    return [UserOut(**view.as_json()) for view in page.items]


@router.post("/users", status_code=201, response_model=UserOut)
async def create_user(caller: CallerDep, body: NewUserBody) -> UserOut:
    email = checked_email(body.email)  # before the slow hashing
    password = await caller.password(body.password)
    view = await caller.change(
        partial(caller.ctx.admin.create_user, caller.actor, email, password, body.admin)
    )
    return UserOut(**view.as_json())


@router.get("/users/{user_id}", response_model=UserOut)
async def get_user(caller: CallerDep, user_id: UserId) -> UserOut:
    return UserOut(**(await caller.read(partial(caller.ctx.admin.user, user_id))).as_json())


@router.patch("/users/{user_id}", response_model=UserOut)
async def change_user(caller: CallerDep, user_id: UserId, body: UserChanges) -> UserOut:
    """Disable (their tokens are revoked, their sessions end) or enable, grant or remove admin,
    reset the password. The last enabled administrator cannot be disabled or demoted (409)."""
    password = await caller.password(body.password) if body.password is not None else None
    view = await caller.change(
        partial(
            caller.ctx.admin.change_user,
            caller.actor,
            user_id,
            disabled=body.disabled,
            admin=body.admin,
            password=password,
        )
    )
    return UserOut(**view.as_json())


@router.post("/users/{user_id}/revoke-tokens", status_code=204, response_class=Response)
async def revoke_user_tokens(caller: CallerDep, user_id: UserId) -> None:
    """Every live token of the user is revoked."""
    await caller.change(partial(caller.ctx.admin.revoke_user_tokens, caller.actor, user_id))


# -- consents ---------------------------------------------------------------------------------


def _user_id(caller: Caller, email: str | None) -> int | None:
    return caller.ctx.admin.user_by_email(email).row.id if email else None


@router.get("/consents", response_model=list[ConsentOut])
async def list_consents(
    caller: CallerDep,
    client_id: Annotated[str | None, Query(max_length=200)] = None,
    user: Annotated[str | None, Query(max_length=320, description="The user's email.")] = None,
) -> list[ConsentOut]:
    """Remembered consents, most recent first."""

    def work() -> list[ConsentOut]:
        rows = caller.ctx.admin.consents(client_id=client_id, user_id=_user_id(caller, user))
        return [ConsentOut(**consent_json(row)) for row in rows]

    return await caller.read(work)


@router.delete("/consents/{consent_id}", status_code=204, response_class=Response)
async def revoke_consent(
    caller: CallerDep, consent_id: Annotated[int, Path(ge=1, le=ROW_ID_MAX)]
) -> None:
    """The consent goes, and the tokens and codes it bought stop working at once."""
    await caller.change(partial(caller.ctx.admin.revoke_consent, caller.actor, consent_id))


# -- the audit log ----------------------------------------------------------------------------

_JSONL = "application/x-ndjson"


@router.get(
    "/audit",
    response_model=list[AuditEventOut],
    responses={200: {"content": {_JSONL: {"schema": {"type": "string"}}}}},
)
async def audit(
    caller: CallerDep,
    kind: Annotated[str | None, Query(max_length=60, description="e.g. app_created")] = None,
    client_id: Annotated[str | None, Query(max_length=200)] = None,
    user: Annotated[str | None, Query(max_length=320, description="The user's email.")] = None,
    since: Annotated[int | None, Query(ge=0, le=TIME_MAX, description="Unix seconds")] = None,
    until: Annotated[int | None, Query(ge=0, le=TIME_MAX, description="Unix seconds")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=ROW_ID_MAX, description="Events older than this id (paging).")
    ] = None,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="Default 100; 10000 for jsonl.")
    ] = None,
    format: Annotated[
        Literal["json", "jsonl"], Query(description="jsonl: a download, one event a line.")
    ] = "json",
) -> Any:
    """Events, newest first. ``format=jsonl`` exports them as JSON lines (a download)."""

    def work() -> list[dict[str, Any]]:
        where = AuditFilter(kind, client_id, _user_id(caller, user), since, until, before)
        rows = caller.ctx.admin.audit(where, limit or (10_000 if format == "jsonl" else 100))
        return [audit_json(row) for row in rows]

    events = await caller.read(work)
    if format == "json":
        return [AuditEventOut(**event) for event in events]
    lines = "".join(json.dumps(e, ensure_ascii=True, separators=(",", ":")) + "\n" for e in events)
    return Response(
        lines,
        media_type=_JSONL,
        headers={
            **_NO_STORE,
            "Content-Disposition": 'attachment; filename="ninja-oauth-audit.jsonl"',
        },
    )


# -- the console's own session ----------------------------------------------------------------


@router.get("/session", response_model=SessionOut)
async def session(caller: CallerDep) -> SessionOut:
    """The signed-in administrator and the CSRF token their scripts send (sessions only)."""
    if caller.signed is None:
        raise _Refused(
            401, "invalid_request", "GET /admin/api/session answers a console session only."
        )
    return SessionOut(
        email=caller.signed.user.email, csrf_token=csrf_for(caller.ctx, caller.signed.token)
    )


# -- assembly ---------------------------------------------------------------------------------


async def _admin_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdminError)
    body = {
        "error": _ERROR_CODES.get(exc.status, "invalid_request"),
        "error_description": exc.message,
        "field": exc.field,
    }
    return JSONResponse(body, status_code=exc.status, headers=_NO_STORE)


async def _refused(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Refused)
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, status_code=exc.status, headers=_NO_STORE)


def install(app: FastAPI, ctx: WebContext) -> None:
    """Add the admin API to the documented FastAPI app, with the answers to its errors (the
    Public API's handlers answer the rest: RFC 6750 errors, validation, 500)."""
    app.state.web = ctx
    app.include_router(router)
    app.add_exception_handler(AdminError, _admin_error)
    app.add_exception_handler(_Refused, _refused)
