"""The other lists integrations call: groups, tasks, software products, device custom fields,
device search, document templates, organization custom fields (issue 14).

Reads need monitoring; setting an organization's custom field values, management (recorded as
a CLIENT_UPDATED activity).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Body
from fastapi.responses import Response
from pydantic import Field
from sqlalchemy import Connection
from sqlalchemy.engine import RowMapping

from ninja_oauth.api import bodies, mappers
from ninja_oauth.api import schemas_lists as m
from ninja_oauth.api.deps import ManagementDep, StoreDep
from ninja_oauth.api.errors import NotFound, invalid_field
from ninja_oauth.api.filters import PathId, QueryModel, csv_values, parse_device_filter, text
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.reads import NoQuery, ReadCall, Reads
from ninja_oauth.api.writes import record
from ninja_oauth.oauth.domain import AccessGrant
from ninja_oauth.oauth.ports import Writes
from ninja_oauth.store.db import Store
from ninja_oauth.store.public_api import devices as device_sql
from ninja_oauth.store.public_api import lists as list_sql
from ninja_oauth.store.public_api import organizations as organization_sql

reads = Reads(tags=["system"])
writes = APIRouter(tags=["organization"], route_class=GuardedRoute)


def _data(rows: list[RowMapping]) -> list[dict[str, Any]]:
    return [dict(r["data"]) for r in rows]


# -- groups -----------------------------------------------------------------------------------


@reads.get("/v2/groups", response=list[m.Group], kept_per=("catalog_items", "devices"))
async def get_groups(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Device groups (saved searches), each with the number of devices it selects now
    (scope: monitoring)."""

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = list_sql.list_items(conn, list_sql.GROUP)
        filters = [parse_device_filter(r["data"]["filter"]) for r in rows]
        counts = list_sql.count_devices(conn, filters)
        return [{**r["data"], "deviceCount": n} for r, n in zip(rows, counts, strict=True)]

    return await call.store.read(read)


@reads.get("/v2/group/{id}/device-ids", response=list[int], kept_per=("catalog_items", "devices"))
async def get_group_device_ids(call: ReadCall[NoQuery]) -> list[int]:
    """The ids of the devices a group selects (scope: monitoring)."""
    group_id = call.path["id"]

    def read(conn: Connection) -> list[int]:
        row = list_sql.get_item(conn, list_sql.GROUP, str(group_id))
        if row is None:
            raise NotFound(f"Group {group_id} not found.")
        return list_sql.device_ids(conn, parse_device_filter(row["data"]["filter"]))

    return await call.store.read(read)


# -- catalog lists ----------------------------------------------------------------------------


