"""GET /ws/oauth/authorize: validate, log in, ask consent, answer 307 (DESIGN §6).

The login and consent forms keep the validated request on the server under an opaque
``request_id`` bound to the browser session; their POSTs answer 303 back to
``GET …/authorize?request_id=…``, and only that GET sends the 307 to the client, so a form
(with the password) is never re-POSTed to the client (RFC 9700 §4.12).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from urllib.parse import unquote, urlsplit

import idna
from authlib.oauth2.rfc6749 import OAuth2Request
from starlette.requests import Request
from starlette.responses import Response

from ninja_oauth.oauth import browser_urls
from ninja_oauth.oauth.domain import User
from ninja_oauth.oauth.errors import FatalAuthorizeError
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.oauth.responses import OAuthResponse
from ninja_oauth.oauth.scopes import Scope, describe
from ninja_oauth.oauth.server import ConsentRequest
from ninja_oauth.store.repositories.pending import AddressFull, Pending
from ninja_oauth.web import sessions
from ninja_oauth.web.authlib_adapter import (
    client_address,
    oauth_request_of,
    query_oauth_request,
    to_starlette,
)
from ninja_oauth.web.context import WebContext, context, templates
from ninja_oauth.web.errors import error_page

_SCOPE_NAMES = {s.value for s in Scope}

# Never kept with a pending request: it was checked on arrival (DESIGN §6).
_NOT_KEPT = ("client_secret", "request_id")


@dataclass
class _Outcome:
    response: OAuthResponse | None = None
    page: str | None = None
    consent: ConsentRequest | None = None
    request_id: str | None = None
    user: User | None = None
    fatal: FatalAuthorizeError | None = None


def _step(
    svc: WebContext,
    oauth_request: OAuth2Request,
    address: str,
    auth_token: str | None,
    binding: str,
    pending: Pending | None,
    params: dict[str, str],
) -> _Outcome:
    try:
        result = svc.server.validate_authorize(oauth_request, address)
    except FatalAuthorizeError as exc:
        # Returned, not raised, so the failure count above is committed.
        return _Outcome(fatal=exc)
    if isinstance(result, OAuthResponse):
        return _Outcome(response=result)
    consent = result
    now = int(time.time())
    if pending is not None and pending.decision == "deny":
        svc.pending.finish(pending.id)
        return _Outcome(response=svc.server.complete_authorize(consent, None))
    uid = svc.sessions.user_id(auth_token, now)
    user = svc.repos.users.get(uid) if uid is not None else None
    if user is None or user.disabled:
        rid = pending.id if pending else svc.pending.create(binding, params, now, address)
        return _Outcome(page="login", consent=consent, request_id=rid)
    allowed_now = pending is not None and pending.decision == "allow" and pending.user_id == user.id
    if allowed_now or _consented_before(svc, consent, user):
        if pending is not None and not svc.pending.finish(pending.id):
            return _Outcome(
                fatal=FatalAuthorizeError(
                    "invalid_request", "This sign-in request was already completed."
                )
            )
        if allowed_now:
            # Audited only when the user pressed Allow: a remembered consent reused is no new
            # consent (the tokens it buys are counted as tokens_issued).
            svc.repos.consents.remember(user.id, consent.client_id, set(consent.scopes), now)
            svc.repos.audit.record(
                "consent_given",
                client_id=consent.client_id,
                user_id=user.id,
                actor=user.email,
                address=address,
                scope=" ".join(consent.scopes),
            )
        return _Outcome(response=svc.server.complete_authorize(consent, user))
    rid = pending.id if pending else svc.pending.create(binding, params, now, address)
    return _Outcome(page="consent", consent=consent, request_id=rid, user=user)


def _consented_before(svc: WebContext, consent: ConsentRequest, user: User) -> bool:
    """Whether an earlier consent lets this request through without asking.

    Only for a confidential app: anyone can send a public (native or single-page) app's
    client id with their own redirect port and PKCE challenge, so each of its requests needs
    the user's action (RFC 6749 §10.2, RFC 8252 §8.6).
    """
    app = svc.repos.apps.get(consent.client_id)
    if app is None or not app.confidential:
        return False
    granted = svc.repos.consents.granted(user.id, consent.client_id, lock=True)
    return set(consent.scopes) <= granted


async def authorize(request: Request) -> Response:
    svc = context(request)
    issuer = svc.settings.issuer
    binding = sessions.binding(request)
    rid = request.query_params.get("request_id")
    pending: Pending | None = None
    if rid is not None and len(request.query_params) == 1:
        pending = await svc.store.run(
            partial(svc.pending.get, rid, binding, int(time.time())), Writes.APPENDS
        )
        if pending is None:
            return error_page(
                request,
                400,
                "This sign-in request has expired",
                "It is older than ten minutes, was already completed, or was started "
                "in another browser.",
                "invalid_request",
            )
        params = pending.params
        oauth_request = query_oauth_request(request, issuer, params)
    else:
        oauth_request = oauth_request_of(request, issuer)
        # Each parameter's first value, as the core validates it (a repeat is refused there).
        params = {k: v for k, v in oauth_request.payload.data.items() if k not in _NOT_KEPT}
        if svc.pending.too_large(params):
            return error_page(
                request,
                400,
                "This sign-in request is too large",
                f"Its parameters are over {svc.settings.pending_max_bytes} bytes. Ask the app "
                "that sent you here to send a shorter request.",
                "invalid_request",
            )
    if _reaches_sign_in_cookie(params.get("redirect_uri", ""), issuer):
        return _cookie_path_page(request)
    address = client_address(request, svc.settings.trusted_proxies)
    token = sessions.auth_token(request)
    try:
        outcome = await svc.store.run(
            partial(_step, svc, oauth_request, address, token, binding, pending, params),
            Writes.CHANGES,
        )
    except AddressFull as full:
        page = error_page(
            request,
            429,
            "Too many sign-ins in progress",
            "Too many sign-in requests are waiting from your network. Try again in "
            f"{full.retry_after} seconds.",
            "slow_down",
        )
        page.headers["Retry-After"] = str(full.retry_after)
        return page
    svc.server.count_issued(oauth_request)  # committed: an implicit grant's token counts
    if outcome.fatal is not None:
        raise outcome.fatal
    if outcome.response is not None:
        response = to_starlette(outcome.response)
        if _reaches_sign_in_cookie(response.headers.get("location", ""), issuer):
            return _cookie_path_page(request)  # a default redirect URI (none was sent)
        return response
    assert outcome.consent is not None and outcome.request_id is not None
    if outcome.page == "login":
        return login_page(request, outcome.request_id, outcome.consent.app_name)
    assert outcome.user is not None
    return consent_page(request, outcome.request_id, outcome.consent, outcome.user)


def _cookie_path_page(request: Request) -> Response:
    return error_page(
        request,
        400,
        "This app's redirect URI is not allowed",
        "It lies under a path of this server where the browser would send it a sign-in cookie "
        "(/ws/oauth, /admin or /account). The app must register a redirect URI elsewhere.",
        "invalid_request",
    )


def _reaches_sign_in_cookie(location: str, issuer: str) -> bool:
    """Whether the browser would send a sign-in cookie along to ``location``: cookies ignore
    ports, so a redirect URI on this server's host under a cookie path would get it. Host and
    path as the browser reads them: ``/x/../admin`` is ``/admin`` to it (``browser_urls``)."""
    if not location:
        return False
    try:
        target, ours = urlsplit(location), urlsplit(issuer)
        if target.scheme not in ("http", "https") or not target.hostname or not ours.hostname:
            return False
    except ValueError:  # not a URL a browser would follow
        return False
    if _cookie_host(target.hostname) != _cookie_host(ours.hostname):
        return False
    path = browser_urls.resolved_path(target.path)
    return any(path == p or path.startswith(p + "/") for p in sessions.COOKIE_PATHS)


# Only such hosts may be IPv4 addresses in another spelling ("2130706433", "0x7f.1", "127.1").
_NUMERIC_HOST = re.compile(r"[0-9a-fx.]+")


def _cookie_host(hostname: str) -> str:
    """``hostname`` (as ``urlsplit`` gives it) as the browser's cookie jar sees it, after the
    WHATWG URL Standard's host parsing: %-escapes decoded, mapped by UTS #46 (the ``idna``
    package: fullwidth digits, other full stops, soft hyphens, case), an IPv4 address in
    dotted-decimal form whatever its spelling (BSD's ``inet_aton`` forms, as the standard's);
    a final dot dropped (the safe side: compared as the same host)."""
    name = unquote(hostname)
    try:
        name = idna.uts46_remap(name, std3_rules=False, transitional=False)
    except idna.IDNAError:  # a code point no host may hold: the browser refuses the URL
        return name
    name = name.lower().rstrip(".")
    if _NUMERIC_HOST.fullmatch(name):
        try:
            return socket.inet_ntoa(socket.inet_aton(name))
        except OSError:  # not an address (a browser refuses such a URL altogether)
            return name
    return name


def form_page(
    request: Request, form: str, values: Mapping[str, object], status: int = 200
) -> Response:
    """One of the sign-in pages (``form``: login, consent): its form posts to the page
    of that name under the cookie's path, with this browser's CSRF token; never cached."""
    return templates.TemplateResponse(
        request,
        form + ".html",
        {
            "action": f"{sessions.COOKIE_PATH}/{form}",
            "csrf_token": sessions.csrf_token(request),
            **values,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def login_page(
    request: Request,
    request_id: str,
    app_name: str | None,
    *,
    error: str | None = None,
    email: str = "",
    status: int = 200,
) -> Response:
    values = {"request_id": request_id, "app_name": app_name, "error": error, "email": email}
    return form_page(request, "login", values, status)


def consent_page(
    request: Request, request_id: str, consent: ConsentRequest, user: User
) -> Response:
    scopes = [{"name": s, "words": describe(Scope(s))} for s in consent.scopes if s in _SCOPE_NAMES]
    values = {
        "request_id": request_id,
        "app_name": consent.app_name,
        "email": user.email,
        "scopes": scopes,
    }
    return form_page(request, "consent", values)
