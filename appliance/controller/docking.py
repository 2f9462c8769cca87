"""The docking rules (SPEC D1, S8, T4), without I/O.

A camera put in a bay of a dock: the bay must exist and be free (or hold this very camera); the
camera user who takes it is its assigned user, or for a self-assigned camera the one named at the
dock (else the one who took it last); a camera assigned to one user is refused to another. What
the dock then hands the camera is built by the handler (appliance/controller/api/docks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import Conflict, InvalidInput


@dataclass(frozen=True)
class CameraAssignment:
    """What the controller knows of a camera's assignment (its ``ctl_cameras`` row)."""

    serial: str
    self_assign: bool
    camera_user_id: str | None  # the fixed assignment
    docked_user_id: str | None  # who took it at its last docking


def bay_number(text: str, bays: int) -> int:
    """The bay of a dock of ``bays`` bays named in a URL: a number 1..bays."""
    try:
        bay = int(text)
    except ValueError:
        raise InvalidInput("bay: expected a bay number") from None
    if not 1 <= bay <= bays:
        raise InvalidInput(f"bay: expected 1 to {bays}, got {bay}")
    return bay


def check_bay_free(occupant: str | None, serial: str, bay: int, dock_name: str) -> None:
    """A bay holds one camera: another camera in it refuses the docking."""
    if occupant is not None and occupant != serial:
        raise Conflict(f"bay {bay} of {dock_name} holds camera {occupant}", code="bay_occupied")


def needs_named_user(camera: CameraAssignment) -> bool:
    """Whether the camera user named at the dock matters (and so must exist): for a
    self-assigned camera, or one assigned to a user (to refuse another)."""
    return camera.self_assign or camera.camera_user_id is not None


def docking_user(camera: CameraAssignment, named_user_id: str | None) -> str | None:
    """The camera user the camera is provisioned for (S8: whose Wi-Fi list and profile it gets).

    ``named_user_id``: the camera user named at the dock, already looked up (None: none named)."""
    if camera.self_assign:
        if named_user_id is not None:
            return named_user_id
        if camera.docked_user_id is None:
            raise InvalidInput(
                "camera_user: a self-assigned camera needs the camera user who takes it", path="camera_user"
            )
        return camera.docked_user_id
    if named_user_id is not None and camera.camera_user_id is not None and named_user_id != camera.camera_user_id:
        raise Conflict("this camera is assigned to another camera user", code="assigned_elsewhere")
    return camera.camera_user_id


def certificate_valid(cert_not_after: float | None, now: float) -> bool:
    """D1: a camera's device certificate is valid until its not-after (six days from docking)."""
    return cert_not_after is not None and now < cert_not_after
