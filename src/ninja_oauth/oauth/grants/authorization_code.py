"""The authorization code grant (with PKCE): codes are single-use, short-lived and bound to the
client, the redirect URI and the PKCE challenge."""

from __future__ import annotations

import hmac
from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import AccessDeniedError, InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge, create_s256_code_challenge

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth import syntax
from ninja_oauth.oauth.client_auth import OAuthClient
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import AuthorizationCode, User
from ninja_oauth.oauth.errors import StrictProfileError
from ninja_oauth.oauth.grants.rules import (
    check_response_mode,
    check_sent_client_secret,
    registered_redirect_uri,
    resolve_scope,
    strict_because,
    success_redirect,
)
from ninja_oauth.oauth.ports import AlreadyUsed, Consumed, Missing, Writes


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    # Redeems the code (and on a replay revokes what it gave).
    WRITES = Writes.CHANGES
    # Whether the code was used before: its replay, once it passes the checks, is acted on
    # (consume finds it used) even where the strict profile would refuse its redemption.
    replayed = False
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    validate_authorization_redirect_uri = staticmethod(registered_redirect_uri)

    @property
    def ctx(self) -> CoreContext:
        ctx: CoreContext = self.server.ctx
        return ctx

    def validate_authorization_request(self) -> str:
        request = self.request
        redirect_uri: str = super().validate_authorization_request()
        client: OAuthClient = request.client
        bad = syntax.malformed(request.payload.data, syntax.CODE_PARAMETERS)
        if bad is not None:
            raise syntax.malformed_error(bad, redirect_uri)
        check_response_mode(request, redirect_uri)
        check_sent_client_secret(self.ctx, request, client, redirect_uri)
        why = strict_because(self.ctx, client)
        if why is not None:
            _check_strict_pkce(request, why, redirect_uri)
        # RFC 7636 §4.4.1 / RFC 9700 §2.1.1: public apps must use PKCE; checked here, at the
        # authorize step, so a request without it never reaches the login page.
        if not client.app.confidential and not request.payload.data.get("code_challenge"):
            raise InvalidRequestError(
                "Public apps must send code_challenge (PKCE, S256 or plain).",
                redirect_uri=redirect_uri,
            )
        return redirect_uri

    def validate_requested_scope(self) -> None:
        resolve_scope(self.request, self.request.client)

    def create_authorization_response(
        self, redirect_uri: str, grant_user: User | None
    ) -> tuple[int, str, list[tuple[str, str]]]:
        if grant_user is None:
            raise AccessDeniedError(
                "The user denied the request.",
                redirect_uri=redirect_uri,
            )
        self.request.user = grant_user
        code = s.new_secret()
        self.save_authorization_code(code, self.request)
        return success_redirect(self.ctx, self.request, redirect_uri, [("code", code)])

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        challenge = data.get("code_challenge")
        record = AuthorizationCode(
            client_id=request.client.client_id,
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            grant_id=s.new_grant_id(),
            expires_at=self.ctx.clock() + self.ctx.lifetimes.code,
            code_challenge=challenge,
            code_challenge_method=(data.get("code_challenge_method") or "plain")
            if challenge
            else None,
        )
        self.ctx.repos.codes.save(self.ctx.hasher.digest(code, s.CODE), record)

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        """The code as it stands, for Authlib's checks (redirect_uri, then PKCE); it is consumed
        only once they pass (``validate_token_request``), so a request that fails them, e.g.
        from someone who intercepted the code but has no verifier, cannot burn it.

        A code used before goes through the same checks: only a replay that passes them is
        acted on (``consume`` finds the code used and its tokens are revoked). Someone holding
        a used code of a public app, but not its verifier or not the redirect URI it was
        issued for, gets invalid_grant and revokes nothing: otherwise anyone who read a used
        code (a custom-scheme redirect intercepted, a URL in a log) could sign its user out
        of the app (RFC 7636 §1's attacker)."""
        if not code:  # RFC 6749 §3.1: a parameter sent without a value counts as omitted
            raise InvalidRequestError("Missing 'code' in request.")
        now = self.ctx.clock()
        digest = self.ctx.hasher.digest(code, s.CODE)
        found = self.ctx.repos.codes.peek(digest, client.client_id)
        if isinstance(found, AlreadyUsed) and found.code is not None:
            self.replayed = True
            return found.code
        return self._usable(found, client, now)

    def validate_token_request(self) -> None:
        super().validate_token_request()  # Authlib's checks, PKCE's hook included
        request = self.request
        client: OAuthClient = request.client
        why = strict_because(self.ctx, client)
        code: AuthorizationCode = request.authorization_code
        if why is not None and code.code_challenge_method != "S256" and not self.replayed:
            # A code issued before the strict profile applied: refused before it is consumed.
            raise StrictProfileError(
                "invalid_grant",
                f"The code was issued without PKCE S256: {why} (RFC 9700 section 2.1.1). "
                "Start the authorization again with code_challenge_method=S256.",
            )
        now = self.ctx.clock()
        digest = self.ctx.hasher.digest(request.form["code"], s.CODE)
        # Single use, in one atomic statement (STYLE §4): of two racing redemptions that both
        # passed the checks, one consumes it and the other is a replay.
        consumed = self.ctx.repos.codes.consume(digest, client.client_id, now)
        request.grant_id = self._usable(consumed, client, now).grant_id

    def _usable(
        self, found: Consumed | AlreadyUsed | Missing, client: OAuthClient, now: int
    ) -> AuthorizationCode:
        """The code, or InvalidGrantError. RFC 6749 §4.1.2: "If an authorization code is used
        more than once, the authorization server MUST deny the request and SHOULD revoke ...
        all tokens previously issued based on that code"."""
        if isinstance(found, AlreadyUsed):
            revoked = self.ctx.repos.tokens.revoke_family(found.client_id, found.grant_id, now)
            self.ctx.repos.audit.record(
                "code_replayed",
                client_id=client.client_id,
                address=self.request.address,
                revoked_tokens=revoked,
            )
            raise InvalidGrantError(
                "The code was already used; the tokens issued from it have been revoked."
            )
        if not isinstance(found, Consumed):
            raise InvalidGrantError("The code is not valid: unknown, or issued to another app.")
        if found.code.expires_at <= now:
            raise InvalidGrantError("The code has expired; start the authorization again.")
        return found.code

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        # Already consumed atomically in validate_token_request.
        return None

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User | None:
        user = self.ctx.repos.users.get(authorization_code.user_id)
        if user is not None and user.disabled:
            # Disabling deletes the user's codes; this holds should one slip past that.
            raise InvalidGrantError("The user who granted this code is disabled.")
        return user


