"""/v2/policies, /v2/roles, /v2/automation/scripts and /v2/users (scope: monitoring)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from ninja_oauth.api import schemas, views
from ninja_oauth.api.deps import MonitoringDep, StoreDep
from ninja_oauth.api.lean import LeanRoute
from ninja_oauth.store.repositories import api_data as repo

router = APIRouter(tags=["system"], route_class=LeanRoute)


@router.get("/v2/policies", response_model=list[schemas.Policy], response_model_exclude_none=True)
async def get_policies(store: StoreDep, _: MonitoringDep) -> list[dict[str, Any]]:
    """Every policy (scope: monitoring)."""
    return [views.policy(r) for r in await store.read(repo.list_policies)]


@router.get("/v2/roles", response_model=list[schemas.NodeRole], response_model_exclude_none=True)
async def get_node_roles(store: StoreDep, _: MonitoringDep) -> list[dict[str, Any]]:
    """Device roles (the spec's NodeRole) (scope: monitoring)."""
    return [views.role(r) for r in await store.read(repo.list_roles)]


@router.get(
    "/v2/automation/scripts",
    response_model=list[schemas.AutomationScript],
    response_model_exclude_none=True,
)
async def get_automation_scripts(
    store: StoreDep, _: MonitoringDep, lang: Annotated[str | None, Query(max_length=20)] = None
) -> list[dict[str, Any]]:
    """Scripts of the automation library (scope: monitoring); names are not translated, so
    `lang` changes nothing."""
    return [views.script(r) for r in await store.read(repo.list_scripts)]


@router.get("/v2/users", response_model=list[schemas.User], response_model_exclude_none=True)
async def get_users(
    store: StoreDep,
    _: MonitoringDep,
    user_type: Annotated[Literal["TECHNICIAN", "END_USER"] | None, Query(alias="userType")] = None,
    include_roles: Annotated[bool, Query(alias="includeRoles")] = False,
) -> list[dict[str, Any]]:
    """ninja-oauth's own users, all technicians (scope: monitoring); never a password hash."""
    if user_type == "END_USER":
        return []
    rows = await store.read(repo.list_users)
    return [views.user(r, include_roles=include_roles) for r in rows]
