"""/v2/policies, /v2/roles, /v2/automation/scripts and /v2/users (scope: monitoring)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ninja_oauth.api import mappers, schemas
from ninja_oauth.api.filters import QueryModel
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads
from ninja_oauth.store.public_api import catalog as catalog_sql

reads = Reads(tags=["system"])


@reads.get("/v2/policies", response=list[schemas.Policy])
async def get_policies(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Every policy (scope: monitoring)."""
    return [mappers.policy(r) for r in await call.store.read(catalog_sql.list_policies)]


@reads.get("/v2/roles", response=list[schemas.NodeRole])
async def get_node_roles(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Device roles (the spec's NodeRole) (scope: monitoring)."""
    return [mappers.role(r) for r in await call.store.read(catalog_sql.list_roles)]


class ScriptsQuery(QueryModel):
    lang: Annotated[str | None, Field(max_length=20)] = None


@reads.get("/v2/automation/scripts", response=list[schemas.AutomationScript], query=ScriptsQuery)
async def get_automation_scripts(call: ReadCall[ScriptsQuery]) -> list[dict[str, Any]]:
    """Scripts of the automation library (scope: monitoring); names are not translated, so
    `lang` changes nothing."""
    return [mappers.script(r) for r in await call.store.read(catalog_sql.list_scripts)]


class UsersQuery(QueryModel):
    user_type: Annotated[Literal["TECHNICIAN", "END_USER"] | None, Field(alias="userType")] = None
    include_roles: Annotated[bool, Field(alias="includeRoles")] = False


@reads.get("/v2/users", response=list[schemas.User], query=UsersQuery)
async def get_users(call: ReadCall[UsersQuery]) -> list[dict[str, Any]]:
    """ninja-oauth's own users, all technicians (scope: monitoring); never a password hash."""
    if call.query.user_type == "END_USER":
        return []
    rows = await call.store.read(catalog_sql.list_users)
    return [mappers.user(r, include_roles=call.query.include_roles) for r in rows]