def _check_strict_pkce(request: Any, why: str, redirect_uri: str) -> None:
    """The strict profile: every code request carries a S256 code_challenge (RFC 9700 §2.1.1:
    "the authorization server MUST enforce the correct usage of code_verifier"; S256 is the
    method that protects when the authorization request can be read)."""
    data = request.payload.data
    if not data.get("code_challenge"):
        raise StrictProfileError(
            "invalid_request",
            f"code_challenge is required: {why} (RFC 9700 section 2.1.1). Send code_challenge "
            "with code_challenge_method=S256.",
            redirect_uri=redirect_uri,
        )
    method = data.get("code_challenge_method")
    if method != "S256":
        said = "is missing, which means plain" if method is None else "is plain"
        raise StrictProfileError(
            "invalid_request",
            f"code_challenge_method {said}: {why} (RFC 9700 section 2.1.1). Use "
            "code_challenge_method=S256.",
            redirect_uri=redirect_uri,
        )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class ConstantTimeCodeChallenge(CodeChallenge):  # type: ignore[misc]
    """Authlib's PKCE extension, with the verifier compared in constant time: Authlib compares
    with ``==``, and with ``plain`` the stored challenge is the verifier itself."""

    CODE_CHALLENGE_METHODS = {
        "plain": _same,
        "S256": lambda verifier, challenge: _same(create_s256_code_challenge(verifier), challenge),
    }
