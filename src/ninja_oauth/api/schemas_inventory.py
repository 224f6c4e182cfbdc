"""Models of the inventory endpoints (api/routes/inventory.py), from the spec's schemas of the
same names: what a device reports, its jobs and scripting options, and the request bodies of
maintenance and Windows service actions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ninja_oauth.api.bodies import Name, Timestamp
from ninja_oauth.api.schemas import ApiModel

ServiceState = Literal[
    "UNKNOWN",
    "STOPPED",
    "START_PENDING",
    "RUNNING",
    "STOP_PENDING",
    "PAUSE_PENDING",
    "PAUSED",
    "CONTINUE_PENDING",
]
StartType = Literal[
    "AUTO_START", "AUTO_START_DELAYED", "BOOT_START", "DEMAND_START", "DISABLED", "SYSTEM_START"
]
ServiceAction = Literal["START", "PAUSE", "STOP", "RESTART"]
MaintenanceFeature = Literal["ALERTS", "PATCHING", "AVSCANS", "TASKS"]


class Application(ApiModel):
    name: str | None = None
    publisher: str | None = None
    version: str | None = None
    install_date: str | None = None
    location: str | None = None
    size: int | None = None
    product_code: str | None = None


class WindowsService(ApiModel):
    name: str | None = None
    display_name: str | None = None
    description: str | None = None
    start_type: StartType | None = None
    user_name: str | None = None
    state: ServiceState | None = None


class Processor(ApiModel):
    architecture: str | None = None
    max_clock_speed: int | None = None
    clock_speed: int | None = None
    name: str | None = None
    num_cores: int | None = None
    num_logical_cores: int | None = None


class DiskDrive(ApiModel):
    bytes_per_sector: int | None = None
    description: str | None = None
    interface_type: str | None = None
    manufacturer: str | None = None
    media_type: str | None = None
    model: str | None = None
    name: str | None = None
    partition_count: int | None = None
    serial_number: str | None = None
    size: int | None = None
    smart_capable: bool | None = None
    status: str | None = None


class VolumeBitLockerStatus(ApiModel):
    conversion_status: str | None = None
    encryption_method: str | None = None
    protection_status: str | None = None
    lock_status: str | None = None
    initialized_for_protection: bool | None = None


class Volume(ApiModel):
    name: str | None = None
    drive_letter: str | None = None
    label: str | None = None
    device_type: str | None = None
    file_system: str | None = None
    auto_mount: bool | None = None
    compressed: bool | None = None
    capacity: int | None = None
    free_space: int | None = None
    serial_number: str | None = None
    bit_locker_status: VolumeBitLockerStatus | None = None


class NetworkInterface(ApiModel):
    adapter_name: str | None = None
    default_gateway: str | None = None
    interface_type: str | None = None
    dns_host_name: str | None = None
    dns_servers: str | None = None
    interface_index: str | None = None
    interface_name: str | None = None
    ip_address: list[str] | None = None
    link_speed: str | None = None
    mac_address: list[str] | None = None
    mtu: str | None = None
    status: str | None = None
    subnet_mask: str | None = None


class OSPatch(ApiModel):
    id: str | None = None
    name: str | None = None
    severity: str | None = None
    status: str | None = None
    type: str | None = None
    installed_at: float | None = None
    kb_number: str | None = None


class SoftwarePatch(ApiModel):
    id: str | None = None
    product_identifier: str | None = None
    title: str | None = None
    impact: str | None = None
    status: str | None = None
    type: str | None = None
    installed_at: float | None = None


class LoggedOnUser(ApiModel):
    user_name: str | None = None
    logon_time: float | None = None


class Job(ApiModel):
    uid: str | None = None
    device_id: int | None = None
    message: str | None = None
    create_time: float | None = None
    update_time: float | None = None
    source_type: str | None = None
    source_config_uid: str | None = None
    source_name: str | None = None
    subject: str | None = None
    user_id: int | None = None
    job_status: str | None = None
    job_result: str | None = None
    job_type: str | None = None
    data: dict[str, Any] | None = None


class PolicyOverrides(ApiModel):
    overrides: list[str]


class ScriptCategory(ApiModel):
    id: int
    name: str
    internal: bool


class Script(ApiModel):
    type: Literal["ACTION", "SCRIPT"]
    id: int | None = None
    uid: str | None = None
    name: str
    language: str | None = None
    description: str | None = None
    architecture: list[str] | None = None
    category_id: int | None = None


class CredentialReference(ApiModel):
    id: int
    name: str
    type: str


class DeviceCredentialOptions(ApiModel):
    roles: list[str]
    credentials: list[CredentialReference]


class DeviceScriptingOptions(ApiModel):
    categories: list[ScriptCategory]
    scripts: list[Script]
    credentials: DeviceCredentialOptions


# -- request bodies ----------------------------------------------------------------------------


class MaintenanceSettings(ApiModel):
    """PUT /v2/device/{id}/maintenance: ``start`` defaults to now; ``end`` is required."""

    disabled_features: list[MaintenanceFeature] = Field(default_factory=list, max_length=4)
    start: Timestamp | None = None
    end: Timestamp


class WindowsServiceControlRequest(ApiModel):
    action: ServiceAction


class WindowsServiceConfiguration(ApiModel):
    start_type: StartType | None = None
    user_name: Name | None = None
