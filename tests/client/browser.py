"""A minimal browser for the login and consent pages: cookies, forms and redirects.

It does what a user's browser does between the authorization URL and the redirect to the client:
every input of the form is submitted, plus the button that was clicked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

REDIRECTS = (301, 302, 303, 307, 308)


@dataclass
class Form:
    action: str
    method: str
    inputs: dict[str, str] = field(default_factory=dict)
    input_types: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, text


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get")))
        elif tag == "input" and self.forms and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self.forms[-1].buttons.append((a["name"], a.get("value", ""), a.get("value", "")))
            else:
                self.forms[-1].inputs[a["name"]] = a.get("value", "")
                self.forms[-1].input_types[a["name"]] = kind
        elif tag == "button" and self.forms and a.get("type", "submit").lower() == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, text = self._button
            self.forms[-1].buttons.append((name, value, text.strip()))
            self._button = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


class Browser:
    """Drives the authorization pages of a server until it redirects away to the client."""

    def __init__(self, *, email: str, password: str, decision: str = "Allow") -> None:
        self.email = email
        self.password = password
        self.decision = decision
        self.pages: list[str] = []  # what was shown: "login", "consent"
        self.http = httpx.Client(follow_redirects=False, timeout=10)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _submit(self, response: httpx.Response) -> httpx.Response:
        forms = [f for f in parse_forms(response.text) if f.method.lower() == "post"]
        assert len(forms) == 1, f"expected one form on {response.url}, got {len(forms)}"
        form = forms[0]
        data = dict(form.inputs)
        if "password" in form.input_types.values():
            self.pages.append("login")
            data["email"] = self.email
            data["password"] = self.password
            buttons = [b for b in form.buttons if b[0]]
        else:
            self.pages.append("consent")
            buttons = [b for b in form.buttons if b[2] == self.decision]
            assert buttons, f"no {self.decision!r} button on {response.url}"
        if buttons:
            name, value, _ = buttons[0]
            data[name] = value
        return self.http.post(
            urljoin(str(response.url), form.action or str(response.url)), data=data
        )

    def authorize(self, url: str, *, visit_client: bool = False) -> str:
        """Go from the authorization URL to the redirect back to the client; return its URL.

        With `visit_client`, the redirect is followed too (for a loopback receiver).
        """
        origin = urlsplit(url)[:2]
        response = self.http.get(url)
        for _ in range(12):
            if response.status_code in REDIRECTS:
                location = urljoin(str(response.url), response.headers["location"])
                if urlsplit(location)[:2] != origin:
                    if visit_client:
                        httpx.get(location, timeout=10).raise_for_status()
                    return location
                response = self.http.get(location)
            elif response.status_code == 200 and "<form" in response.text:
                response = self._submit(response)
            else:
                status, page = response.status_code, response.text[:300]
                raise AssertionError(f"unexpected HTTP {status} at {response.url}: {page}")
        raise AssertionError("too many steps between authorize and the client")
