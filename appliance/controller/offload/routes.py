"""The Manager's content destination and recordings, and the dock's recording transfer (issue 13).

Manager (the system's administrator):

* ``POST {API}/content-destination``: import a connection file (the body is the file). Refused
  with the field named, changing nothing: too big, wrong version, a missing or too long field,
  a certificate or key that does not parse, ``WantEncryption`` turned off again (README "Change").
* ``GET {API}/content-destination``: status, the last error, the 507 alert, capabilities seen,
  categories, the System ID and connection ID, the connection file without its key.
* ``GET/PUT {API}/recording-settings``: clip length and the dock's transfer rate, handed to the
  cameras by the dock.
* ``GET {API}/recordings``, ``GET {API}/recordings/{id}`` (with its transfer log) and
  ``GET {API}/recordings/{id}/files/{name}``: download a clip still in the buffer (a recording
  "not transferred" stays there).

Dock (the lab's physical world, lab token): ``PUT …/docks/{dock}/bays/{bay}/recordings/{id}``
(manifest), ``PUT …/recordings/{id}/files/{name}`` (a clip, streamed), ``POST …/recordings/{id}/done``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from dataclasses import dataclass, field

from aiohttp import web

from bwlab import schema
from bwlab.schema import SchemaError
from bwlab.wire import content_destination as cd
from bwlab.wire.recordings import Manifest, ManifestError

from ...errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from ...http import LAB, MANAGER, access, json_response, read_body
from ..api.request import appliance as _ctx
from ..api.request import system as _system
from .buffer import Buffer
from .service import OFFLOAD
from .settings import RecordingSettings, recording_settings

routes = web.RouteTableDef()

API = "/{system_id}/api"
BAY = API + "/docks/{dock}/bays/{bay}"
DOCK = BAY + "/recordings/{recording}"
MAX_CLIP = 4 * 1024**3


@dataclass(frozen=True)
class Offload:
    active: bool = False
    sent_bytes: int = field(default=0, metadata={"min": 0})
    total_bytes: int = field(default=0, metadata={"min": 0})
    recordings_left: int = field(default=0, metadata={"min": 0})
    error: str | None = field(default=None, metadata={"max_len": 300})


@dataclass(frozen=True)
class CameraStorage:
    """What the dock reads of a docked camera's storage and of its transfer (issue 13)."""

    capacity: int = field(metadata={"min": 0})
    used: int = field(metadata={"min": 0})
    recordings: int = field(default=0, metadata={"min": 0})
    full: bool = False
    offload: Offload = field(default_factory=Offload)


# ---------------------------------------------------------------------------------------------
# the content destination


@routes.post(API + "/content-destination")
@access(MANAGER)
async def import_connection_file(request: web.Request) -> web.Response:
    system = await _system(request)
    if request.content_length is not None and request.content_length > cd.MAX_CONNECTION_FILE:
        raise PayloadTooLarge(
            f"file: a connection file is at most {cd.MAX_CONNECTION_FILE} bytes (64 kB)", code="invalid_connection_file"
        )
    raw = await request.content.read(cd.MAX_CONNECTION_FILE + 1)
    try:
        conn = cd.ConnectionFile.parse(raw)
    except cd.ContentDestinationError as exc:
        raise InvalidInput(str(exc), code="invalid_connection_file", path=exc.field) from None
    db = _ctx(request).controller_db
    row = await db.fetchone(
        "SELECT connection_file, connection_id FROM ctl_cd_destinations WHERE system_id = ?", (system["id"],)
    )
    try:
        cd.check_replacement(cd.ConnectionFile.parse(row["connection_file"]) if row else None, conn)
    except cd.ContentDestinationError as exc:
        raise Conflict(str(exc), code="invalid_connection_file", path=exc.field) from None
    text = raw.decode("utf-8-sig")
    now = _ctx(request).clock.now()
    if row is None:
        await db.execute(
            "INSERT INTO ctl_cd_destinations (system_id, connection_file, connection_id, imported_at) "
            "VALUES (?, ?, ?, ?)",
            (system["id"], text, str(uuid.uuid4()), now),
        )
    else:
        await db.execute(
            "UPDATE ctl_cd_destinations SET connection_file = ?, imported_at = ?, status = 'pending', "
            "status_message = NULL, capabilities = NULL, capabilities_error = NULL "
            "WHERE system_id = ?",
            (text, now, system["id"]),
        )
    request.config_dict[OFFLOAD].forget(system["id"])
    return json_response(await _destination_json(request, system["id"]), status=201 if row is None else 200)


