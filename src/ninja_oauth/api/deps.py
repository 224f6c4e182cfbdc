"""Annotated dependency aliases for the Public API routes."""

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


StoreDep = Annotated[Store, Depends(get_store)]
# Reads need monitoring, writes management, remote access control (documents, "Scopes").
MonitoringDep = Annotated[AccessGrant, Depends(require_scope(Scope.MONITORING))]
ManagementDep = Annotated[AccessGrant, Depends(require_scope(Scope.MANAGEMENT))]
ControlDep = Annotated[AccessGrant, Depends(require_scope(Scope.CONTROL))]
