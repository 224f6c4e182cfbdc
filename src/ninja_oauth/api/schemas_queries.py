"""Response models of the /v2/queries reports (api/routes/queries.py), field for field from the
NinjaOne v2 spec's components of the same name. Every report is ``{cursor, results}``; an item is
the per-device item (``Application``, ``OSPatch``...) with the device's id and, where the spec
has it, the time the device last sent it (``timestamp``, epoch seconds).

Where its fields are those of a per-device model of api/schemas_inventory.py, in the same order,
an item subclasses that model, named as its first base so that the fields stay in their order
(``deviceId``, ``timestamp``, then the item's): an answer is serialized in its model's order."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from ninja_oauth.api.schemas import ApiModel
from ninja_oauth.api.schemas_inventory import (
    DiskDrive,
    LoggedOnUser,
    NetworkInterface,
    OSPatch,
    Processor,
    ServiceState,
    SoftwarePatch,
    Volume,
)

T = TypeVar("T")

InstallStatus = Literal[
    "REQUESTED", "DOWNLOAD_STARTED", "DOWNLOADED", "DOWNLOAD_FAILED", "INSTALL_STARTED",
    "INSTALLED", "INSTALL_FAILED", "UNINSTALL_REQUESTED", "UNINSTALL_FAILED", "UNINSTALLED",
]  # fmt: skip
EntityType = Literal["NODE", "END_USER", "LOCATION", "ORGANIZATION"]


class Cursor(ApiModel):
    """Where the report stands: ``name`` is passed back as ``cursor`` for the next page (absent
    on the last page), ``offset`` the number of items before this page, ``count`` this page's."""

    name: str | None = None
    offset: int | None = None
    count: int | None = None
    expires: float | None = None


class Report(ApiModel, Generic[T]):
    cursor: Cursor
    results: list[T]


class DeviceItem(ApiModel):
    device_id: int


class Collected(DeviceItem):
    timestamp: float | None = None


# The spec lists DeviceApplication's fields in another order than the device's Application:
# declared here, so that each answer keeps the order of its own spec component.
class DeviceApplication(Collected):
    install_date: str | None = None
    location: str | None = None
    name: str | None = None
    publisher: str | None = None
    size: int | None = None
    version: str | None = None
    product_code: str | None = None


class DeviceOSPatch(OSPatch, Collected):
    pass


class DeviceSoftwarePatch(SoftwarePatch, Collected):
    pass


class DeviceHealthSummary(DeviceItem):
    active_threats_count: int = 0
    quarantined_threats_count: int = 0
    blocked_threats_count: int = 0
    failed_o_s_patches_count: int = 0
    pending_o_s_patches_count: int = 0
    alert_count: int = 0
    active_job_count: int = 0
    failed_software_patches_count: int = 0
    pending_software_patches_count: int = 0
    pending_reboot_reason: str | None = None
    av_install_status: InstallStatus | None = None
    products_installation_statuses: dict[str, InstallStatus] | None = None
    offline: bool
    health_status: Literal["UNKNOWN", "HEALTHY", "NEEDS_ATTENTION", "UNHEALTHY"]
    installation_issues_count: int = 0


class DeviceAntivirusStatus(Collected):
    product_name: str | None = None
    product_state: str | None = None
    definition_status: str | None = None
    version: str | None = None


class DeviceAntivirusThreat(Collected):
    name: str | None = None
    product_code: str | None = None
    quarantine_id: str | None = None
    status: str | None = None
    type: str | None = None
    threat_id: int | None = None
    category: str | None = None
    level: str | None = None
    detection_source: str | None = None
    trace_list: str | None = None


class DeviceProcessor(Processor, Collected):
    pass


class DeviceDiskDrive(DiskDrive, Collected):
    pass


class DeviceVolume(Volume, Collected):
    pass


class DeviceNetworkInterfaces(NetworkInterface, DeviceItem):
    pass


class DeviceLoggedOnUser(LoggedOnUser, DeviceItem):
    pass


# Not a WindowsService: the report's start type is any string, where the device's own list keeps
# the spec's enum (StartType); narrowing it would change what the report accepts and documents.
class DeviceWindowsService(Collected):
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    start_type: str | None = None
    user_name: str | None = None
    state: ServiceState | None = None


class DeviceOperatingSystem(Collected):
    manufacturer: str | None = None
    name: str | None = None
    architecture: str | None = None
    last_boot_time: float | None = None
    build_number: str | None = None
    release_id: str | None = None
    service_pack_major_version: int | None = None
    service_pack_minor_version: int | None = None
    locale: str | None = None
    language: str | None = None
    needs_reboot: bool | None = None


class DeviceComputerSystem(Collected):
    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    bios_serial_number: str | None = None
    serial_number: str | None = None
    domain: str | None = None
    domain_role: str | None = None
    number_of_processors: int | None = None
    total_physical_memory: int | None = None
    virtual_machine: bool | None = None
    chassis_type: str | None = None


class NodeAttributeInfo(ApiModel):
    name: str
    # The spec types it ``object`` (Java's Object); NinjaOne answers the value as it is.
    value: Any = None


class NodeAttributesDetailed(ApiModel):
    # The spec marks ``deviceId`` writeOnly: the device is ``entityId`` with ``entityType``.
    entity_type: EntityType
    entity_id: int
    fields: list[NodeAttributeInfo]


class ScopedAttributes(ApiModel):
    scope: EntityType
    entity_id: int
    fields: dict[str, Any]
