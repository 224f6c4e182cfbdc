"""The inventory endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first.

Demo rows used (store/public_api/inventory.py generates them, seeded): device 5 (Windows,
online) reports every hardware and software list and ten Windows services; device 1 (Windows,
online) has policy overrides and pending software patches; device 10 has a running job.
"""

from __future__ import annotations

from .endpoints import INT_ERROR, WINDOWS_DESKTOP, Endpoint, no_device

OVERRIDDEN_DEVICE = 1
JOB_DEVICE = 10
_D = f"/v2/device/{WINDOWS_DESKTOP}"
_STATES = (
    "'UNKNOWN', 'STOPPED', 'START_PENDING', 'RUNNING', 'STOP_PENDING', 'PAUSE_PENDING', "
    "'PAUSED' or 'CONTINUE_PENDING'"
)
_DATE = "expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)"


def _read(rest: str, device: int = WINDOWS_DESKTOP, **kw: object) -> Endpoint:
    return Endpoint(
        "GET", f"/v2/device/{device}{rest}", f"/v2/device/{{id}}{rest}", "monitoring", 200,
        unknown=no_device(rest), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


ENDPOINTS: list[Endpoint] = [
    _read("/software", bad=("/v2/device/five/software", None, f"id: {INT_ERROR}")),
    _read("/windows-services",
          bad=(f"{_D}/windows-services?state=SLEEPING", None, f"state: Input should be {_STATES}")),
    _read("/processors", bad=("/v2/device/5.5/processors", None, f"id: {INT_ERROR}")),
    _read("/disks", bad=("/v2/device/x/disks", None, f"id: {INT_ERROR}")),
    _read("/volumes", bad=(f"{_D}/volumes?include=smart", None,
                           "include: supported: bl (the BitLocker status)")),
    _read("/network-interfaces", bad=("/v2/device/-/network-interfaces", None, f"id: {INT_ERROR}")),
    _read("/os-patches", bad=(f"{_D}/os-patches?status=" + "x" * 501, None,
                              "status: String should have at most 500 characters")),
    _read("/os-patch-installs", bad=(f"{_D}/os-patch-installs?installedAfter=yesterday", None,
                                     f"installedAfter: {_DATE}")),
    _read("/software-patches", OVERRIDDEN_DEVICE,
          bad=(f"{_D}/software-patches?impact=%00", None,
               "impact: String should match pattern '^[^\\x00]*$'")),
    _read("/software-patch-installs", bad=(f"{_D}/software-patch-installs?installedBefore=2024-13-01",
                                           None, f"installedBefore: {_DATE}")),
    _read("/last-logged-on-user", bad=("/v2/device/1e3/last-logged-on-user", None,
                                       f"id: {INT_ERROR}")),
    _read("/jobs", JOB_DEVICE, bad=("/v2/device/ten/jobs", None, f"id: {INT_ERROR}")),
    _read("/policy/overrides", OVERRIDDEN_DEVICE,
          bad=("/v2/device/one/policy/overrides", None, f"id: {INT_ERROR}")),
    _read("/scripting/options", bad=("/v2/device/5x/scripting/options", None, f"id: {INT_ERROR}")),
    Endpoint(
        "GET", "/v2/jobs", "/v2/jobs", "monitoring", 200,
        bad=("/v2/jobs?df=os = windows", None,
             "df: unsupported clause 'os = windows'; supported: org = N, loc = N, "
             "class = NODE_CLASS, status = PENDING|APPROVED, joined by AND"),
    ),
    Endpoint(
        "DELETE", f"/v2/device/{OVERRIDDEN_DEVICE}/policy/overrides",
        "/v2/device/{id}/policy/overrides", "management", 204,
        unknown=no_device("/policy/overrides"),
        bad=("/v2/device/one/policy/overrides", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "PUT", f"{_D}/maintenance", "/v2/device/{id}/maintenance", "management", 204,
        body={"disabledFeatures": ["ALERTS", "PATCHING"], "end": 4_102_444_800},
        unknown=no_device("/maintenance"),
        bad=(f"{_D}/maintenance", {"disabledFeatures": ["ALERTS"]}, "end: Field required"),
    ),
    Endpoint(
        "DELETE", f"{_D}/maintenance", "/v2/device/{id}/maintenance", "management", 204,
        unknown=no_device("/maintenance"),
        bad=("/v2/device/five/maintenance", None, f"id: {INT_ERROR}"),
    ),
    Endpoint(
        "POST", f"{_D}/windows-service/Spooler/control",
        "/v2/device/{id}/windows-service/{serviceId}/control", "control", 204,
        body={"action": "RESTART"}, unknown=no_device("/windows-service/Spooler/control"),
        bad=(f"{_D}/windows-service/Spooler/control", {"action": "REBOOT"},
             "action: Input should be 'START', 'PAUSE', 'STOP' or 'RESTART'"),
    ),
    Endpoint(
        "POST", f"{_D}/windows-service/Spooler/configure",
        "/v2/device/{id}/windows-service/{serviceId}/configure", "management", 204,
        body={"startType": "DEMAND_START"}, unknown=no_device("/windows-service/Spooler/configure"),
        bad=(f"{_D}/windows-service/Spooler/configure", {"startType": "SOMETIMES"},
             "startType: Input should be 'AUTO_START', 'AUTO_START_DELAYED', 'BOOT_START', "
             "'DEMAND_START', 'DISABLED' or 'SYSTEM_START'"),
    ),
]  # fmt: skip
