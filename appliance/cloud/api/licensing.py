"""Licence orders and renewals (SPEC S15), for organization admins; the licence as a connected
system sees it (the Manager's Axis-hosted overview).

- ``POST /orgs/{org_id}/licences`` ``{quantity, term_months}``: order a subscription of
  ``quantity`` licences for ``term_months`` (1, 12, 24 or 36) calendar months, from now.
- ``POST /orgs/{org_id}/licences/{licence_id}/renewal`` ``{term_months, quantity?}``: renew a
  subscription: a new one that continues it from its end (or from now when it has ended), with
  its quantity unless another is given. The trial is not renewed: an order follows it.
- ``GET /systems/{cloud_system_id}/licence``: trial, purchased or expired, for the Manager.

Both changes tell the organization's connected cameras at once (``DeviceHub.push_licence``, appliance/devices.py), so
a camera that did not react to a start with an expired licence (T2 row 2b) streams again. The
counting rule (``licences.usage``) is not touched. Mounted at /api/cloud.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bwlab.clock import isoformat

from ...auth import ACCOUNT_KEY, PRINCIPAL_KEY, SystemPrincipal
from ...context import APPLIANCE
from ...devices import DEVICE_HUB
from ...errors import Conflict, NotFound
from ...http import ORG_ADMIN, SYSTEM, access, json_response, read_body
from ...ids import new_id
from .. import audit, licences, store
from ..store import organization_licences, organization_standing

routes = web.RouteTableDef()


def standing_json(s: licences.Standing) -> dict[str, Any]:
    return {
        "state": s.state,
        "valid": s.valid,
        "quantity": s.quantity,
        "covered_until": s.covered_until,
        "ended_at": None if s.valid else s.last_ended_at,
    }


def usage_json(u: licences.Usage) -> dict[str, Any]:
    return {
        "needed": u.needed,
        "average": round(u.average, 3),
        "window_days": len(u.days),
        "daily": [{"date": isoformat(d.start)[:10], "start": d.start, "cameras": d.cameras} for d in u.days],
    }


def _check_term(term_months: int) -> None:
    if term_months not in licences.TERMS_MONTHS:
        raise ValueError(
            f"term_months: expected one of {', '.join(map(str, licences.TERMS_MONTHS))}, got {term_months}"
        )


@dataclass(frozen=True)
class LicenceOrder:
    quantity: int = field(metadata={"min": 1, "max": licences.MAX_QUANTITY})
    term_months: int = 12

    def __post_init__(self):
        _check_term(self.term_months)


@dataclass(frozen=True)
class LicenceRenewal:
    term_months: int = 12
    quantity: int | None = field(default=None, metadata={"min": 1, "max": licences.MAX_QUANTITY})

    def __post_init__(self):
        _check_term(self.term_months)


async def _record(
    request: web.Request, org_id: str, quantity: int, term_months: int, period: tuple[float, float], renews: str | None
) -> dict:
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    licence_id = new_id("lic")
    await store.add_subscription(
        ctx.db, licence_id, org_id, period, quantity, term_months, request[ACCOUNT_KEY].account_id, now, renews
    )
    await request.config_dict[DEVICE_HUB].push_licence(ctx.db, org_id, ctx.clock.now())
    await audit.record(
        request,
        audit.SETTING_CHANGED,
        details={"setting": "licences_ordered", "licence_id": licence_id, "quantity": quantity, "renews": renews},
    )
    standing = await organization_standing(ctx.db, org_id, now)
    return {
        "licence": {
            "id": licence_id,
            "kind": "subscription",
            "quantity": quantity,
            "term_months": term_months,
            "starts_at": period[0],
            "ends_at": period[1],
            "renews": renews,
        },
        **standing_json(standing),
    }


@routes.post("/orgs/{org_id}/licences")
@access(ORG_ADMIN)
async def order_licences(request: web.Request) -> web.Response:
    """S15: an organization admin orders ``quantity`` licences for a term, from now."""
    body = await read_body(request, LicenceOrder)
    now = request.config_dict[APPLIANCE].clock.now()
    result = await _record(
        request,
        request.match_info["org_id"],
        body.quantity,
        body.term_months,
        licences.order_period(now, body.term_months),
        None,
    )
    return json_response(result, status=201)


@routes.post("/orgs/{org_id}/licences/{licence_id}/renewal")
@access(ORG_ADMIN)
async def renew_licence(request: web.Request) -> web.Response:
    """S15: renew a subscription from its end (or from now if it has ended)."""
    body = await read_body(request, LicenceRenewal)
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    held = {lic.id: lic for lic in await organization_licences(ctx.db, org_id)}
    renewed = held.get(request.match_info["licence_id"])
    if renewed is None:
        raise NotFound(f"no licence {request.match_info['licence_id']!r} in this organization")
    if renewed.kind == "trial":
        raise Conflict("the 30-day trial cannot be renewed: order licences instead", code="trial_not_renewable")
    period = licences.renewal_period(renewed, ctx.clock.now(), body.term_months)
    quantity = body.quantity if body.quantity is not None else renewed.quantity or 1
    return json_response(await _record(request, org_id, quantity, body.term_months, period, renewed.id), status=201)


@routes.get("/systems/{cloud_system_id}/licence")
@access(SYSTEM)
async def system_licence(request: web.Request) -> web.Response:
    """The licence of the connected system's organization (S3, S15), for the Manager's overview."""
    ctx = request.config_dict[APPLIANCE]
    system = request[PRINCIPAL_KEY]
    assert isinstance(system, SystemPrincipal)  # @access(SYSTEM) let only a system token in
    org_id = system.org_id
    now = ctx.clock.now()
    held = await organization_licences(ctx.db, org_id)
    trial = next((lic for lic in held if lic.kind == "trial"), None)
    return json_response(
        {
            **standing_json(licences.standing(held, now)),
            "trial": None if trial is None else {"starts_at": trial.starts_at, "ends_at": trial.ends_at},
        }
    )
