"""The reads (api/reads.py) as a client sees them: the guard before anything else, RFC 6750
answers for a bad token, a 500 that tells nothing for a failure, and /docs documenting every
read with its parameters and response schema, as it documents the writes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import Field
from starlette.routing import Route

from ninja_oauth.api import _READS, build_public_api, schemas
from ninja_oauth.api.filters import QueryModel
from ninja_oauth.api.reads import ReadCall, Reads, ReadTable
from ninja_oauth.oauth.secrets import SecretHasher
from ninja_oauth.store.db import Store

from .conftest import ISSUER, KEY, MintToken, bearer
from .endpoints import ENDPOINTS

READS = [e for e in ENDPOINTS if e.method == "GET"]


@pytest.mark.parametrize(
    ("authorization", "status", "body", "challenge"),
    [
        ("Bearer not-a-token", 401,
         {"error": "invalid_token", "error_description": "The access token is unknown or revoked."},
         'Bearer realm="ninja-oauth", error="invalid_token", '
         'error_description="The access token is unknown or revoked."'),
        ("Basic dXNlcjpwYXNz", 401,
         {"error_description": "Send an access token as 'Authorization: Bearer <token>'."},
         'Bearer realm="ninja-oauth"'),
        ("Bearer ", 400,
         {"error": "invalid_request",
          "error_description": "Send the token as 'Authorization: Bearer <token>'."},
         'Bearer realm="ninja-oauth", error="invalid_request", '
         "error_description=\"Send the token as 'Authorization: Bearer <token>'.\""),
    ],
)  # fmt: skip
def test_a_bad_authorization_is_answered_as_rfc_6750_says(
    client: TestClient, authorization: str, status: int, body: dict[str, str], challenge: str
) -> None:
    answer = client.get("/v2/organizations", headers={"Authorization": authorization})
    assert (answer.status_code, answer.json()) == (status, body)
    assert answer.headers["www-authenticate"] == challenge


@pytest.mark.parametrize("e", READS, ids=[e.id for e in READS])
def test_the_guard_answers_before_the_parameters_are_read(
    client: TestClient, token: MintToken, e: Any
) -> None:
    """A read with a bad parameter and no token (or the wrong scope) is a 401 (or 403), as
    with FastAPI's dependencies: the token is checked first."""
    path = e.bad[0] if e.bad else e.path
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(token("management"))).status_code == 403


def test_a_head_request_is_answered_like_a_get(client: TestClient, token: MintToken) -> None:
    answer = client.head("/v2/organizations", headers=bearer(token("monitoring")))
    assert (answer.status_code, answer.content) == (200, b"")
    assert int(answer.headers["content-length"]) > 2


def test_unknown_query_parameters_are_ignored_and_the_last_of_a_repeated_one_counts(
    client: TestClient, monitoring: dict[str, str]
) -> None:
    answer = client.get("/v2/organizations?unknown=1&pageSize=9&pageSize=1", headers=monitoring)
    assert answer.status_code == 200
    assert [o["id"] for o in answer.json()] == [1]


# -- failures: a small app of reads that fail, served as the Public API serves its reads ------


class _Query(QueryModel):
    n: int = Field(default=1, ge=1)


def _failing_app(store: Store) -> FastAPI:
    reads = Reads(tags=["test"])

    @reads.get("/v2/raises", response=dict[str, str])
    async def raises(call: ReadCall[Any]) -> dict[str, str]:
        raise RuntimeError("detail that must not leak")

    @reads.get("/v2/invalid-response", response=schemas.Organization, query=_Query)
    async def invalid_response(call: ReadCall[_Query]) -> dict[str, Any]:
        return {"id": "not a number", "name": "x", "nodeApprovalMode": "NEVER"}

    app = build_public_api(store, SecretHasher(KEY), ISSUER).app
    app.router.routes[:0] = [read.route(app.state) for read in reads.declared]
    return app


@pytest.mark.parametrize("path", ["/v2/raises", "/v2/invalid-response"])
def test_a_failing_read_is_a_500_that_tells_nothing_logged_once_by_type(
    store: Store,
    token: MintToken,
    caplog: pytest.LogCaptureFixture,
    path: str,
) -> None:
    app = _failing_app(store)
    with caplog.at_level(logging.ERROR, logger="ninja_oauth.errors"):
        client = TestClient(app, raise_server_exceptions=False)
        answer = client.get(path, headers=bearer(token("monitoring")))
    assert answer.status_code == 500
    assert answer.json() == {
        "error": "server_error",
        "error_description": "The server could not complete the request.",
    }
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith("unexpected ")
    assert caplog.messages[0].endswith(f" on GET {path}")
    assert "must not leak" not in caplog.text


