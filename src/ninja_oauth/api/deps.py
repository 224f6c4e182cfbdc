"""Annotated dependency aliases for the Public API's writes (FastAPI routes); the reads call
the guard directly (``api/reads.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from ninja_oauth.api.guard import require_scope
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.scopes import Scope
from ninja_oauth.store.db import Store


async def get_store(request: Request) -> Store:
    # async: FastAPI runs a plain def dependency in the threadpool, a hop on every API call.
    store: Store = request.app.state.store
    return store


async def get_issuer(request: Request) -> str:
    # The server's public base URL (Settings.issuer): links are built on it, not on the Host.
    issuer: str = request.app.state.issuer
    return issuer


StoreDep = Annotated[Store, Depends(get_store)]
IssuerDep = Annotated[str, Depends(get_issuer)]
# Writes need management, remote access control (documents, "Scopes").
ManagementDep = Annotated[AccessGrant, Depends(require_scope(Scope.MANAGEMENT))]
ControlDep = Annotated[AccessGrant, Depends(require_scope(Scope.CONTROL))]
