"""Every endpoint of the slice, with a request that succeeds on the demo data.

Known demo rows (the generator is seeded): organization 1 "Acme Dental Group" with locations
1-3 and 34 devices; device 5 an approved, online Windows desktop (role 1) in location 2;
device 6 approved but offline; device 37 a Windows desktop waiting for approval in
organization 2; device 3 a Mac; roles 1-2 and policies 1-2 are for Windows workstations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WINDOWS_DESKTOP = 5
OFFLINE_DEVICE = 6
PENDING_DEVICE = 37
MAC_DEVICE = 3


NO_LOCATION = ("/v2/organization/1/locations/4", "Location 4 not found in organization 1.")


def no_org(rest: str = "") -> tuple[str, str]:
    return f"/v2/organization/999{rest}", "Organization 999 not found."


def no_device(rest: str = "") -> tuple[str, str]:
    return f"/v2/device/9999{rest}", "Device 9999 not found."


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # with demo ids filled in
    spec_path: str | None  # the spec's template; None for ninja-oauth's own endpoint
    scope: str
    status: int
    body: Any = None
    # The same call on an id that does not exist, and the 404's error_description.
    unknown: tuple[str, str] | None = None
    # A bad request (path with query, body) and the 400's error_description; None where the
    # endpoint takes no parameter and no body at all.
    bad: tuple[str, Any, str] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


INT_ERROR = "Input should be a valid integer, unable to parse string as an integer"
BOOL_ERROR = "Input should be a valid boolean, unable to interpret input"

ENDPOINTS = [
    Endpoint(
        "GET", "/v2/organizations", "/v2/organizations", "monitoring", 200,
        bad=("/v2/organizations?pageSize=0", None,
             "pageSize: Input should be greater than or equal to 1"),
    ),
    Endpoint(
        "GET", "/v2/organizations-detailed", "/v2/organizations-detailed", "monitoring", 200,
        bad=("/v2/organizations-detailed?after=-1", None,
             "after: Input should be greater than or equal to 0"),
    ),
    Endpoint(
        "GET", "/v2/organization/1", "/v2/organization/{id}", "monitoring", 200,
        unknown=no_org(), bad=("/v2/organization/one", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "POST", "/v2/organizations", "/v2/organizations", "management", 200,
        body={"name": "Nimbus Dental", "locations": [{"name": "HQ"}]},
        bad=("/v2/organizations", {"name": ""}, "name: String should have at least 1 character"),
    ),
    Endpoint(
        "PATCH", "/v2/organization/1", "/v2/organization/{id}", "management", 204,
        body={"description": "Renamed"}, unknown=no_org(),
        bad=("/v2/organization/1", {"nodeApprovalMode": "SOMETIMES"},
             "nodeApprovalMode: Input should be 'AUTOMATIC', 'MANUAL' or 'REJECT'"),
    ),
    Endpoint(
        "GET", "/v2/organization/1/locations", "/v2/organization/{id}/locations",
        "monitoring", 200, unknown=no_org("/locations"),
        bad=("/v2/organization/one/locations", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "POST", "/v2/organization/1/locations", "/v2/organization/{id}/locations",
        "management", 200, body={"name": "Annex"}, unknown=no_org("/locations"),
        bad=("/v2/organization/1/locations", {"address": "1 Main St"}, "name: Field required"),
    ),
    Endpoint(
        "PATCH", "/v2/organization/1/locations/2",
        "/v2/organization/{id}/locations/{locationId}", "management", 200,
        body={"address": "1 Harbour Rd"}, unknown=NO_LOCATION,
        bad=("/v2/organization/1/locations/2", {"tags": "vip"},
             "tags: Input should be a valid list"),
    ),
    Endpoint(
        "GET", "/v2/organization/1/devices", "/v2/organization/{id}/devices", "monitoring",
        200, unknown=no_org("/devices"),
        bad=("/v2/organization/1/devices?pageSize=all", None, f"pageSize: {INT_ERROR}"),
    ),
    Endpoint(
        "GET", "/v2/locations", "/v2/locations", "monitoring", 200,
        bad=("/v2/locations?after=last", None, f"after: {INT_ERROR}"),
    ),
    Endpoint(
        "GET", "/v2/devices", "/v2/devices", "monitoring", 200,
        bad=("/v2/devices?df=org = acme", None,
             "df: unsupported clause 'org = acme'; supported: org = N, loc = N, "
             "class = NODE_CLASS, status = PENDING|APPROVED, joined by AND"),
    ),
    Endpoint(
        "GET", "/v2/devices-detailed", "/v2/devices-detailed", "monitoring", 200,
        bad=("/v2/devices-detailed?pageSize=-5", None,
             "pageSize: Input should be greater than or equal to 1"),
    ),
    Endpoint(
        "GET", "/v2/device/5", "/v2/device/{id}", "monitoring", 200, unknown=no_device(),
        bad=("/v2/device/5.5", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "PATCH", "/v2/device/5", "/v2/device/{id}", "management", 204,
        body={"displayName": "Reception PC"}, unknown=no_device(),
        bad=("/v2/device/5", {"locationId": 0},
             "locationId: Input should be greater than or equal to 1"),
    ),
    Endpoint(
        "POST", "/v2/devices/approval/APPROVE", "/v2/devices/approval/{mode}", "management",
        204, body={"devices": [PENDING_DEVICE]},
        bad=("/v2/devices/approval/APPROVE", {"devices": ["all"]}, f"devices.0: {INT_ERROR}"),
    ),
    Endpoint(
        "GET", "/v2/device/5/activities", "/v2/device/{id}/activities", "monitoring", 200,
        unknown=no_device("/activities"),
        bad=("/v2/device/5/activities?pageSize=1", None,
             "pageSize: Input should be greater than or equal to 10"),
    ),
    Endpoint(
        "GET", "/v2/device/5/custom-fields", "/v2/device/{id}/custom-fields", "monitoring",
        200, unknown=no_device("/custom-fields"),
        bad=("/v2/device/5/custom-fields?withInheritance=maybe", None,
             f"withInheritance: {BOOL_ERROR}"),
    ),
    Endpoint(
        "PATCH", "/v2/device/5/custom-fields", "/v2/device/{id}/custom-fields", "management",
        204, body={"assetTag": "AT-NEW"}, unknown=no_device("/custom-fields"),
        bad=("/v2/device/5/custom-fields", ["assetTag"],
             "body: Input should be a valid dictionary"),
    ),
    Endpoint(
        "POST", "/v2/device/5/script/run", "/v2/device/{id}/script/run", "management", 204,
        body={"type": "SCRIPT", "id": 1}, unknown=no_device("/script/run"),
        bad=("/v2/device/5/script/run", {"id": 1, "scriptId": 2},
             "id and scriptId name different scripts"),
    ),
    Endpoint(
        "POST", "/v2/device/5/reboot/NORMAL", "/v2/device/{id}/reboot/{mode}", "management",
        204, body={"reason": "patching"}, unknown=no_device("/reboot/NORMAL"),
        bad=("/v2/device/5/reboot/NORMAL", {"reason": 42},
             "reason: Input should be a valid string"),
    ),
    Endpoint(
        "GET", "/v2/device/5/dashboard-url", "/v2/device/{id}/dashboard-url", "monitoring",
        200, unknown=no_device("/dashboard-url"),
        bad=("/v2/device/5/dashboard-url?redirect=maybe", None, f"redirect: {BOOL_ERROR}"),
    ),
    # No parameter, no body: nothing can be invalid but the Authorization header itself.
    Endpoint("GET", "/v2/policies", "/v2/policies", "monitoring", 200),
    Endpoint(
        "GET", "/v2/activities", "/v2/activities", "monitoring", 200,
        bad=("/v2/activities?class=ROBOT", None,
             "class: Input should be 'SYSTEM', 'DEVICE', 'USER' or 'ALL'"),
    ),
    Endpoint(
        "GET", "/v2/automation/scripts", "/v2/automation/scripts", "monitoring", 200,
        bad=("/v2/automation/scripts?lang=" + "x" * 21, None,
             "lang: String should have at most 20 characters"),
    ),
    Endpoint(
        "GET", "/v2/users", "/v2/users", "monitoring", 200,
        bad=("/v2/users?userType=ROBOT", None,
             "userType: Input should be 'TECHNICIAN' or 'END_USER'"),
    ),
    Endpoint("GET", "/v2/roles", "/v2/roles", "monitoring", 200),
    Endpoint(
        "POST", "/v2/device/5/remote-access", None, "control", 200,
        unknown=no_device("/remote-access"),
        bad=("/v2/device/five/remote-access", None, f"id: {INT_ERROR}"),
    ),
]  # fmt: skip


# Issue 14's groups keep their endpoints in their own lists (tests/api/endpoints_<group>.py);
# imported here, after Endpoint, so that every test over ENDPOINTS covers them too.
from . import (  # noqa: E402
    endpoints_alerts,
    endpoints_inventory,
    endpoints_lists,
    endpoints_queries,
    endpoints_ticketing,
    endpoints_webhooks,
)

ENDPOINTS += [
    *endpoints_alerts.ENDPOINTS,
    *endpoints_inventory.ENDPOINTS,
    *endpoints_queries.ENDPOINTS,
    *endpoints_ticketing.ENDPOINTS,
    *endpoints_webhooks.ENDPOINTS,
    *endpoints_lists.ENDPOINTS,
]

ENDPOINT_IDS = [e.id for e in ENDPOINTS]
WITH_UNKNOWN = [e for e in ENDPOINTS if e.unknown]
WITH_BAD = [e for e in ENDPOINTS if e.bad]