async def _destination_json(request: web.Request, system_id: str) -> dict:
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_cd_destinations WHERE system_id = ?", (system_id,)
    )
    if row is None:
        return {"configured": False, "system_id": system_id}
    conn = cd.ConnectionFile.parse(row["connection_file"])
    log = await _ctx(request).controller_db.fetchall(
        "SELECT at, method, target, status, outcome, message FROM ctl_transfer_log WHERE system_id = ? "
        "AND recording_id IS NULL ORDER BY id DESC LIMIT 50",
        (system_id,),
    )
    return {
        "configured": True,
        "system_id": system_id,
        "connection_id": row["connection_id"],
        "imported_at": row["imported_at"],
        "status": row["status"],
        "status_message": row["status_message"],
        "alert": {"message": row["alert"], "at": row["alert_at"]} if row["alert"] else None,
        "capabilities": json.loads(row["capabilities"]) if row["capabilities"] else None,
        "capabilities_error": row["capabilities_error"],
        "categories": json.loads(row["categories"]) if row["categories"] else [],
        "system_id_stored": bool(row["system_id_stored"]),
        "connection": conn.summary(),
        "log": [dict(entry) for entry in reversed(log)],  # the system's own requests (auth, System/, Users/…)
    }


@routes.get(API + "/content-destination")
@access(MANAGER, LAB)
async def get_destination(request: web.Request) -> web.Response:
    system = await _system(request)
    return json_response(await _destination_json(request, system["id"]))


@routes.get(API + "/recording-settings")
@access(MANAGER, LAB)
async def get_recording_settings(request: web.Request) -> web.Response:
    system = await _system(request)
    return json_response(await recording_settings(_ctx(request).controller_db, system["id"], "UTC"))


@routes.put(API + "/recording-settings")
@access(MANAGER)
async def put_recording_settings(request: web.Request) -> web.Response:
    system = await _system(request)
    body = await read_body(request, RecordingSettings)
    await _ctx(request).controller_db.execute(
        "INSERT INTO ctl_recording_settings (system_id, settings) VALUES (?, ?) "
        "ON CONFLICT (system_id) DO UPDATE SET settings = excluded.settings",
        (system["id"], json.dumps(body.__dict__)),
    )
    return json_response(body.__dict__)


# ---------------------------------------------------------------------------------------------
# recordings (Manager)


def _recording_json(row, objects: int) -> dict:
    manifest = json.loads(row["manifest"])
    return {
        "id": row["id"],
        "serial": row["serial"],
        "state": row["state"],
        "container": row["container"],
        "user_id": manifest.get("user_id"),
        "user_name": manifest.get("user_name"),
        "trigger_on": manifest.get("trigger_on"),
        "trigger_on_time": manifest.get("trigger_on_time"),
        "trigger_off": manifest.get("trigger_off"),
        "trigger_off_time": manifest.get("trigger_off_time"),
        "clips": [
            {"file": c["file"], "size": c["size"], "start_time": c["start_time"], "stop_time": c["stop_time"]}
            for c in manifest.get("clips", [])
        ],
        "size": sum(c["size"] for c in manifest.get("clips", [])),
        "received_at": row["received_at"],
        "completed_at": row["completed_at"],
        "attempts": row["attempts"],
        "next_attempt_at": row["next_attempt_at"],
        "last_error": row["last_error"],
        "objects_confirmed": objects,
        "bookmarks": [{"at": b["at"], "text": b["text"]} for b in manifest.get("bookmarks", [])],
        "category": manifest.get("category"),
        "downloadable": row["state"] in ("buffered", "transferring", "not_transferred"),
    }


async def _recording_row(request: web.Request):
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_recordings WHERE id = ? AND system_id = ?",
        (request.match_info["recording"], request.match_info["system_id"]),
    )
    if row is None:
        raise NotFound(f"no recording {request.match_info['recording']!r} in this system")
    return row


