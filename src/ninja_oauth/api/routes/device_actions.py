"""Actions on devices: approval, scripts and reboots (management), remote access (control)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import Response

from ninja_oauth.api import bodies, schemas
from ninja_oauth.api.deps import ControlDep, IssuerDep, ManagementDep, StoreDep
from ninja_oauth.api.filters import PathId
from ninja_oauth.api.guard import GuardedRoute
from ninja_oauth.api.writes import devices as changes
from ninja_oauth.oauth.ports import Writes

writes = APIRouter(tags=["devices"], route_class=GuardedRoute)

# ninjapy reboots with FORCE/GRACEFUL where the spec says FORCED/NORMAL: both are accepted.
_REBOOT_ALIASES: dict[str, changes.RebootMode] = {
    "NORMAL": "NORMAL",
    "GRACEFUL": "NORMAL",
    "FORCED": "FORCED",
    "FORCE": "FORCED",
}
RebootModeParam = Annotated[
    Literal["NORMAL", "FORCED", "GRACEFUL", "FORCE"],
    Path(description="Reboot mode: NORMAL or FORCED (GRACEFUL and FORCE are aliases)"),
]


@writes.post("/v2/devices/approval/{mode}", status_code=204, response_class=Response)
async def approve_devices(
    store: StoreDep,
    access: ManagementDep,
    mode: Annotated[Literal["APPROVE", "REJECT"], Path(description="Approval action")],
    body: bodies.DeviceIDList,
) -> Response:
    """Approve or reject devices waiting for approval, all or none (scope: management)."""
    await store.run(
        partial(changes.decide_approval, store, mode, body.devices, access), Writes.CHANGES
    )
    return Response(status_code=204)


@writes.post("/v2/device/{id}/script/run", status_code=204, response_class=Response)
async def run_script_on_device(
    store: StoreDep, access: ManagementDep, id: PathId, body: bodies.RunScriptRequest
) -> Response:
    """Run a script on a device: `{"type": "SCRIPT", "id": N}` as in the spec, or
    `{"scriptId": N}` as ninjapy sends it (scope: management). The run is recorded as an
    activity."""
    await store.run(partial(changes.run_script, store, id, body, access), Writes.CHANGES)
    return Response(status_code=204)


@writes.post("/v2/device/{id}/reboot/{mode}", status_code=204, response_class=Response)
async def reboot_device(
    store: StoreDep,
    access: ManagementDep,
    id: PathId,
    mode: RebootModeParam,
    body: bodies.RebootRequest | None = None,
) -> Response:
    """Reboot a device (scope: management); the request is recorded as an activity."""
    reason = body.reason if body is not None else None
    await store.run(
        partial(changes.reboot, store, id, _REBOOT_ALIASES[mode], reason, access), Writes.CHANGES
    )
    return Response(status_code=204)


@writes.post(
    "/v2/device/{id}/remote-access",
    response_model=schemas.RemoteSession,
    tags=["remote access"],
)
async def start_remote_access(
    store: StoreDep, issuer: IssuerDep, access: ControlDep, id: PathId
) -> dict[str, object]:
    """Start a remote-access session on an online, approved device; answers the session's URL
    and expiry (scope: control). ninja-oauth's own endpoint: the published spec has none."""
    return await store.run(
        partial(changes.start_remote_session, store, id, issuer, access), Writes.CHANGES
    )
