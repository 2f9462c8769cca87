"""The audit trail's routes (issue 16 item 4; docs/audit.md), under /api/cloud: the organization's
log with Live's filters and its export as JSON Lines or CSV (its admins), who is watching each live
stream now, and the key a browser imported (members: the key never leaves the browser, so the
cloud knows of the import only what Live says), and the Manager's admin actions a connected system
controller sends over its link (its token). The log itself: ``appliance/cloud/audit.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bwlab.schema import FieldError
from bwlab.wire import audit as wire
from bwlab.wire.audit import ACTIONS, KEY_IMPORTED

from ...auth import PRINCIPAL_KEY, SystemPrincipal
from ...context import APPLIANCE
from ...db import Database
from ...errors import InvalidInput
from ...http import ORG_ADMIN, ORG_MEMBER, SYSTEM, access, json_response, read_body
from .. import store
from ..audit import AUDIT, AuditFilter, record

routes = web.RouteTableDef()
ORG = "/orgs/{org_id}"
LIST_LIMIT = 200
MAX_LIST_LIMIT = 1000


async def _head(db: Database, org_id: str) -> dict[str, Any] | None:
    row = await store.audit_head(db, org_id)
    return {"seq": row["seq"], "hash": row["hash"]} if row else None


def _limit(query: Mapping[str, str]) -> int:
    text = query.get("limit")
    if text is None:
        return LIST_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise InvalidInput(f"limit: expected a whole number from 1 to {MAX_LIST_LIMIT}", path="limit")
    return int(text)


@routes.get(ORG + "/audit")
@access(ORG_ADMIN)
async def list_audit(request: web.Request) -> web.Response:
    """The organization's log, newest first, with Live's filters; the chain's head (seq, hash)."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    flt = AuditFilter.from_query(request.query)
    limit = _limit(request.query)
    return json_response(
        {
            "entries": await store.audit_entries(ctx.db, org_id, newest_first=True, limit=limit, **flt.as_filters()),
            "matched": await store.audit_count(ctx.db, org_id, **flt.as_filters()),
            "head": await _head(ctx.db, org_id),
            "actions": list(ACTIONS),
        }
    )


EXPORT_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv"}


@routes.get(ORG + "/audit/export")
@access(ORG_ADMIN)
async def export_audit(request: web.Request) -> web.Response:
    """The log in chain order as JSON Lines (``format=jsonl``, the default) or CSV, as a download.
    Without filters it is the whole chain, which ``bwlab audit verify`` checks (docs/audit.md)."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    fmt = request.query.get("format", "jsonl")
    if fmt not in EXPORT_TYPES:
        raise InvalidInput("format: expected jsonl or csv", path="format")
    rows = await store.audit_entries(ctx.db, org_id, **AuditFilter.from_query(request.query).as_filters())
    text = wire.to_jsonl(rows) if fmt == "jsonl" else wire.to_csv(rows)
    head = await _head(ctx.db, org_id)
    return web.Response(
        text=text,
        content_type=EXPORT_TYPES[fmt],
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="audit-{org_id}.{fmt}"',
            "X-Audit-Head": head["hash"] if head else wire.GENESIS,
        },
    )


@routes.get(ORG + "/watching")
@access(ORG_MEMBER)
async def who_is_watching(request: web.Request) -> web.Response:
    """Who is watching each of the organization's live streams now (stream id → watchers)."""
    return json_response({"watching": request.config_dict[AUDIT].watching.of_org(request.match_info["org_id"])})


_FINGERPRINT = re.compile(r"[0-9A-F]{4}( [0-9A-F]{4}){15}")


@dataclass(frozen=True)
class KeyImport:
    fingerprint: str = field(metadata={"max_len": 79})
    name: str | None = field(default=None, metadata={"max_len": 120})
    kind: str = field(default="plain", metadata={"choices": ("plain", "passphrase")})

    def __post_init__(self) -> None:
        if not _FINGERPRINT.fullmatch(self.fingerprint):
            raise FieldError(
                "fingerprint", "a key fingerprint (S6): 16 groups of 4 uppercase hex digits", self.fingerprint
            )


@routes.post(ORG + "/audit/key-imports")
@access(ORG_MEMBER)
async def key_imported(request: web.Request) -> web.Response:
    """Live reports that this account imported a key from a link with key (S5, S6) in its browser."""
    body = await read_body(request, KeyImport)
    entry = await record(
        request, KEY_IMPORTED, details={"fingerprint": body.fingerprint, "name": body.name, "kind": body.kind}
    )
    return json_response({"seq": entry["seq"], "hash": entry["hash"]}, status=201)


CLOCK_TOLERANCE = 300.0  # lab seconds a controller's clock may be ahead of the cloud's (S1 refuses more)


@routes.post("/systems/{cloud_system_id}/audit-events")
@access(SYSTEM)
async def system_audit_events(request: web.Request) -> web.Response:
    """A connected system's Manager admin actions (``bwlab.wire.audit.ManagerEvents``), appended to its
    organization's chain in the order of their ``seq``; those the cloud has already appended (a
    resend after a lost answer) are skipped. A bad batch is refused whole: nothing is appended."""
    ctx = request.config_dict[APPLIANCE]
    system = request[PRINCIPAL_KEY]
    assert isinstance(system, SystemPrincipal)  # @access(SYSTEM) let only this system's token in
    body = await read_body(request, wire.ManagerEvents)
    now = ctx.clock.now()
    for i, event in enumerate(body.events):
        if event.at > now + CLOCK_TOLERANCE:
            raise InvalidInput(f"events[{i}].at: an action in the future of the cloud's clock", path=f"events[{i}].at")
    appended = await request.config_dict[AUDIT].append_system_events(
        ctx.db, system.org_id, system.cloud_system_id, body.events
    )
    return json_response({"appended": appended, "last_seq": body.events[-1].seq if body.events else None})
