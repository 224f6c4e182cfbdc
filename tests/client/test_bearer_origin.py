"""The bearer token never leaves the API's origin (RFC 6750 §5.3)."""

from __future__ import annotations


def test_the_bearer_token_is_sent_only_to_the_api_origin() -> None:
    import time

    import httpx

    from ninja_oauth.client import NinjaOAuth, Token

    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[str(request.url)] = request.headers.get("authorization")
        return httpx.Response(200, json={})

    token = Token.from_response(
        {"access_token": "t0k3n", "token_type": "bearer", "expires_in": 3600}, now=time.time()
    )
    auth = NinjaOAuth.client_credentials(
        base_url="http://127.0.0.1:8080", client_id="id", client_secret="s", token=token
    )
    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.get("http://127.0.0.1:8080/v2/organizations")
        client.get("https://elsewhere.example.com/collect")
        client.get("http://127.0.0.1:9999/v2/organizations")
    assert seen == {
        "http://127.0.0.1:8080/v2/organizations": "Bearer t0k3n",
        "https://elsewhere.example.com/collect": None,
        "http://127.0.0.1:9999/v2/organizations": None,
    }
