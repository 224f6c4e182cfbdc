"""The queries endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first."""

from __future__ import annotations

from .endpoints import INT_ERROR, Endpoint

DF_ERROR = (
    "df: unsupported clause 'org = acme'; supported: org = N, loc = N, "
    "class = NODE_CLASS, status = PENDING|APPROVED, joined by AND"
)
CURSOR_ERROR = "cursor: not a cursor this server issued"
DATE_ERROR = "expected a date (YYYYMMDD, ISO 8601, or Unix seconds of 9 to 11 digits)"
BOUNDED_ERROR = "pageSize: Input should be greater than or equal to 10"


def report(name: str, bad_query: str, description: str) -> Endpoint:
    path = f"/v2/queries/{name}"
    return Endpoint(
        "GET", path, path, "monitoring", 200, bad=(f"{path}?{bad_query}", None, description)
    )


ENDPOINTS: list[Endpoint] = [
    report("software", "installedAfter=yesterday", f"installedAfter: {DATE_ERROR}"),
    report("os-patches", "df=org = acme", DF_ERROR),
    report("os-patch-installs", "status=MAYBE", "status: expected one or more of FAILED, INSTALLED"),
    report("software-patches", "cursor=bm90LWEtY3Vyc29y", CURSOR_ERROR),
    report("software-patch-installs", "installedBefore=2024-13-01", f"installedBefore: {DATE_ERROR}"),
    report("device-health", "health=FINE",
           "health: expected one or more of UNKNOWN, HEALTHY, NEEDS_ATTENTION, UNHEALTHY"),
    report("antivirus-status", "ts=soon", f"ts: {DATE_ERROR}"),
    report("antivirus-threats", "pageSize=0", "pageSize: Input should be greater than or equal to 1"),
    report("processors", "pageSize=many", f"pageSize: {INT_ERROR}"),
    report("disks", "cursor=%21%21", CURSOR_ERROR),
    report("volumes", "df=org = acme", DF_ERROR),
    report("network-interfaces", "pageSize=-1",
           "pageSize: Input should be greater than or equal to 1"),
    report("logged-on-users", "pageSize=5", BOUNDED_ERROR),
    report("windows-services", "state=SLEEPING",
           "state: Input should be 'UNKNOWN', 'STOPPED', 'START_PENDING', 'RUNNING', "
           "'STOP_PENDING', 'PAUSE_PENDING', 'PAUSED' or 'CONTINUE_PENDING'"),
    report("operating-systems", "ts=20241340", f"ts: {DATE_ERROR}"),
    report("computer-systems", "df=org = acme", DF_ERROR),
    report("custom-fields-detailed", "pageSize=10001",
           "pageSize: Input should be less than or equal to 10000"),
    report("scoped-custom-fields", "scopes=PLANET",
           "scopes: expected all or one or more of ORGANIZATION, LOCATION, NODE, END_USER"),
]  # fmt: skip
