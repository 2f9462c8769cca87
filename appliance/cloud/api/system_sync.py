"""What a connected system tells the cloud about its camera users.

The manual lists, among the metadata Body Worn Live holds, what is "related to the user, such as
the user ID, the user name". The system controller sends its whole list of camera users — id,
name, whether their profile streams and how remote activation is set (S7), and the serial and
model of the cameras assigned to them — each time that list changes, with the token the cloud
gave it on the last step of S3 (``PUT /api/cloud/systems/{cloud_system_id}/camera-users``). The
list replaces the previous one in one transaction.

Live's *Camera users* then shows every camera user of the organization's systems, even one whose
camera has never reached the device hub, and can say why a remote start (D4) cannot happen (no
camera, streaming off) without asking a camera that is not there. What a connected camera reports
about itself (online, recording, streaming) is laid over this list (``cloud/streams.py``), and
the cameras assigned to users whose profile streams are what the licence count is made of (S15,
``cloud/store.py``). No position, media or key travels here.

The list also names every camera registered in the system (``cameras``, assigned or not): the
device hub accepts a certificate only for a camera its system registered (issue 10, device
identity is (system, serial)); a camera dropped from the list is disconnected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from ...auth import PRINCIPAL_KEY, SystemPrincipal
from ...context import APPLIANCE
from ...devices import DEVICE_HUB
from ...http import SYSTEM, access, json_response, read_body
from .. import store

routes = web.RouteTableDef()

MAX_CAMERA_USERS = 2000
MAX_CAMERAS = 4000


@dataclass(frozen=True)
class AssignedCamera:
    serial: str = field(metadata={"max_len": 32, "nonempty": True})
    model: str = field(metadata={"max_len": 16, "nonempty": True})


@dataclass(frozen=True)
class SyncedCameraUser:
    id: str = field(metadata={"max_len": 64, "nonempty": True})
    name: str = field(metadata={"max_len": 120, "nonempty": True})
    streaming: bool = False
    remote_activation: Literal["while_recording", "always"] | None = None
    cameras: list[AssignedCamera] = field(default_factory=list, metadata={"max_items": 16})


@dataclass(frozen=True)
class CameraUserList:
    camera_users: list[SyncedCameraUser] = field(metadata={"max_items": MAX_CAMERA_USERS})
    cameras: list[AssignedCamera] = field(default_factory=list, metadata={"max_items": MAX_CAMERAS})

    def __post_init__(self):
        ids = [u.id for u in self.camera_users]
        if len(set(ids)) != len(ids):
            raise ValueError("camera_users: each camera user id may appear once")
        serials = [c.serial for u in self.camera_users for c in u.cameras]
        if len(set(serials)) != len(serials):
            raise ValueError("camera_users: a camera is assigned to one camera user at a time")


@routes.put("/systems/{cloud_system_id}/camera-users")
@access(SYSTEM)
async def put_camera_users(request: web.Request) -> web.Response:
    ctx = request.config_dict[APPLIANCE]
    system = request[PRINCIPAL_KEY]
    assert isinstance(system, SystemPrincipal)  # @access(SYSTEM) let only a system token in
    body = await read_body(request, CameraUserList)
    now = ctx.clock.now()
    assigned = {c.serial: (u.id, u.streaming) for u in body.camera_users for c in u.cameras}
    registered = {c.serial: c.model for c in body.cameras} | {
        c.serial: c.model for u in body.camera_users for c in u.cameras
    }
    await store.replace_system_lists(
        ctx.db,
        system.org_id,
        system.cloud_system_id,
        assigned,
        registered,
        [
            {
                "id": u.id,
                "name": u.name,
                "streaming": u.streaming,
                "remote_activation": u.remote_activation if u.streaming else None,
                "cameras": [{"serial": c.serial, "model": c.model} for c in u.cameras],
            }
            for u in body.camera_users
        ],
        now,
    )
    await request.config_dict[DEVICE_HUB].drop_unregistered(system.cloud_system_id, set(registered))
    return json_response({"system": system.cloud_system_id, "camera_users": len(body.camera_users), "synced_at": now})
