"""Diagnosis (L3, T2–T4): ``GET /api/lab/cameras/{serial}/diagnosis`` and ``GET /api/lab/diagnosis``.

``diagnosis.diagnose`` over the camera's reported state joined with what the controller knows
(certificate, last docking, profile) and the cloud knows (licence, the hub's last refusal), each
read through that part's store. T2 row 1 is about a system, not a camera: for a system whose
cloud extensions are not enabled yet, the lab tries the cloud the way its Manager would (through
the system's network settings, ``context.CLOUD_PROBE``) and names the cause when that fails.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bwlab.regions import SERVICE_HOSTS

from ...cloud.store import licence_valid, system_org
from ...context import APPLIANCE, CLOUD_PROBE, SYSTEM_CLOCK_SKEW
from ...controller import store as controller_store
from ...errors import NotFound
from ...http import LAB, access, json_response
from ...hub import store as hub_store
from .. import diagnosis
from ..facts import CameraFacts
from ..network import LAB_NETWORK, LabNetwork
from ..symptoms import camera_symptoms

routes = web.RouteTableDef()


def _net(request: web.Request) -> LabNetwork:
    return request.config_dict[LAB_NETWORK]


async def _camera_row(request: web.Request, serial: str):
    ctx = request.config_dict[APPLIANCE]
    row = await controller_store.camera_anywhere(ctx.controller_db, serial)
    if row is None and serial not in _net(request).fleet.states:
        raise NotFound(f"no camera {serial!r} in the lab")
    return row


async def _facts(request: web.Request, serial: str, row) -> CameraFacts:
    ctx = request.config_dict[APPLIANCE]
    state = _net(request).fleet.states.get(serial) or {}
    if row is None:
        return CameraFacts(serial=serial, model=str(state.get("model") or "W102"))
    streaming_enabled = None
    licence = True
    country = None
    conn = await controller_store.connection_of(ctx.controller_db, row["system_id"])
    if conn is not None:
        settings = await controller_store.settings_json(ctx.controller_db, row["system_id"])
        country = json.loads(settings or "{}").get("country")  # T2 row 7: where the system is
        if conn.cloud_system_id:
            org_id = await system_org(ctx.db, conn.cloud_system_id)
            if org_id is not None:
                licence = await licence_valid(ctx.db, org_id, ctx.clock.now())
    user_id = row["docked_user_id"] or row["camera_user_id"]
    if user_id:
        streaming_enabled = bool(await controller_store.user_streaming(ctx.controller_db, user_id))
    return CameraFacts(
        serial=serial,
        model=row["model"],
        docked=row["dock_id"] is not None,
        last_docked_at=row["last_docked_at"],
        cert_not_after=row["cert_not_after"],
        streaming_enabled=streaming_enabled,
        licence_valid=licence,
        system_country=country,
    )


async def _hub_facts(request: web.Request, serial: str, camera) -> dict[str, Any]:
    """What the hub knows of the camera of this system (a camera is (system, serial), issue 10)."""
    ctx = request.config_dict[APPLIANCE]
    conn = None if camera is None else await controller_store.connection_of(ctx.controller_db, camera["system_id"])
    cloud_system_id = conn.cloud_system_id if conn is not None else None
    row = await hub_store.device_record(ctx.db, cloud_system_id, serial)
    events = await hub_store.recent_events(ctx.db, serial, cloud_system_id)
    return {
        "online": bool(row and row["online"]),
        "last_refusal": json.loads(row["last_refusal"]) if row and row["last_refusal"] else None,
        "recent_events": [dict(e) for e in events],
    }


def _finding_json(f: diagnosis.Finding, *, lab_derived: bool) -> dict[str, Any]:
    """A finding as the Lab panel and ``bwlab doctor`` read it: the manual's row (symptom, cause,
    fix), what was observed, its evidence, and where the fix is in the Manager."""
    return {
        "code": f.code,
        "spec_id": f.spec_id,
        "symptom": f.symptom,
        "cause": f.cause,
        "fix": f.fix,
        "observed": f.observed,
        "lab_derived": lab_derived,
        "manager": diagnosis.ROWS[f.code].as_dict()["manager"],
        "evidence": [e.as_dict() for e in f.evidence],
    }


async def _diagnose(request: web.Request, serial: str) -> dict[str, Any]:
    ctx = request.config_dict[APPLIANCE]
    row = await _camera_row(request, serial)
    facts = await _facts(request, serial, row)
    state = _net(request).fleet.states.get(serial)
    now = ctx.clock.now()
    hub = await _hub_facts(request, serial, row)
    skew_of = request.config_dict.get(SYSTEM_CLOCK_SKEW)
    skew = 0.0 if row is None or skew_of is None else skew_of(row["system_id"])  # the Manager shows it
    telemetry = camera_symptoms(now, facts, state, hub_refusal=hub["last_refusal"], system_clock_offset_s=skew)
    findings = diagnosis.diagnose(telemetry)  # L3 from symptoms only (symptoms.py)
    radio = (state or {}).get("radio") or {}
    return {
        "serial": serial,
        "model": facts.model,
        "lab_time": now,
        "reporting": state is not None,
        "system_id": row["system_id"] if row is not None else None,
        "findings": [
            _finding_json(f, lab_derived=diagnosis.ROWS[f.code].lab_derived)
            | ({"hostnames": _hostnames(telemetry.blocked_hostnames, radio)} if f.code == "T2-5-hostnames" else {})
            for f in findings
        ],
        "codes": [f.code for f in findings],
        "facts": {
            "docked": telemetry.docked,
            "cert_not_after": telemetry.cert_not_after,
            "last_docked_at": telemetry.last_docked_at,
            "streaming_enabled": telemetry.streaming_enabled,
            "licence_valid": telemetry.licence_valid,
            "camera_clock_offset_s": telemetry.camera_clock_offset_s,
            "mode": radio.get("mode"),
            "wifi_failure": (radio.get("wifi") or {}).get("failure"),
            "mobile_problem": (radio.get("mobile") or {}).get("problem"),
        },
        "hub": hub,
        "last_press": (state or {}).get("last_press"),  # a press that did nothing says why (L3's doctor too)
    }


def _hostnames(names: tuple[str, ...], radio: dict) -> list[dict]:
    """T2 row 5 (derived): each name not reached, its T5 row, and what the camera saw (issue 15)."""
    rows = {h.name: h.purpose for h in SERVICE_HOSTS}
    services = radio.get("services")
    seen: dict = services if isinstance(services, dict) else {}
    return [
        {"hostname": n, "t5_row": rows.get(n), "port": 443, "observed": (seen.get(n) or {}).get("error") or "blocked"}
        for n in names
    ]


@routes.get("/cameras/{serial}/diagnosis")
@access(LAB)
async def camera_diagnosis(request: web.Request) -> web.Response:
    """L3: every row of the manual's tables whose rule holds for this camera: symptom, cause, fix."""
    return json_response(await _diagnose(request, request.match_info["serial"].upper()))


