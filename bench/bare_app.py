"""The bare baseline: a Starlette app of the same shape as the two benchmarked endpoints.

``POST /token`` awaits ``request.form()`` and answers a token-sized JSON body (no database, no
crypto); ``GET /v2/organizations`` reads the Authorization header and answers the JSON body the
real endpoint answered. The bodies are the real responses captured by ``run.py`` and passed as
files (``BENCH_TOKEN_JSON``, ``BENCH_ORGS_JSON``) so the sizes match byte for byte.

Served like ``ninja-oauth serve`` serves its app (src/ninja_oauth/cli/serve.py): its supervisor
(``ninja_oauth.serving``: N workers, each on its own ``SO_REUSEPORT`` socket), a factory,
no access log, no server header.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _load(variable: str, default: Any) -> Any:
    path = os.environ.get(variable)
    return json.loads(Path(path).read_text()) if path else default


def app_factory() -> Starlette:
    token_body = _load(
        "BENCH_TOKEN_JSON",
        {
            "access_token": "x" * 43,
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": "monitoring",
        },
    )
    orgs_body = _load("BENCH_ORGS_JSON", [])

    async def token(request: Request) -> Response:
        form = await request.form()
        if form.get("grant_type") != "client_credentials" or not form.get("client_id"):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        return JSONResponse(token_body, headers=_NO_STORE)

    async def organizations(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if not authorization.lower().startswith("bearer ") or len(authorization) < 8:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        return JSONResponse(orgs_body)

    async def ready(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/token", token, methods=["POST"]),
            Route("/v2/organizations", organizations, methods=["GET"]),
            Route("/ready", ready, methods=["GET"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    from ninja_oauth import serving

    # Mirrors src/ninja_oauth/cli/serve.py: the same supervisor (a socket per worker), loop, HTTP
    # parser, logging and header options.
    status = serving.serve(
        "bare_app:app_factory",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="info",
        server_header=False,
        proxy_headers=False,
    )
    raise SystemExit(status)


if __name__ == "__main__":
    main()
