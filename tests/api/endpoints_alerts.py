"""The alerts endpoints of issue 14, as rows of the shared table (tests/api/endpoints.py).

Import ENDPOINTS from ``.endpoints`` in tests, never this module first.

Demo rows: device 6 (approved, offline) has one open alert, its AGENT_OFFLINE one, whose uid
is ``OFFLINE_ALERT`` (the demo's generator is seeded)."""

from __future__ import annotations

from .endpoints import Endpoint, no_device

OFFLINE_ALERT = "43f23ed4-f35c-4dc9-91f8-115e7c528429"
NO_ALERT = "00000000-0000-4000-8000-000000000000"
UID_ERROR = "uid: expected a UUID such as 0b9f4c5e-4c1a-4b8e-9d1f-2a6c3e5d7f90"

ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET", "/v2/alerts", "/v2/alerts", "monitoring", 200,
        bad=("/v2/alerts?sourceType=CPU_HIGH", None,
             "sourceType: unknown alert source 'CPU_HIGH'"),
    ),
    Endpoint(
        "GET", "/v2/device/6/alerts", "/v2/device/{id}/alerts", "monitoring", 200,
        unknown=no_device("/alerts"),
        bad=("/v2/device/6/alerts?tz=not a zone", None,
             "tz: expected a time zone name such as Europe/London"),
    ),
    Endpoint(
        "POST", f"/v2/alert/{OFFLINE_ALERT}/reset", "/v2/alert/{uid}/reset", "management", 204,
        body={"ticketId": 4711},
        unknown=(f"/v2/alert/{NO_ALERT}/reset", f"Alert {NO_ALERT} not found."),
        bad=(f"/v2/alert/{OFFLINE_ALERT}/reset", ["ticketId"],
             "body: Input should be a valid dictionary"),
    ),
    Endpoint(
        "DELETE", f"/v2/alert/{OFFLINE_ALERT}", "/v2/alert/{uid}", "management", 204,
        unknown=(f"/v2/alert/{NO_ALERT}", f"Alert {NO_ALERT} not found."),
        bad=("/v2/alert/not-a-uuid", None, UID_ERROR),
    ),
]  # fmt: skip