@routes.get(API + "/recordings")
@access(MANAGER, LAB)
async def list_recordings(request: web.Request) -> web.Response:
    system = await _system(request)
    db = _ctx(request).controller_db
    rows = await db.fetchall(
        "SELECT r.*, (SELECT COUNT(*) FROM ctl_recording_objects o WHERE o.recording_id = r.id) AS objects "
        "FROM ctl_recordings r WHERE system_id = ? ORDER BY received_at DESC LIMIT 500",
        (system["id"],),
    )
    return json_response({"recordings": [_recording_json(r, r["objects"]) for r in rows]})


@routes.get(API + "/recordings/{recording}")
@access(MANAGER, LAB)
async def get_recording(request: web.Request) -> web.Response:
    row = await _recording_row(request)
    db = _ctx(request).controller_db
    objects = await db.fetchall(
        "SELECT name, confirmed_at FROM ctl_recording_objects WHERE recording_id = ?", (row["id"],)
    )
    log = await db.fetchall(
        "SELECT at, method, target, status, outcome, message FROM ctl_transfer_log "
        "WHERE recording_id = ? ORDER BY id LIMIT 2000",
        (row["id"],),
    )
    return json_response(
        {
            **_recording_json(row, len(objects)),
            "objects": [dict(o) for o in objects],
            "log": [dict(entry) for entry in log],
        }
    )


@routes.get(API + "/recordings/{recording}/files/{name}")
@access(MANAGER)
async def download_clip(request: web.Request) -> web.StreamResponse:
    row = await _recording_row(request)
    path = Buffer(_ctx(request).config.data_dir, row["system_id"]).clip(row["id"], request.match_info["name"])
    if not path.exists():
        raise NotFound("this clip is not in the controller's buffer (it was transferred)")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": "video/mp4",
            "Content-Disposition": f'attachment; filename="{row["serial"]}-{path.name}"',
        },
    )


# ---------------------------------------------------------------------------------------------
# the dock moves a camera's recordings (lab)


async def _docked_camera(request: web.Request) -> str:
    """The serial of the camera in the bay, or 409."""
    db = _ctx(request).controller_db
    row = await db.fetchone(
        "SELECT c.serial FROM ctl_cameras c JOIN ctl_docks d ON c.dock_id = d.id "
        "WHERE d.system_id = ? AND (d.id = ? OR d.name = ?) AND c.bay = ?",
        (
            request.match_info["system_id"],
            request.match_info["dock"],
            request.match_info["dock"],
            _int(request.match_info["bay"]),
        ),
    )
    if row is None:
        raise Conflict("no camera in this bay", code="bay_empty")
    return row["serial"]


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput("bay: expected a bay number", path="bay") from None


@routes.put(BAY + "/storage")
@access(LAB)
async def dock_storage(request: web.Request) -> web.Response:
    serial = await _docked_camera(request)
    body = await read_body(request, CameraStorage)
    await _ctx(request).controller_db.execute(
        "INSERT INTO ctl_camera_storage (serial, system_id, storage, reported_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (system_id, serial) DO UPDATE SET storage = excluded.storage, reported_at = excluded.reported_at",
        (serial, request.match_info["system_id"], json.dumps(schema.as_json(body)), _ctx(request).clock.now()),
    )
    return json_response({"serial": serial})


@routes.get(API + "/camera-storage")
@access(MANAGER, LAB)
async def camera_storage(request: web.Request) -> web.Response:
    """Each camera's storage as the dock last read it, and what the controller is receiving."""
    system = await _system(request)
    db = _ctx(request).controller_db
    rows = await db.fetchall(
        "SELECT serial, storage, reported_at FROM ctl_camera_storage WHERE system_id = ?", (system["id"],)
    )
    counts = await db.fetchall(
        "SELECT serial, state, COUNT(*) AS n FROM ctl_recordings WHERE system_id = ? GROUP BY serial, state",
        (system["id"],),
    )
    out: dict[str, dict] = {
        r["serial"]: {"storage": json.loads(r["storage"]), "reported_at": r["reported_at"], "controller": {}}
        for r in rows
    }
    for c in counts:
        out.setdefault(c["serial"], {"storage": None, "reported_at": None, "controller": {}})["controller"][
            c["state"]
        ] = c["n"]
    return json_response({"cameras": out})


