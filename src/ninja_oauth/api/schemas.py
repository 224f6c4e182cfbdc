"""Response models of the Public API slice, field for field from the NinjaOne v2 spec.

Names and types are the spec's (``spec/ninjaone-public-api-v2.openapi.yaml``, components of
the same name); routes answer with ``response_model_exclude_none`` because the spec declares no
nullable field: an absent value is left out, never sent as null.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

NodeClass = Literal[
    "WINDOWS_SERVER", "WINDOWS_WORKSTATION", "LINUX_WORKSTATION", "MAC", "ANDROID",
    "APPLE_IOS", "APPLE_IPADOS", "VMWARE_VM_HOST", "VMWARE_VM_GUEST", "HYPERV_VMM_HOST",
    "HYPERV_VMM_GUEST", "LINUX_SERVER", "MAC_SERVER", "CLOUD_MONITOR_TARGET", "NMS_SWITCH",
    "NMS_ROUTER", "NMS_FIREWALL", "NMS_PRIVATE_NETWORK_GATEWAY", "NMS_PRINTER", "NMS_SCANNER",
    "NMS_DIAL_MANAGER", "NMS_WAP", "NMS_IPSLA", "NMS_COMPUTER", "NMS_VM_HOST", "NMS_APPLIANCE",
    "NMS_OTHER", "NMS_SERVER", "NMS_PHONE", "NMS_VIRTUAL_MACHINE",
    "NMS_NETWORK_MANAGEMENT_AGENT", "UNMANAGED_DEVICE", "MANAGED_DEVICE",
]  # fmt: skip
ApprovalMode = Literal["AUTOMATIC", "MANUAL", "REJECT"]
ApprovalStatus = Literal["PENDING", "APPROVED"]


class ApiModel(BaseModel):
    """camelCase on the wire (the spec's names), snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class NodeRolePolicyAssignment(ApiModel):
    node_role_id: int
    policy_id: int


class Location(ApiModel):
    id: int
    name: str
    address: str | None = None
    description: str | None = None
    user_data: dict[str, Any] = {}
    tags: list[str] = []
    fields: dict[str, Any] = {}


class LocationWithOrganizationRef(Location):
    organization_id: int


class Organization(ApiModel):
    id: int
    name: str
    description: str | None = None
    user_data: dict[str, Any] = {}
    node_approval_mode: ApprovalMode
    tags: list[str] = []
    fields: dict[str, Any] = {}


class OrganizationDetailed(Organization):
    locations: list[Location] = []
    policies: list[NodeRolePolicyAssignment] = []


class Policy(ApiModel):
    id: int
    parent_policy_id: int | None = None
    name: str
    description: str | None = None
    node_class: NodeClass
    updated: float
    node_class_default: bool
    tags: list[str] = []


class NodeRole(ApiModel):
    id: int
    name: str
    node_class: NodeClass
    custom: bool
    chassis_type: Literal["UNKNOWN", "DESKTOP", "LAPTOP", "MOBILE"]
    created: float
    node_role_parent_id: int | None = None
    icon: str | None = None


class WarrantyDates(ApiModel):
    start_date: float | None = None
    end_date: float | None = None
    manufacturer_fulfillment_date: float | None = None


class NodeReferences(ApiModel):
    organization: Organization | None = None
    location: Location | None = None
    role_policy: Policy | None = None
    policy: Policy | None = None
    role: NodeRole | None = None
    warranty: WarrantyDates | None = None


class Maintenance(ApiModel):
    status: Literal["PENDING", "IN_MAINTENANCE", "FAILED"]
    start: float
    end: float


class NodeWithDetailedReferences(ApiModel):
    """A device as /v2/devices lists it."""

    id: int
    uid: str
    parent_device_id: int | None = None
    organization_id: int
    location_id: int
    node_class: NodeClass
    node_role_id: int
    role_policy_id: int | None = None
    policy_id: int | None = None
    approval_status: ApprovalStatus
    offline: bool
    display_name: str | None = None
    system_name: str
    dns_name: str | None = None
    netbios_name: str | None = None
    created: float
    last_contact: float
    last_update: float
    user_data: dict[str, Any] = {}
    tags: list[str] = []
    references: NodeReferences | None = None
    # Present while a window set by PUT /v2/device/{id}/maintenance is pending or running.
    maintenance: Maintenance | None = None


class Device(NodeWithDetailedReferences):
    """A device as /v2/device/{id} and /v2/devices-detailed return it."""

    ip_addresses: list[str] = []
    mac_addresses: list[str] = []
    public_ip: str | None = Field(default=None, alias="publicIP")


class AutomationScript(ApiModel):
    id: int
    name: str
    active: bool
    language: str
    architecture: list[str] = []
    operating_systems: list[str] = []
    script_parameters: list[str] = []
    created_by: str | None = None
    created_on: float
    updated_on: float


class User(ApiModel):
    """A ninja-oauth user (id, email, administrator); never the password hash."""

    id: int
    uid: str
    email: str
    enabled: bool
    administrator: bool
    user_type: Literal["TECHNICIAN", "END_USER"]
    roles: list[str] | None = None


class Activity(ApiModel):
    id: int
    activity_time: float
    device_id: int | None = None
    severity: Literal["NONE", "MINOR", "MODERATE", "MAJOR", "CRITICAL"]
    priority: Literal["NONE", "LOW", "MEDIUM", "HIGH"]
    activity_type: str
    status_code: str
    status: str
    activity_result: Literal["SUCCESS", "FAILURE", "UNSUPPORTED", "UNCOMPLETED"] | None = None
    source_name: str | None = None
    subject: str | None = None
    user_id: int | None = None
    message: str
    data: dict[str, Any] = {}


class ActivitiesResponse(ApiModel):
    last_activity_id: int | None = None
    activities: list[Activity]


class NodeActivitiesResponse(ActivitiesResponse):
    last_node_activity_id: int | None = None


class DeviceLink(ApiModel):
    url: str
    expires: float | None = None


class RemoteSession(ApiModel):
    """ninja-oauth's own: a remote-access session started with the Control scope."""

    session_id: str
    device_id: int
    url: str
    expires: float


class ErrorBody(BaseModel):
    """Every /v2 error: an OAuth-style code and a description naming what to fix."""

    error: str | None = None
    error_description: str
