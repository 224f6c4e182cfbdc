"""The ninja-oauth client SDK: NinjaOne OAuth 2.0 done right, on httpx alone.

```python
from ninja_oauth.client import NinjaOAuth, Region

auth = NinjaOAuth.client_credentials(
    region=Region.EU, client_id=..., client_secret=..., scopes=["monitoring"]
)
with httpx.Client(base_url=auth.api_base_url, auth=auth) as api:
    orgs = api.get("/v2/organizations").json()
```
"""

from ninja_oauth.client.auth import NinjaOAuth
from ninja_oauth.client.cache import TokenCache
from ninja_oauth.client.errors import (
    AccessDenied,
    InsufficientScope,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    InvalidToken,
    IssuerMismatch,
    LoginRequired,
    LoginTimeout,
    NetworkError,
    NinjaOAuthError,
    OAuthError,
    ProtocolError,
    ServerError,
    StateMismatch,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    UnsupportedTokenType,
)
from ninja_oauth.client.flows import AuthorizationRequest
from ninja_oauth.client.loopback import LoopbackReceiver
from ninja_oauth.client.regions import Endpoints, Region
from ninja_oauth.client.tokens import Token

__all__ = [
    "AccessDenied",
    "AuthorizationRequest",
    "Endpoints",
    "InsufficientScope",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidToken",
    "IssuerMismatch",
    "LoginRequired",
    "LoginTimeout",
    "LoopbackReceiver",
    "NetworkError",
    "NinjaOAuth",
    "NinjaOAuthError",
    "OAuthError",
    "ProtocolError",
    "Region",
    "ServerError",
    "StateMismatch",
    "TemporarilyUnavailable",
    "Token",
    "TokenCache",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "UnsupportedResponseType",
    "UnsupportedTokenType",
]
