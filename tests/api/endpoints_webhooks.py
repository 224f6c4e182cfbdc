"""The webhooks endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first."""

from __future__ import annotations

from .endpoints import Endpoint

# Loopback is allowed by default (NINJA_OAUTH_WEBHOOK_ALLOWED_HOSTS empty); nothing listens on
# port 9 of the test host, and no delivery worker runs beside the API's tests anyway.
WEBHOOK = {
    "url": "http://127.0.0.1:9/ninja-hook",
    "activities": {"SYSTEM": ["SYSTEM_REBOOTED"], "CONDITION": ["RESET"]},
    "headers": [{"name": "Authorization", "value": "Bearer receiver-secret"}],
}

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "PUT", "/v2/webhook", "/v2/webhook", "management", 204, body=WEBHOOK,
        bad=("/v2/webhook", {**WEBHOOK, "url": "http://169.254.169.254/latest/meta-data/"},
             "url: 169.254.169.254 is a link-local or cloud metadata address: never allowed"),
    ),
    # No parameter, no body: removing a webhook that is not there is a 204 too.
    Endpoint("DELETE", "/v2/webhook", "/v2/webhook", "management", 204),
]  # fmt: skip