# -- the documentation ----------------------------------------------------------------------


def test_every_read_is_documented_with_its_parameters_response_scope_and_errors(
    app: FastAPI,
) -> None:
    document = app.openapi()
    assert len(READS) == 63  # 17 before issue 14 (alerts, inventory, queries, ticketing, lists)
    for e in READS:
        template = e.spec_path or e.path
        operation = document["paths"][template]["get"]
        assert operation["security"] == [{"oauth2": []}], template
        assert set(operation["responses"]) >= {"200", "4XX"}, template
        assert "422" not in operation["responses"], template
        assert operation["responses"]["200"]["content"]["application/json"]["schema"], template
        assert operation["description"], template
        documented = {(p["name"], p["in"]) for p in operation.get("parameters", [])}
        for name in ("id",):
            if "{" + name + "}" in template:
                assert (name, "path") in documented, template
    documented_reads = {path for path, ops in document["paths"].items() if "get" in ops}
    assert documented_reads == {e.spec_path or e.path for e in READS}


def test_the_documented_parameters_are_the_ones_the_reads_take(app: FastAPI) -> None:
    document = app.openapi()
    organizations = document["paths"]["/v2/organizations"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in organizations["parameters"]] == [
        ("pageSize", "query", False),
        ("after", "query", False),
        ("of", "query", False),
    ]
    page_size = organizations["parameters"][0]["schema"]["anyOf"][0]
    assert page_size == {"type": "integer", "minimum": 1, "maximum": 2147483647}
    response = organizations["responses"]["200"]["content"]["application/json"]["schema"]
    assert response["items"] == {"$ref": "#/components/schemas/Organization"}
    activities = document["paths"]["/v2/activities"]["get"]
    names = [p["name"] for p in activities["parameters"]]
    assert names[:5] == ["class", "before", "after", "olderThan", "newerThan"]
    device = document["paths"]["/v2/device/{id}"]["get"]
    assert device["parameters"] == [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {
                "type": "integer",
                "minimum": -2147483648,
                "maximum": 2147483647,
                "title": "Id",
            },
        }
    ]
    assert document["paths"]["/v2/device/{id}"]["patch"]["security"] == [{"oauth2": []}]


def test_every_read_is_found_by_the_shape_of_its_path_and_the_rest_falls_back() -> None:
    """The front door's table of reads: a GET of any read goes straight to its endpoint with
    its ids as path parameters; HEAD, a malformed id and a path of no read go to the fallback
    (the same routes in a Starlette Router, then the API app)."""
    reached: list[tuple[str, dict[str, str]]] = []

    class Endpoint:  # an ASGI app, as each read's endpoint is (Starlette routes it as is)
        def __init__(self, path: str) -> None:
            self.path = path

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            reached.append((self.path, scope["path_params"]))

    fell_back: list[str] = []

    async def fallback(scope: Any, receive: Any, send: Any) -> None:
        fell_back.append(f"{scope['method']} {scope['path']}")

    table = ReadTable([Route(r.path, Endpoint(r.path)) for r in _READS], fallback)

    async def get(path: str, method: str = "GET") -> None:
        await table({"type": "http", "method": method, "path": path}, None, None)

    for number, read in enumerate(_READS):
        names = read.path_names
        concrete = read.path
        for name in names:
            concrete = concrete.replace("{" + name + "}", str(number + 7))
        asyncio.run(get(concrete))
        assert reached[-1] == (read.path, {n: str(number + 7) for n in names})
    for path, method in (
        ("/v2/organizations", "HEAD"),
        ("/v2/device/abc/software", "GET"),
        ("/v2/organizations/", "GET"),
        ("/v2/nothing-here", "GET"),
    ):
        asyncio.run(get(path, method))
    assert fell_back == [
        "HEAD /v2/organizations",
        "GET /v2/device/abc/software",
        "GET /v2/organizations/",
        "GET /v2/nothing-here",
    ]
    assert len(reached) == len(_READS)