_BEFORE_EXTENSIONS = ("not_installed", "installed")
SYSTEM_ROWS = ("T2-1",)


async def _system_diagnosis(request: web.Request, system) -> dict[str, Any]:
    """T2 row 1 for one system: can its Manager reach the cloud with its network settings?"""
    ctx = request.config_dict[APPLIANCE]
    connection = json.loads(system["connection"] or "{}")
    state = connection.get("state", "not_installed")
    error = None
    if state in _BEFORE_EXTENSIONS:
        error = await request.config_dict[CLOUD_PROBE](system["settings"])
    telemetry = diagnosis.CameraTelemetry(
        camera_id=system["id"], model="", now=ctx.clock.now(), cloud_extensions_error=error
    )
    findings = [f for f in diagnosis.diagnose(telemetry) if f.code in SYSTEM_ROWS]
    return {
        "id": system["id"],
        "name": system["name"],
        "connection_state": state,
        "cloud_error": error,
        "codes": [f.code for f in findings],
        "findings": [_finding_json(f, lab_derived=False) for f in findings],
    }


@routes.get("/diagnosis")
@access(LAB)
async def lab_diagnosis(request: web.Request) -> web.Response:
    """L3 for every system and every camera the controllers know or a fleet runs (``bwlab doctor``)."""
    ctx = request.config_dict[APPLIANCE]
    serials = await controller_store.all_serials(ctx.controller_db)
    serials |= set(_net(request).fleet.states)
    systems = [row for row, _ in await controller_store.systems_with_connection(ctx.controller_db)]
    return json_response(
        {
            "lab_time": ctx.clock.now(),
            "systems": [await _system_diagnosis(request, s) for s in systems],
            "cameras": [await _diagnose(request, s) for s in sorted(serials)],
        }
    )
