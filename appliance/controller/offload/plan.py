"""What the controller sends to its content destination for one recording, and what each answer
means (issue 13; Axis's Body Worn Content Destination API, README "File upload API", "Error
response descriptions").

Pure: no I/O, no clock. ``recording_plan`` turns a recording's manifest (bwlab.wire.recordings)
into the ordered requests of its upload — the recording container with its metadata and
``Status: Transferring``, per clip its key object (with ``WantEncryption``) and the clip object,
the GNSS trail (``StoreGNSSTrackRecording``), the bookmarks (``StoreBookmarks``), and last the
container's ``Status: Complete``. Every name is derived from the manifest, so a request repeated
after a restart or an outage overwrites the same object: nothing is ever stored twice.

``outcome`` maps a response status to what the controller does (the README's table):
2xx confirmed; 400 the recording is "not transferred" (kept, downloadable); 401 authenticate
again; 402/403/404 shown to the admin and tried again later; 503 tried again soon, backing off;
507 an alert and tried again later; 500 and connection errors tried again, backing off, for ever.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Location, Manifest

USER_NAMESPACE = uuid.UUID("6f1d4b1e-8a43-5c3b-9a55-0b5e1ab13c13")

Body = Literal["none", "clip", "bytes"]


def user_uuid(user_id: str) -> str:
    """The UUID a camera user has on the content destination (``Users/<UserUUID>``, the first
    part of a recording container's name), stable for the controller's user id."""
    return str(uuid.uuid5(USER_NAMESPACE, user_id or "unassigned"))


def format_location(location: Location | None) -> str | None:
    """``TriggerOnLocation``/``TriggerOffLocation``: the README's ``<lat><long><accuracy><epoch>``
    with every part signed (ISO 6709 style), so that the parts need no other separator:
    ``+55.718409+013.221184+5+1661255290``."""
    if location is None:
        return None
    accuracy = 0 if location.accuracy is None else round(location.accuracy)
    return f"{location.lat:+010.6f}{location.lon:+011.6f}+{accuracy}+{int(location.t)}"


@dataclass(frozen=True)
class Request:
    """One request of a recording's upload. ``name`` is the key under which its confirmation is
    kept: the object's path, the container's name, or for the last request the container's name
    with ``#Complete`` (the container was confirmed once already, with ``Status: Transferring``)."""

    step: Literal["container", "clip", "gnss", "bookmark", "complete"]
    method: Literal["PUT", "POST"]
    container: str
    object: str | None
    headers: dict[str, str] = field(hash=False)
    body: Body = "none"
    data: bytes = b""  # body == "bytes"
    clip: str | None = None  # body == "clip": the clip's file in the buffer
    encrypt: bool = False  # with a key object PUT first (``key_object_name(object)``)

    @property
    def name(self) -> str:
        if self.step == "complete":
            return f"{self.container}#{cd.STATUS_COMPLETE}"
        return self.container if self.object is None else f"{self.container}/{self.object}"


@dataclass(frozen=True)
class Target:
    """What the plan needs to know about the destination and the controller."""

    controller_serial: str
    container_type: str
    capabilities: cd.Capabilities
    encrypt: bool


def container_name(manifest: Manifest) -> str:
    return cd.recording_container_name(user_uuid(manifest.user_id), manifest.serial, manifest.trigger_on_time)


def container_meta(manifest: Manifest, target: Target, status: str) -> dict[str, str]:
    values = {
        "BWCSerialNumber": manifest.serial,
        "SCUSerialNumber": target.controller_serial,
        "FirmwareVersion": manifest.firmware_version,
        "UserID": user_uuid(manifest.user_id),
        "TriggerOn": manifest.trigger_on,
        "TriggerOff": manifest.trigger_off or "",
        "TriggerOnTime": cd.epoch(manifest.trigger_on_time),
        "TriggerOnTimeISO": cd.rfc3339(manifest.trigger_on_time),
        "TriggerOffTime": cd.epoch(manifest.trigger_off_time or manifest.trigger_on_time),
        "TriggerOffTimeISO": cd.rfc3339(manifest.trigger_off_time or manifest.trigger_on_time),
        "BWCModel": manifest.model,
        "Status": status,
    }
    for key, where in (
        ("TriggerOnLocation", manifest.trigger_on_location),
        ("TriggerOffLocation", manifest.trigger_off_location),
    ):
        text = format_location(where)
        if text is not None:
            values[key] = text
    return cd.meta_headers("Container", values)


def gnss_trail(manifest: Manifest) -> bytes:
    start = manifest.start_time
    return cd.gnss_trail_json(
        cd.GnssEntry(lon=p.lon, lat=p.lat, seconds_from_start=round(p.t - start, 3), timestamp=p.t)
        for p in manifest.gnss
    )


def recording_plan(manifest: Manifest, target: Target) -> list[Request]:
    """Every request of the recording's upload, in order (see the module docstring)."""
    container = container_name(manifest)
    caps = target.capabilities
    out = [Request("container", "PUT", container, None, container_meta(manifest, target, cd.STATUS_TRANSFERRING))]
    for clip in manifest.clips:
        name = cd.clip_object_name(clip.start_time, manifest.recording_id, target.container_type)
        headers = cd.meta_headers(
            "Object",
            {
                "StartTime": cd.epoch(clip.start_time),
                "StartTimeISO": cd.rfc3339(clip.start_time),
                "StopTime": cd.epoch(clip.stop_time),
                "StopTimeISO": cd.rfc3339(clip.stop_time),
                "ContainerType": target.container_type,
            },
        )
        out.append(
            Request("clip", "PUT", container, name, headers, body="clip", clip=clip.file, encrypt=target.encrypt)
        )
    if manifest.gnss and caps.supports(cd.STORE_GNSS_TRACK_RECORDING):
        name = cd.gnss_trail_object_name(manifest.start_time, manifest.recording_id, manifest.serial)
        out.append(
            Request(
                "gnss",
                "PUT",
                container,
                name,
                cd.meta_headers("Object", {"FileType": "json"}),
                body="bytes",
                data=gnss_trail(manifest),
                encrypt=target.encrypt,
            )
        )
    if caps.supports(cd.STORE_BOOKMARKS):
        out.extend(_bookmarks(manifest, container))
    out.append(Request("complete", "POST", container, None, container_meta(manifest, target, cd.STATUS_COMPLETE)))
    return out


def _bookmarks(manifest: Manifest, container: str) -> list[Request]:
    category = manifest.category
    marks = list(manifest.bookmarks)
    out = []
    base_tags = f"TriggerOn:{manifest.trigger_on}"
    if not marks and category is not None:  # a category alone: one bookmark carrying it
        values = {
            "CategoryID": category.id,
            "CategoryName": category.name,
            "Tags": base_tags,
            "StartTime": cd.rfc3339(manifest.start_time),
        }
        out.append(
            Request(
                "bookmark",
                "PUT",
                container,
                cd.bookmark_object_name(manifest.trigger_on_time, "category"),
                cd.meta_headers("Object", values),
                body="bytes",
                data=b"",
            )
        )
    for mark in marks:
        values = {
            "Tags": ";".join(t for t in (base_tags, mark.tags) if t),
            "StartTime": cd.rfc3339(mark.start if mark.start is not None else manifest.start_time),
        }
        if category is not None:
            values.update(CategoryID=category.id, CategoryName=category.name)
        if mark.end is not None:
            values["EndTime"] = cd.rfc3339(mark.end)
        out.append(
            Request(
                "bookmark",
                "PUT",
                container,
                cd.bookmark_object_name(mark.at, mark.id),
                cd.meta_headers("Object", values),
                body="bytes",
                data=mark.text.encode(),
            )
        )
    return out


# ---- what an answer means -----------------------------------------------------------------------

Outcome = Literal[
    "confirmed", "not_transferred", "reauth", "surfaced", "retry_soon", "insufficient_storage", "retry", "connection"
]

RETRY_SOON = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
"""Seconds before the next attempt after a 503, a 500 or a connection error (the last repeats)."""
RETRY_LATER = 300.0
"""Seconds before the next attempt after 402/403/404 (an admin must act) or 507 (disk full)."""

MESSAGES = {
    "not_transferred": "Recording not transferred: the content destination refused it (400) and never will; "
    "download it from the Manager.",
    "reauth": "The content destination refused the token (401): authenticating again.",
    "surfaced": "The content destination refused the request ({status}); an administrator must act there. "
    "Tried again later.",
    "retry_soon": "The content destination is busy (503): tried again soon.",
    "insufficient_storage": "The content destination is out of disk space or quota (507). Tried again later.",
    "retry": "The content destination failed ({status}): tried again.",
    "connection": "The content destination cannot be reached: tried again for ever.",
}


def outcome(status: int | None) -> Outcome:
    """What the controller does after an answer (``None``: no answer, a connection error)."""
    if status is None:
        return "connection"
    if 200 <= status < 300:
        return "confirmed"
    if status == 400:
        return "not_transferred"
    if status == 401:
        return "reauth"
    if status in (402, 403, 404):
        return "surfaced"
    if status == 503:
        return "retry_soon"
    if status == 507:
        return "insufficient_storage"
    return "retry"


def retry_delay(result: Outcome, attempts: int) -> float:
    """Seconds to wait before the ``attempts``-th next try (1 = the first retry)."""
    if result in ("surfaced", "insufficient_storage"):
        return RETRY_LATER
    return RETRY_SOON[min(max(attempts, 1), len(RETRY_SOON)) - 1]


def message(result: Outcome, status: int | None) -> str:
    return MESSAGES.get(result, "{status}").format(status=status)
