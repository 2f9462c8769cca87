"""Troubleshooting mode (T1): ``GET /api/lab/cameras/{serial}/troubleshooting``, built from what the
camera reports, only on a W102/W120 whose system allows the mode and whose top button has put it
into the mode; otherwise 409 with the reason."""

from __future__ import annotations

from aiohttp import web

from bwlab.models import MODELS
from labnet.telemetry import mobile_status, wifi_status

from ...context import APPLIANCE
from ...errors import Conflict
from ...http import LAB, access, json_response
from .. import troubleshooting
from .diagnosis import _camera_row, _net

routes = web.RouteTableDef()


@routes.get("/cameras/{serial}/troubleshooting")
@access(LAB)
async def camera_troubleshooting(request: web.Request) -> web.Response:
    """T1: the four pages the camera shows in troubleshooting mode, with the manual's fields."""
    serial = request.match_info["serial"].upper()
    row = await _camera_row(request, serial)
    state = _net(request).fleet.states.get(serial)
    model_name = row["model"] if row is not None else str((state or {}).get("model"))
    model = MODELS.get(model_name)
    if model is None or not model.troubleshooting:
        raise Conflict(
            f"the {model_name} has no troubleshooting mode (only the W102 and W120 have it)",
            code="troubleshooting_unsupported",
        )
    if state is None:
        raise Conflict(f"camera {serial} is not running: no fleet reports it", code="camera_not_running")
    mode = state.get("troubleshooting") or {}
    if not mode.get("available"):
        raise Conflict(
            "troubleshooting mode is not allowed: in AXIS Body Worn Manager go to Add-on services > "
            "AXIS Body Worn Live > Axis-hosted overview > Show more > Allow troubleshooting mode, "
            "then dock the camera",
            code="troubleshooting_not_allowed",
        )
    if not mode.get("active"):
        raise Conflict(
            "the camera is not in troubleshooting mode: press its top button twice", code="troubleshooting_not_active"
        )
    radio = state.get("radio") or {}
    now = request.config_dict[APPLIANCE].clock.now()
    try:
        pages = troubleshooting.build_pages(
            model=model,
            allowed=True,
            system_time=now + float(radio.get("clock_offset_s") or 0.0),
            wifi=wifi_status(radio.get("wifi")),
            mobile=mobile_status(radio.get("mobile")),
            endpoint_response_code=radio.get("endpoint_response_code"),
        )
    except troubleshooting.TroubleshootingUnavailable as exc:
        raise Conflict(str(exc), code=f"troubleshooting_{exc.reason}") from None
    fields = {f.key: f.value for p in pages for f in p.fields}
    return json_response(
        {
            "serial": serial,
            "model": model.name,
            "page": mode.get("page"),
            "pages": [p.as_dict() for p in pages],
            "fields": fields,
        }
    )
