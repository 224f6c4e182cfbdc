"""Helpers that read like the flows: authorize through the login and consent pages, exchange."""

from __future__ import annotations

import base64
import hashlib
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.fields: dict[str, str] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self._button: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None:
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "button" and "name" in a:
            self._button = a

    def handle_data(self, data: str) -> None:
        if self._button is not None and data.strip():
            self.buttons[data.strip()] = (self._button["name"], self._button.get("value", ""))
            self._button = None


def parse_form(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    assert parser.action, "the page has no form"
    return parser


def pkce_pair(method: str = "S256") -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    if method == "plain":
        return verifier, verifier
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def fragment_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).fragment).items()}


def log_in(
    client: httpx.Client,
    login_page: httpx.Response,
    email: str,
    password: str,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Submit the login form; returns the server's answer (303 on success)."""
    form = parse_form(login_page.text)
    assert form.action is not None
    data = {**form.fields, "email": email, "password": password}
    return client.post(form.action, data=data, headers=headers)


def decide(client: httpx.Client, consent_page: httpx.Response, button: str) -> httpx.Response:
    """Press Allow or Deny on the consent page; returns the 303."""
    form = parse_form(consent_page.text)
    name, value = form.buttons[button]
    assert form.action is not None
    return client.post(form.action, data={**form.fields, name: value})


def authorize(
    client: httpx.Client,
    params: dict[str, str],
    *,
    user: tuple[str, str] | None,
    button: str = "Allow",
) -> httpx.Response:
    """Run the browser part of an authorize request to its final answer (the 307)."""
    response = client.get("/ws/oauth/authorize", params=params)
    for _ in range(4):
        if response.status_code != 200:
            return response
        if 'name="password"' in response.text:
            assert user is not None, "login page shown but no user given"
            response = log_in(client, response, *user)
        else:
            response = decide(client, response, button)
        assert response.status_code == 303, response.text
        response = client.get(response.headers["location"])
    return response


def assert_oauth_error(
    response: httpx.Response, status: int, error: str, description: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    if description is not None:
        assert body.get("error_description") == description, body
    assert response.headers.get("cache-control") == "no-store"
    return body
