"""/v2/organization(s) and /v2/locations: reads need monitoring, writes management."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy import Connection

from ninja_oauth.api import bodies, schemas, views
from ninja_oauth.api.bodies import INT32_MAX
from ninja_oauth.api.deps import ManagementDep, MonitoringDep, StoreDep
from ninja_oauth.api.errors import NotFound
from ninja_oauth.api.filters import After, PageSize, PathId
from ninja_oauth.api.lean import LeanRoute
from ninja_oauth.api.services import organizations as service
from ninja_oauth.api.versioned import VersionedBodies
from ninja_oauth.store.db import Store
from ninja_oauth.store.repositories import api_data as repo
from ninja_oauth.store.repositories.versions import data_version_async

router = APIRouter(tags=["organization"], route_class=LeanRoute)

_ORGANIZATION_LIST = TypeAdapter(list[schemas.Organization])
# Per store: versions of different databases say nothing about each other.
_ORGANIZATIONS: WeakKeyDictionary[Store, VersionedBodies] = WeakKeyDictionary()

OrgFilter = Annotated[
    str | None,
    Query(
        max_length=200,
        pattern=r"^[^\x00]*$",
        description="Organization filter: organizations whose name contains this text "
        "(case-insensitive; ninja-oauth's reading of the spec's `of`).",
    ),
]
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
    locations = repo.locations_of(conn, ids)
    assignments = repo.policy_assignments_of(conn, ids)
    return [views.organization_detailed(r, locations[r["id"]], assignments[r["id"]]) for r in rows]


def _one_detailed(conn: Connection, org_id: int) -> dict[str, Any]:
    row = repo.get_organization(conn, org_id)
    if row is None:
        raise NotFound(f"Organization {org_id} not found.")
    return _detailed(conn, [row])[0]


@router.get(
    "/v2/organizations", response_model=list[schemas.Organization], response_model_exclude_none=True
)
async def get_organizations(
    store: StoreDep,
    _: MonitoringDep,
    page_size: PageSize = None,
    after: After = None,
    of: OrgFilter = None,
) -> list[dict[str, Any]]:
    """Organizations in id order; page with `pageSize` and `after` (scope: monitoring)."""
    # The body is kept per version of the organizations table (api/versioned.py).
    version = await data_version_async(store, "organizations")
    key = (page_size, after, of)
    kept = _ORGANIZATIONS.get(store)
    if kept is None:
        kept = _ORGANIZATIONS[store] = VersionedBodies()
    body = kept.get(key, version)
    if body is None:
        rows = await repo.list_organizations_async(
            store, after=after, limit=page_size, name_contains=of
        )
        # As FastAPI answers with the route's response model and response_model_exclude_none.
        items = _ORGANIZATION_LIST.validate_python([views.organization(r) for r in rows])
        body = _ORGANIZATION_LIST.dump_json(items, by_alias=True, exclude_none=True)
        kept.put(key, version, body)
    return Response(body, media_type="application/json")  # type: ignore[return-value]


@router.get(
    "/v2/organizations-detailed",
    response_model=list[schemas.OrganizationDetailed],
    response_model_exclude_none=True,
)
async def get_organizations_detailed(
    store: StoreDep,
    _: MonitoringDep,
    page_size: PageSize = None,
    after: After = None,
    of: OrgFilter = None,
) -> list[dict[str, Any]]:
    """Organizations with their locations and policy mappings (scope: monitoring)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = repo.list_organizations(conn, after=after, limit=page_size, name_contains=of)
        return _detailed(conn, rows)

    return await store.read(read)


@router.get(
    "/v2/organization/{id}",
    response_model=schemas.OrganizationDetailed,
    response_model_exclude_none=True,
)
async def get_organization(store: StoreDep, _: MonitoringDep, id: PathId) -> dict[str, Any]:
    """One organization with its locations and policy mappings (scope: monitoring)."""
    return await store.read(partial(_one_detailed, org_id=id))


@router.post(
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
    org_id = await store.write(
        partial(service.create_organization, store, body, template_id, access)
    )
    return await store.read(partial(_one_detailed, org_id=org_id))


@router.patch("/v2/organization/{id}", status_code=204, response_class=Response)
async def update_organization(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.OrganizationModel
) -> Response:
    """Change an organization's name, description, approval mode, tags or fields
    (scope: management). Answers 204: the spec's response has no body."""
    await store.write(partial(service.update_organization, store, id, body, access))
    return Response(status_code=204)


@router.get(
    "/v2/organization/{id}/locations",
    response_model=list[schemas.Location],
    response_model_exclude_none=True,
)
async def get_organization_locations(
    store: StoreDep, _: MonitoringDep, id: PathId
) -> list[dict[str, Any]]:
    """An organization's locations (scope: monitoring)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        if repo.get_organization(conn, id) is None:
            raise NotFound(f"Organization {id} not found.")
        return [views.location(r) for r in repo.locations_of(conn, [id])[id]]

    return await store.read(read)


def _location_in(conn: Connection, org_id: int, location_id: int) -> dict[str, Any]:
    row = repo.get_location(conn, location_id)
    if row is None or row["organization_id"] != org_id:
        raise NotFound(f"Location {location_id} not found in organization {org_id}.")
    return views.location(row)


@router.post(
    "/v2/organization/{id}/locations",
    response_model=schemas.Location,
    response_model_exclude_none=True,
)
async def create_location(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.NewLocation
) -> dict[str, Any]:
    """Add a location to an organization (scope: management)."""
    location_id = await store.write(partial(service.create_location, store, id, body, access))
    return await store.read(partial(_location_in, org_id=id, location_id=location_id))


@router.patch(
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
    await store.write(partial(service.update_location, store, id, locationId, body, access))
    return await store.read(partial(_location_in, org_id=id, location_id=locationId))


@router.get(
    "/v2/locations",
    response_model=list[schemas.LocationWithOrganizationRef],
    response_model_exclude_none=True,
)
async def get_locations(
    store: StoreDep, _: MonitoringDep, page_size: PageSize = None, after: After = None
) -> list[dict[str, Any]]:
    """Every location with its organization id; page with `pageSize` and `after`
    (scope: monitoring)."""
    rows = await store.read(partial(repo.list_locations, after=after, limit=page_size))
    return [views.location(r, with_organization=True) for r in rows]