@reads.get("/v2/tasks", response=list[m.ScheduledTask], kept_per=("catalog_items",))
async def get_scheduled_tasks(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Scheduled tasks (scope: monitoring)."""
    return _data(await call.store.read(partial(list_sql.list_items, kind=list_sql.SCHEDULED_TASK)))


@reads.get("/v2/software-products", response=list[m.SoftwareProduct], kept_per=("catalog_items",))
async def get_software_products(call: ReadCall[NoQuery]) -> list[dict[str, Any]]:
    """Third-party software products that patching knows (scope: monitoring)."""
    kind = list_sql.SOFTWARE_PRODUCT
    return _data(await call.store.read(partial(list_sql.list_items, kind=kind)))


_SCOPES = {"node": "NODE", "location": "LOCATION", "organization": "ORGANIZATION"}


class CustomFieldsQuery(QueryModel):
    scopes: Annotated[
        str | None,
        text(
            max_length=100,
            description="Comma-separated: all, node, location, organization (default all).",
        ),
    ] = None


@reads.get(
    "/v2/device-custom-fields", response=list[m.CustomFieldDefinition], query=CustomFieldsQuery
)
async def get_device_custom_fields(call: ReadCall[CustomFieldsQuery]) -> list[dict[str, Any]]:
    """Custom field definitions, those of the given definition scopes (scope: monitoring).
    `assetTag` is the one set on the demo devices (GET /v2/device/{id}/custom-fields)."""
    asked = [s.lower() for s in csv_values(call.query.scopes)]
    unknown = [s for s in asked if s != "all" and s not in _SCOPES]
    if unknown:
        raise invalid_field(
            "scopes", f"unknown scope {unknown[0]!r}; known: all, node, location, organization"
        )
    wanted = None if not asked or "all" in asked else {_SCOPES[s] for s in asked}
    items = _data(await call.store.read(partial(list_sql.list_items, kind=list_sql.CUSTOM_FIELD)))
    if wanted is None:
        return items
    return [i for i in items if wanted & set(i["definitionScope"])]


class TemplateQuery(QueryModel):
    include_technician_roles: Annotated[bool, Field(alias="includeTechnicianRoles")] = False


@reads.get(
    "/v2/document-templates/{documentTemplateId}",
    response=m.DocumentTemplate,
    query=TemplateQuery,
    tags=["Document Templates"],
)
async def get_document_template(call: ReadCall[TemplateQuery]) -> dict[str, Any]:
    """A document template with its fields; `allowedTechnicianRoles` only with
    `includeTechnicianRoles=true` (scope: monitoring)."""
    template_id = call.path["documentTemplateId"]
    key = str(template_id)
    row = await call.store.read(
        partial(list_sql.get_item, kind=list_sql.DOCUMENT_TEMPLATE, key=key)
    )
    if row is None:
        raise NotFound(f"Document template {template_id} not found.")
    body = dict(row["data"])
    if not call.query.include_technician_roles:
        body.pop("allowedTechnicianRoles", None)
    return body


# -- device search ----------------------------------------------------------------------------


class SearchQuery(QueryModel):
    q: Annotated[
        str,
        text(
            max_length=200,
            description="Search query: part of a device's system, display, DNS or NetBIOS "
            "name, or of one of its IP addresses (case-insensitive).",
        ),
        Field(min_length=1),
    ]
    limit: Annotated[
        int | None, Field(ge=1, le=1000, description="Limit number of devices to return (100)")
    ] = None
    # ninjapy's search_devices sends its page size as pageSize: the same limit.
    page_size: Annotated[int | None, Field(alias="pageSize", ge=1, le=1000)] = None


def _match(row: RowMapping, needle: str) -> tuple[str | None, str | None]:
    """Which attribute matched the query, and its value (the first, in ``SEARCHED`` order)."""
    searched = {
        "systemName": [row["system_name"]],
        "displayName": [row["display_name"]],
        "dnsName": [row["dns_name"]],
        "netbiosName": [row["netbios_name"]],
        "ipAddresses": row["ip_addresses"],
        "publicIP": [row["public_ip"]],
    }
    n = needle.lower()
    for attr in list_sql.SEARCHED:
        for value in searched[attr]:
            if isinstance(value, str) and n in value.lower():
                return attr, value
    return None, None


@reads.get("/v2/devices/search", response=m.DeviceSearchResults, query=SearchQuery)
async def search_devices(call: ReadCall[SearchQuery]) -> dict[str, Any]:
    """Devices whose names or IP addresses contain `q`, best match first, at most `limit`
    (scope: monitoring). Each has its `score` (100 exact, 75 prefix, 50 anywhere) and the
    attribute that matched (`matchAttr`, `matchAttrValue`)."""
    q = call.query
    needle = q.q.strip()
    limit = q.limit or q.page_size or 100

    def read(conn: Connection) -> list[dict[str, Any]]:
        rows = list_sql.search_devices(conn, needle, limit) if needle else []
        ctx = device_sql.device_context(conn, rows, references=False)
        found = []
        for row in rows:
            attr, value = _match(row, needle)
            device = mappers.device(row, ctx, detailed=False)
            found.append(
                {
                    **device,
                    "fields": row["custom_fields"],
                    "score": row["score"],
                    "matchAttr": attr,
                    "matchAttrValue": value,
                }
            )
        return found

    return {"query": q.q, "devices": await call.store.read(read)}


# -- organization custom fields ---------------------------------------------------------------


@reads.get(
    "/v2/organization/{id}/custom-fields",
    response=dict[str, Any],
    exclude_none=False,
    tags=["organization"],
)
async def get_organization_custom_fields(call: ReadCall[NoQuery]) -> dict[str, Any]:
    """An organization's custom field values by name (scope: monitoring)."""
    org_id = call.path["id"]
    row = await call.store.read(partial(organization_sql.get_organization, org_id=org_id))
    if row is None:
        raise NotFound(f"Organization {org_id} not found.")
    return dict(row["fields"])


def update_organization_fields(
    store: Store, org_id: int, values: dict[str, Any], who: AccessGrant
) -> None:
    """Set the named custom field values; a null value clears one."""
    with store.transaction() as conn:
        fields = list_sql.organization_fields(conn, org_id)
        if fields is None:
            raise NotFound(f"Organization {org_id} not found.")
        for name, value in values.items():
            if value is None:
                fields.pop(name, None)
            else:
                fields[name] = value
        organization_sql.update_organization(conn, org_id, {"fields": fields})
        record(
            conn,
            who,
            activity_type="SYSTEM",
            status_code="CLIENT_UPDATED",
            status="Custom fields updated",
            message=f"Custom fields of organization {org_id} updated through the API.",
            data={"organizationId": org_id, "fields": sorted(values)},
        )


@writes.patch("/v2/organization/{id}/custom-fields", status_code=204, response_class=Response)
async def update_organization_custom_fields(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    body: Annotated[bodies.CustomFieldValues, Body()],
) -> Response:
    """Set an organization's custom field values by name; null clears one (scope:
    management). Answers 204; recorded as a CLIENT_UPDATED activity."""
    await store.run(partial(update_organization_fields, store, id, body, access), Writes.CHANGES)
    return Response(status_code=204)
