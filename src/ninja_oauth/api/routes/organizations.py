"""/v2/organization(s) and /v2/locations: reads need monitoring, writes management."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import Connection

from ninja_oauth.api import bodies, mappers, schemas
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import NotFound
from ninja_oauth.api.filters import Paging, PathId, text
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads
from ninja_oauth.api.writes import organizations as changes
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.public_api import organizations as organization_sql

reads = Reads(tags=["organization"])
writes = APIRouter(tags=["organization"], route_class=GuardedRoute)


class OrganizationsQuery(Paging):
    of: Annotated[
        str | None,
        text(
            max_length=200,
            description="Organization filter: organizations whose name contains this text "
            "(case-insensitive; ninja-oauth's reading of the spec's `of`).",
        ),
    ] = None


TemplateId = Annotated[
    int | None,
    Query(
        alias="templateOrganizationId",
        ge=1,
        le=INT32_MAX,
        description="Model/Template organization to copy settings from",
    ),
]


def _detailed(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    ids = [r["id"] for r in rows]
    locations = organization_sql.locations_of(conn, ids)
    assignments = organization_sql.policy_assignments_of(conn, ids)
    return [
        mappers.organization_detailed(r, locations[r["id"]], assignments[r["id"]]) for r in rows
    ]


def _one_detailed(conn: Connection, org_id: int) -> dict[str, Any]:
    row = organization_sql.get_organization(conn, org_id)
    if row is None:
        raise NotFound(f"Organization {org_id} not found.")
    return _detailed(conn, [row])[0]


@reads.get(
    "/v2/organizations",
    response=list[schemas.Organization],
    query=OrganizationsQuery,
    kept_per=("organizations",),
)
async def get_organizations(call: ReadCall[OrganizationsQuery]) -> list[dict[str, Any]]:
    """Organizations in id order; page with `pageSize` and `after` (scope: monitoring)."""
    # The body is kept per version of the organizations table (kept_per, api/reads.py).
    q = call.query
    rows = await organization_sql.list_organizations_async(
        call.store, after=q.after, limit=q.page_size, name_contains=q.of
    )
    return [mappers.organization(r) for r in rows]


@reads.get(
    "/v2/organizations-detailed",
    response=list[schemas.OrganizationDetailed],
    query=OrganizationsQuery,
)
async def get_organizations_detailed(call: ReadCall[OrganizationsQuery]) -> list[dict[str, Any]]:
    """Organizations with their locations and policy mappings (scope: monitoring)."""
    q = call.query

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = organization_sql.list_organizations(
            conn, after=q.after, limit=q.page_size, name_contains=q.of
        )
        return _detailed(conn, rows)

    return await call.store.read(read)


@reads.get("/v2/organization/{id}", response=schemas.OrganizationDetailed)
async def get_organization(call: ReadCall[NoQuery]) -> dict[str, Any]:
    """One organization with its locations and policy mappings (scope: monitoring)."""
    return await call.store.read(partial(_one_detailed, org_id=call.path["id"]))


@writes.post(
    "/v2/organizations",
    response_model=schemas.OrganizationDetailed,
    response_model_exclude_none=True,
)
async def create_organization(
    store: StoreDep,
    access: ManagementDep,
    body: bodies.OrganizationWithLocationsAndPolicyAssignmentsModel,
    template_id: TemplateId = None,
) -> dict[str, Any]:
    """Create an organization with optional locations and policy mappings (scope: management)."""
    org_id = await store.run(
        partial(changes.create_organization, store, body, template_id, access), Writes.CHANGES
    )
    return await store.read(partial(_one_detailed, org_id=org_id))


@writes.patch("/v2/organization/{id}", status_code=204, response_class=Response)
async def update_organization(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.OrganizationModel
) -> Response:
    """Change an organization's name, description, approval mode, tags or fields
    (scope: management). Answers 204: the spec's response has no body."""
    await store.run(partial(changes.update_organization, store, id, body, access), Writes.CHANGES)
    return Response(status_code=204)


@reads.get("/v2/organization/{id}/locations", response=list[schemas.Location])
async def get_organization_locations(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """An organization's locations (scope: monitoring)."""
    org_id = call.path["id"]

    def read(conn: Connection) -> list[dict[str, Any]]:
        if organization_sql.get_organization(conn, org_id) is None:
            raise NotFound(f"Organization {org_id} not found.")
        return [mappers.location(r) for r in organization_sql.locations_of(conn, [org_id])[org_id]]

    return await call.store.read(read)


def _location_in(conn: Connection, org_id: int, location_id: int) -> dict[str, Any]:
    row = organization_sql.get_location(conn, location_id)
    if row is None or row["organization_id"] != org_id:
        raise NotFound(f"Location {location_id} not found in organization {org_id}.")
    return mappers.location(row)


@writes.post(
    "/v2/organization/{id}/locations",
    response_model=schemas.Location,
    response_model_exclude_none=True,
)
async def create_location(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.NewLocation
) -> dict[str, Any]:
    """Add a location to an organization (scope: management)."""
    location_id = await store.run(
        partial(changes.create_location, store, id, body, access), Writes.CHANGES
    )
    return await store.read(partial(_location_in, org_id=id, location_id=location_id))


@writes.patch(
    "/v2/organization/{id}/locations/{locationId}",
    response_model=schemas.Location,
    response_model_exclude_none=True,
)
async def update_location(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    locationId: PathId,
    body: bodies.LocationModel,
) -> dict[str, Any]:
    """Change a location; answers the updated location (scope: management)."""
    await store.run(
        partial(changes.update_location, store, id, locationId, body, access), Writes.CHANGES
    )
    return await store.read(partial(_location_in, org_id=id, location_id=locationId))


@reads.get("/v2/locations", response=list[schemas.LocationWithOrganizationRef], query=Paging)
async def get_locations(call: ReadCall[Paging]) -> list[dict[str, Any]]:
    """Every location with its organization id; page with `pageSize` and `after`
    (scope: monitoring)."""
    q = call.query
    rows = await call.store.read(
        partial(organization_sql.list_locations, after=q.after, limit=q.page_size)
    )
    return [mappers.location(r, with_organization=True) for r in rows]
