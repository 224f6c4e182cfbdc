"""Responses of the lists endpoints, from the spec's models of the same names (Group,
ScheduledTask, SoftwareProduct, AttributePublicApiDTO, DeviceSearchResults,
DocumentTemplatePublicApiDTO)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ninja_oauth.api.schemas import ApiModel, NodeWithDetailedReferences

FieldType = Literal[
    "DROPDOWN", "MULTI_SELECT", "CHECKBOX", "TEXT", "TEXT_MULTILINE", "TEXT_ENCRYPTED",
    "NUMERIC", "DECIMAL", "DATE", "DATE_TIME", "TIME", "ATTACHMENT", "NODE_DROPDOWN",
    "NODE_MULTI_SELECT", "CLIENT_DROPDOWN", "CLIENT_MULTI_SELECT", "CLIENT_LOCATION_DROPDOWN",
    "CLIENT_LOCATION_MULTI_SELECT", "CLIENT_DOCUMENT_DROPDOWN", "CLIENT_DOCUMENT_MULTI_SELECT",
    "EMAIL", "PHONE", "IP_ADDRESS", "WYSIWYG", "URL",
]  # fmt: skip
ApiPermission = Literal["NONE", "READ_ONLY", "WRITE_ONLY", "READ_WRITE"]


class Group(ApiModel):
    id: int
    name: str
    description: str | None = None
    shared: bool
    created: float
    updated: float
    device_count: int | None = None
    last_evaluated: float | None = None
    tags: list[str] = []
    fields: dict[str, Any] = {}


class ScheduledTask(ApiModel):
    id: int
    name: str
    description: str | None = None
    enabled: bool
    created: float
    last_run: float | None = None
    run_count: int


class SoftwareProduct(ApiModel):
    id: str
    vendor_name: str
    product_name: str
    installable: bool
    active: bool


class CustomFieldDefinition(ApiModel):
    """The spec's AttributePublicApiDTO."""

    entity_type: Literal["USER", "NODE", "TICKET", "DOCUMENT"]
    scope: Literal["NODE_GLOBAL", "NODE_ROLE", "NODE_CLASS"] | None = None
    definition_scope: list[Literal["NODE", "END_USER", "LOCATION", "ORGANIZATION"]]
    type: FieldType
    label: str
    description: str | None = None
    name: str
    default_value: str | None = None
    end_user_permission: Literal["HIDDEN", "EDITABLE_OPTIONAL", "EDITABLE_REQUIRED", "READ_ONLY"]
    technician_permission: Literal["NONE", "EDITABLE", "READ_ONLY"]
    script_permission: ApiPermission
    api_permission: ApiPermission
    content: dict[str, Any] | None = None
    system: bool
    active: bool
    create_time: float
    update_time: float


class DeviceSearchMatch(NodeWithDetailedReferences):
    fields: dict[str, Any] = {}
    score: int
    match_attr: str | None = None
    match_attr_value: str | None = None


class DeviceSearchResults(ApiModel):
    query: str
    devices: list[DeviceSearchMatch]


class DocumentItem(ApiModel):
    """The spec's DocumentItemPublicApiDTO: a field of a document template."""

    field_id: int | None = None
    field_label: str | None = None
    field_name: str | None = None
    field_description: str | None = None
    field_type: FieldType | None = None
    field_technician_permission: Literal["NONE", "EDITABLE", "READ_ONLY"] | None = None
    field_script_permission: ApiPermission | None = None
    field_api_permission: ApiPermission | None = None
    field_default_value: str | None = None
    field_content: dict[str, Any] | None = None
    ui_element_uid: str | None = None
    ui_element_name: str | None = None
    ui_element_type: Literal["TITLE", "DESCRIPTION", "SEPARATOR"] | None = None
    ui_element_value: str | None = None
    created_time: float | None = None
    updated_time: float | None = None


class DocumentTemplate(ApiModel):
    """The spec's DocumentTemplatePublicApiDTO."""

    id: int
    name: str
    description: str | None = None
    allow_multiple: bool
    mandatory: bool
    create_time: float
    update_time: float
    fields: list[DocumentItem] = []
    available_to_all_technicians: bool
    allowed_technician_roles: list[int] | None = Field(
        default=None, description="Only with includeTechnicianRoles=true"
    )
    archived: bool = False
