"""The authorize response's Location: the registered redirect URI as it was registered, with
the response's parameters (and iss) added to its query, or as the fragment."""

from __future__ import annotations

import pytest

from ninja_oauth.oauth.responses import redirect_to_client

ISSUER = "https://auth.example"


@pytest.mark.parametrize(
    ("registered", "query", "in_fragment"),
    [
        ("com.example.app:///callback", "com.example.app:///callback?code=c&iss=", None),
        ("com.example.app://", "com.example.app://?code=c&iss=", None),
        ("com.example.app:/cb", "com.example.app:/cb?code=c&iss=", None),
        ("https://client.example/cb?tenant=7", "https://client.example/cb?tenant=7&code=c&iss=", None),
        ("https://client.example/cb?", "https://client.example/cb?code=c&iss=", None),
        ("http://127.0.0.1:5000/cb", "http://127.0.0.1:5000/cb?code=c&iss=", "http://127.0.0.1:5000/cb#code=c&iss="),
    ],
)  # fmt: skip
def test_the_location_is_the_registered_uri_with_the_parameters_added(
    registered: str, query: str, in_fragment: str | None
) -> None:
    status, _, headers = redirect_to_client(
        registered, [("code", "c")], fragment=False, issuer=ISSUER
    )
    assert status == 307
    assert dict(headers)["Location"] == query + "https%3A%2F%2Fauth.example"
    if in_fragment is not None:
        _, _, headers = redirect_to_client(
            registered, [("code", "c"), ("state", None)], fragment=True, issuer=ISSUER
        )
        assert dict(headers)["Location"] == in_fragment + "https%3A%2F%2Fauth.example"
