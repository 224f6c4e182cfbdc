"""The refresh token grant: rotation on every use; reuse of a rotated token revokes the family."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError, InvalidScopeError

from ninja_oauth.oauth import secrets as s
from ninja_oauth.oauth.client_auth import OAuthClient
from ninja_oauth.oauth.context import CoreContext
from ninja_oauth.oauth.domain import RefreshRecord, User
from ninja_oauth.oauth.ports import AlreadyUsed, Rotated, Writes
from ninja_oauth.oauth.scopes import Scope, join_scope, parse_scope
from ninja_oauth.oauth.syntax import quoted


class RefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    # Rotates the refresh token (and on reuse revokes the family).
    WRITES = Writes.CHANGES
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]
    INCLUDE_NEW_REFRESH_TOKEN = True

    @property
    def ctx(self) -> CoreContext:
        ctx: CoreContext = self.server.ctx
        return ctx

    def validate_token_request(self) -> None:
        client: OAuthClient = self._validate_request_client()
        self.request.client = client
        refresh_token = self.request.form.get("refresh_token")
        if not refresh_token:
            raise InvalidRequestError("Missing 'refresh_token' in request.")
        # The scope is checked before the rotation, so a bad request does not burn the token;
        # but a token used already is a reuse whatever the scope asked (RFC 9700 §4.14.2):
        # the rotation below finds it so and revokes the family.
        digest = self.ctx.hasher.digest(refresh_token, s.REFRESH_TOKEN)
        family = self.ctx.repos.tokens.refresh_family(digest, client.client_id)
        if family is not None and not family.used:
            self._check_narrowing(family.scope)
            self._check_still_allowed(family.scope)
        self.request.refresh_token = self._rotate(digest)

    def _rotate(self, digest: str) -> RefreshRecord:
        """Rotate the refresh token of ``digest`` in one atomic statement (STYLE §4); a second
        use of the same token is a reuse, which revokes the whole family (RFC 9700 §4.14.2).
        (Authlib's ``authenticate_refresh_token`` hook, which only its
        ``validate_token_request`` calls, overridden above, takes the token itself.)"""
        client: OAuthClient = self.request.client
        now = self.ctx.clock()
        result = self.ctx.repos.tokens.rotate(digest, client.client_id, now)
        if isinstance(result, AlreadyUsed):
            revoked = self.ctx.repos.tokens.revoke_family(result.client_id, result.grant_id, now)
            self.ctx.repos.audit.record(
                "refresh_token_reused",
                client_id=client.client_id,
                address=self.request.address,
                revoked_tokens=revoked,
            )
            raise InvalidGrantError(
                "The refresh token was already used; every token of its family has been revoked. "
                "Log in again."
            )
        if not isinstance(result, Rotated):
            raise InvalidGrantError(
                "The refresh token is not valid: unknown, expired, revoked or issued to another "
                "app."
            )
        self.request.grant_id = result.record.grant_id
        self.request.refresh_scope = result.record.scope
        return result.record

    def _check_narrowing(self, family_scope: str) -> None:
        # A refresh may narrow the scope, never widen it (RFC 6749 §6).
        wider = [
            x for x in parse_scope(self.request.payload.scope) if x not in parse_scope(family_scope)
        ]
        if wider:
            raise InvalidScopeError(
                f"A refresh may only narrow the scope; '{quoted(' '.join(wider))}' was not granted."
            )

    def _allowed(self) -> set[str]:
        """What the app may be granted now: an administrator may have taken scopes away since
        the user consented (``apps edit``), and a refresh issues new tokens."""
        client: OAuthClient = self.request.client
        return {*client.app.scopes, Scope.OFFLINE_ACCESS.value}

    def _check_still_allowed(self, family_scope: str) -> None:
        # A refresh asking for a scope the app lost is invalid_scope, as an authorize request
        # asking for it is; one asking for nothing gets what the app may still have
        # (issue_token), unless nothing of it is left.
        allowed = self._allowed()
        requested = parse_scope(self.request.payload.scope)
        lost = [x for x in requested if x not in allowed]
        if lost:
            raise InvalidScopeError(
                f"This app may no longer be granted '{quoted(' '.join(lost))}'; ask for less."
            )
        kept = [x for x in requested or parse_scope(family_scope) if x in allowed]
        if not [x for x in kept if x != Scope.OFFLINE_ACCESS.value]:
            raise InvalidScopeError(
                "This app may no longer be granted any scope of this refresh token: sign in again."
            )

    def issue_token(self, user: Any, refresh_token: RefreshRecord) -> dict[str, Any]:
        requested = parse_scope(self.request.payload.scope)
        allowed = self._allowed()
        granted = parse_scope(refresh_token.scope)
        # RFC 6749 §6: an omitted scope is the one granted, less what the app lost since
        # (the response then says the scope, §5.1). Within what was granted and is allowed
        # whatever the checks before found (they run only when the family row was read).
        scope = join_scope([x for x in requested or granted if x in granted and x in allowed])
        # DESIGN §6: "A refresh that narrows the scope away from offline_access returns no new
        # refresh token." The old one was rotated (used) all the same: the family ends with this
        # access token, and presenting the old refresh token again is a reuse, as after any
        # rotation.
        token: dict[str, Any] = self.generate_token(
            user=user,
            scope=scope,
            include_refresh_token=Scope.OFFLINE_ACCESS.value in parse_scope(scope),
        )
        return token

    def authenticate_user(self, refresh_token: RefreshRecord) -> User | None:
        if refresh_token.user_id is None:
            return None
        user = self.ctx.repos.users.get(refresh_token.user_id)
        if user is not None and user.disabled:
            # Disabling revokes the user's tokens; this holds should one slip past that.
            raise InvalidGrantError("The user this refresh token was issued to is disabled.")
        return user

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        # The old refresh token was marked used by the rotation itself.
        return None
