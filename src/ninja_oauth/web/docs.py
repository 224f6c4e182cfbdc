"""The API documentation at /docs: Swagger UI served by this server itself, so the page works
with no internet and under the site's Content-Security-Policy (issue 11).

Swagger UI 5's files (the bundle, its CSS, the favicon) come from the fastapi-offline package's
``static`` folder, mounted at /docs/static; the page (``templates/docs.html``) loads them and
``static/docs.js``, which starts Swagger UI on /openapi.json: no CDN and no inline script.
FastAPI's own /docs (CDN files, an inline script) is off (``docs_url=None``, api/__init__.py);
/openapi.json stays the Public API app's (web/root.py).

There is no /docs/oauth2-redirect: the API documents an HTTP bearer scheme (api/guard.py), so
Swagger UI never runs an OAuth flow that would come back to it (its Authorize button asks for a
token), and FastAPI's redirect page is an inline script this policy would block.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ninja_oauth.web.context import templates

SWAGGER_UI = Path(str(files("fastapi_offline") / "static"))
# The site's policy (web/security.py) plus data: images, which Swagger UI's CSS draws its icons
# with (Chromium refuses them otherwise: tests/browser/test_docs_offline.py); on /docs only.
DOCS_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"


async def docs(request: Request) -> Response:
    response = templates.TemplateResponse(request, "docs.html", {})
    response.headers["content-security-policy"] = DOCS_CSP
    return response


def docs_routes() -> list[BaseRoute]:
    """/docs and Swagger UI's files under /docs/static."""
    return [
        Route("/docs", docs, methods=["GET"]),
        Mount("/docs/static", StaticFiles(directory=SWAGGER_UI)),
    ]