@routes.put(DOCK)
@access(LAB)
async def dock_manifest(request: web.Request) -> web.Response:
    serial = await _docked_camera(request)
    system_id = request.match_info["system_id"]
    data = await _json(request)
    try:
        manifest = Manifest.from_mapping(data)
    except (SchemaError, ManifestError) as exc:
        raise InvalidInput(str(exc), path="manifest") from None
    if manifest.id != request.match_info["recording"] or manifest.serial != serial or not manifest.complete:
        raise InvalidInput(
            "manifest: a finished recording of the camera in this bay, with the id of the path", path="manifest"
        )
    db = _ctx(request).controller_db
    row = await db.fetchone("SELECT state, system_id FROM ctl_recordings WHERE id = ?", (manifest.id,))
    if row is not None and row["system_id"] != system_id:
        raise Conflict("this recording belongs to another system", code="exists")
    if row is None:
        await db.execute(
            "INSERT INTO ctl_recordings (id, system_id, serial, manifest, state, received_at) "
            "VALUES (?, ?, ?, ?, 'receiving', ?)",
            (manifest.id, system_id, serial, json.dumps(manifest.as_dict()), _ctx(request).clock.now()),
        )
    elif row["state"] == "receiving":  # bookmarks or a category added since the cut transfer
        await db.execute(
            "UPDATE ctl_recordings SET manifest = ? WHERE id = ?", (json.dumps(manifest.as_dict()), manifest.id)
        )
    buffer = Buffer(_ctx(request).config.data_dir, system_id)
    have = await asyncio.to_thread(buffer.have, manifest.id)
    if row is not None and row["state"] != "receiving":  # the controller has it whole already
        have = [c.file for c in manifest.clips]
    return json_response({"id": manifest.id, "have": have})


async def _json(request: web.Request):
    raw = await request.content.read(1024 * 1024 + 1)
    if len(raw) > 1024 * 1024:
        raise PayloadTooLarge("manifest: at most 1 MB")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInput("manifest: not JSON", path="manifest") from None


async def _receiving(request: web.Request):
    await _docked_camera(request)
    row = await _ctx(request).controller_db.fetchone(
        "SELECT * FROM ctl_recordings WHERE id = ? AND system_id = ?",
        (request.match_info["recording"], request.match_info["system_id"]),
    )
    if row is None:
        raise NotFound("send the recording's manifest first")
    return row


@routes.put(DOCK + "/files/{name}")
@access(LAB)
async def dock_file(request: web.Request) -> web.Response:
    row = await _receiving(request)
    name = request.match_info["name"]
    manifest = Manifest.from_mapping(json.loads(row["manifest"]))
    clip = next((c for c in manifest.clips if c.file == name), None)
    if clip is None:
        raise InvalidInput(f"{name[:40]}: not a clip of this recording", path="name")
    if row["state"] != "receiving":
        return json_response({"file": name, "stored": True})
    expected = request.headers.get("X-Content-SHA256", "")
    if expected != clip.sha256:
        raise InvalidInput("X-Content-SHA256: not the clip's SHA-256 in the manifest", path="X-Content-SHA256")
    buffer = Buffer(_ctx(request).config.data_dir, row["system_id"])
    handle = await asyncio.to_thread(buffer.open_part, row["id"], name)
    digest, size = hashlib.sha256(), 0
    try:
        async for block in request.content.iter_chunked(256 * 1024):
            size += len(block)
            if size > min(clip.size, MAX_CLIP):
                raise InvalidInput(f"{name}: longer than the manifest says", path="body")
            digest.update(block)
            await asyncio.to_thread(handle.write, block)
    except BaseException:
        handle.close()
        raise
    await asyncio.to_thread(buffer.commit_part, row["id"], name, handle, digest.hexdigest(), clip.sha256)
    return json_response({"file": name, "stored": True}, status=201)


@routes.post(DOCK + "/done")
@access(LAB)
async def dock_done(request: web.Request) -> web.Response:
    row = await _receiving(request)
    if row["state"] == "receiving":
        manifest = Manifest.from_mapping(json.loads(row["manifest"]))
        buffer = Buffer(_ctx(request).config.data_dir, row["system_id"])
        missing = [
            c.file for c in manifest.clips if not await asyncio.to_thread(buffer.verify, row["id"], c.file, c.size)
        ]
        if missing:
            raise Conflict(f"the controller lacks {', '.join(missing)}", code="incomplete")
        await _ctx(request).controller_db.execute(
            "UPDATE ctl_recordings SET state = 'buffered' WHERE id = ?", (row["id"],)
        )
        request.config_dict[OFFLOAD].wake.set()
    return json_response({"id": row["id"], "buffered": True})
