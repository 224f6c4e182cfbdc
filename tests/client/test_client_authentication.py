"""How the client authenticates at the token endpoint (RFC 6749 §2.3.1), seen on the wire."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest

from ninja_oauth.client import NinjaOAuth
from ninja_oauth.client.errors import redact
from ninja_oauth.client.flows import ClientIdentity, join_scopes

TOKEN = {"access_token": "at", "token_type": "bearer", "expires_in": 3600}


def captured(**options: object) -> tuple[httpx.Request, NinjaOAuth]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json=TOKEN)

    auth = NinjaOAuth.client_credentials(
        base_url="https://ninja.example",
        transport=httpx.MockTransport(handler),
        **options,  # type: ignore[arg-type]
    )
    auth.get_token()
    return sent[0], auth


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def test_client_secret_post_sends_the_credentials_as_form_fields_like_the_documents() -> None:
    request, _ = captured(client_id="id-1", client_secret="secret-1", scopes=["monitoring"])

    assert request.url == "https://ninja.example/ws/oauth/token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    assert form(request) == {
        "grant_type": "client_credentials",
        "client_id": "id-1",
        "client_secret": "secret-1",
        "scope": "monitoring",
    }


def test_client_secret_basic_form_encodes_both_parts_before_base64() -> None:
    request, _ = captured(
        client_id="id 1:x", client_secret="p@ss:word", auth_method="client_secret_basic"
    )

    scheme, _, encoded = request.headers["authorization"].partition(" ")
    assert (scheme, base64.b64decode(encoded).decode()) == ("Basic", "id+1%3Ax:p%40ss%3Aword")
    assert form(request) == {"grant_type": "client_credentials"}


def test_a_public_client_sends_only_its_id() -> None:
    data: dict[str, str] = {}
    headers: dict[str, str] = {}

    ClientIdentity("native-1", None, "client_secret_basic").authenticate(data, headers)

    assert (data, headers) == ({"client_id": "native-1"}, {})


def test_the_identity_repr_hides_the_secret() -> None:
    assert "secret-1" not in repr(ClientIdentity("id-1", "secret-1"))


@pytest.mark.parametrize(
    ("scopes", "expected"),
    [
        (None, None),
        ([], None),
        ("monitoring  management", "monitoring management"),
        (["monitoring", "monitoring", "control"], "monitoring control"),
        (["monitoring offline_access", "offline_access"], "monitoring offline_access"),
    ],
    ids=["none", "empty", "string", "repeated", "items-of-several"],
)
def test_scopes_are_joined_with_single_spaces(scopes: object, expected: str | None) -> None:
    assert join_scopes(scopes) == expected  # type: ignore[arg-type]


def test_redaction_masks_the_longest_secret_first_and_ignores_trivial_ones() -> None:
    text = "token abcdef123456 and abcdef and a"

    assert redact(text, ["abcdef", "abcdef123456", "a", None]) == (
        "token [redacted] and [redacted] and a"
    )
