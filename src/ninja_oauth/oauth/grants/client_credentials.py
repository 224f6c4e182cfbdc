"""The client credentials grant for API Services (machine-to-machine) apps."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import grants

from ninja_oauth.oauth.grants.rules import resolve_scope, without_offline_access
from ninja_oauth.oauth.ports import Writes


class ClientCredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
    # Its only write is the new token row.
    WRITES = Writes.APPENDS
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def validate_requested_scope(self) -> None:
        resolve_scope(self.request, self.request.client)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        # RFC 6749 §4.4.3: "A refresh token SHOULD NOT be included"; the client can always ask
        # again, so offline_access is dropped from what is granted (DESIGN §6).
        scope = without_offline_access(self.request.scope)
        token = self.generate_token(scope=scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER
