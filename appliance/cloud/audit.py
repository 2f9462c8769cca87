"""The audit trail and who is watching (issue 16 item 4; docs/audit.md).

Every operator and admin action — viewing a stream (from, to), downloading a recording,
acknowledging, a remote start, talking, importing a key, changing a setting, inviting a user — is
appended to its organization's log, a hash chain in the format of ``bwlab.wire.audit`` (each
entry carries the hash of the one before), at the time of the lab clock. Handlers add one line:
``await audit.record(request, audit.ACKNOWLEDGED, stream=meta)``, or decorate a WebSocket handler
with ``@audit.watched(action, meta_of)`` to record its from/to (the talk-back feature records
``TALKED`` either way). The ``audit_log`` table's SQL is in ``cloud/store.py``; the routes (the log,
its exports, who is watching, a browser's key import) in ``cloud/api/audit.py``.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bwlab.wire import audit as wire
from bwlab.wire.audit import (
    ACKNOWLEDGED,
    ACTIONS,
    KEY_IMPORTED,
    RECORDING_DOWNLOADED,
    REMOTE_STARTED,
    SETTING_CHANGED,
    STREAM_VIEWED,
    TALKED,
    USER_INVITED,
)

from ..auth import ACCOUNT_KEY, ROLE_KEY
from ..context import APPLIANCE
from ..db import Database
from ..errors import ClientError, InvalidInput
from ..http import Handler
from . import store

__all__ = [
    "ACKNOWLEDGED",
    "AUDIT",
    "KEY_IMPORTED",
    "RECORDING_DOWNLOADED",
    "REMOTE_STARTED",
    "SETTING_CHANGED",
    "STREAM_VIEWED",
    "TALKED",
    "USER_INVITED",
    "AuditTrail",
    "Watching",
    "record",
    "setup_audit",
    "watched",
]


# ---- who is watching (pure bookkeeping) -------------------------------------------------------


@dataclass(frozen=True)
class Watcher:
    org_id: str
    stream_id: str
    account_id: str
    name: str
    since: float


class Watching:
    """The live views open now, by organization and stream; one account with two views of a
    stream (two tabs) is one watcher, since the first opened."""

    def __init__(self) -> None:
        self._open: dict[int, Watcher] = {}
        self._tokens = itertools.count(1)

    def add(self, watcher: Watcher) -> int:
        token = next(self._tokens)
        self._open[token] = watcher
        return token

    def remove(self, token: int) -> None:
        self._open.pop(token, None)

    def of_org(self, org_id: str) -> dict[str, list[dict[str, Any]]]:
        first: dict[tuple[str, str], Watcher] = {}
        for w in self._open.values():
            key = (w.stream_id, w.account_id)
            if w.org_id == org_id and (key not in first or w.since < first[key].since):
                first[key] = w
        out: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for w in sorted(first.values(), key=lambda w: (w.name.lower(), w.account_id)):
            out[w.stream_id].append({"account_id": w.account_id, "name": w.name, "since": w.since})
        return dict(out)


# ---- the log ----------------------------------------------------------------------------------


class AuditTrail:
    """Appends to each organization's chain, one writer at a time per organization."""

    def __init__(self) -> None:
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.watching = Watching()

    async def append(
        self,
        db: Database,
        *,
        org_id: str,
        at: float,
        actor: Mapping[str, Any],
        action: str,
        camera: Mapping[str, Any] | None = None,
        stream_id: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        async with self._locks[org_id]:
            last = await store.audit_head(db, org_id)
            entry = wire.sealed(
                wire.new_entry(
                    org_id=org_id,
                    seq=last["seq"] + 1 if last else 1,
                    at=at,
                    actor=actor,
                    action=action,
                    camera=camera,
                    stream_id=stream_id,
                    details=details,
                    prev=last["hash"] if last else wire.GENESIS,
                )
            )
            await store.add_audit_entry(db, entry, wire.canonical(entry).decode("utf-8"))
        return entry

    async def append_system_events(
        self, db: Database, org_id: str, cloud_system_id: str, events: list[wire.ManagerEvent]
    ) -> int:
        """Append a connected system's Manager events in order, those after the system's cursor only
        (a resend's events already appended are skipped), the entries and the cursor in one
        transaction. Returns how many were appended."""
        async with self._locks[org_id]:
            system = await store.system_audit_row(db, cloud_system_id)
            if system is None or system["org_id"] != org_id:
                return 0
            fresh = [e for e in events if e.seq > system["audit_seq"]]
            if not fresh:
                return 0
            last = await store.audit_head(db, org_id)
            seq, prev = (last["seq"], last["hash"]) if last else (0, wire.GENESIS)
            rows = []
            for event in fresh:
                seq += 1
                fields = event.entry_fields(system["id"], system["name"])
                entry = wire.sealed(wire.new_entry(org_id=org_id, seq=seq, prev=prev, **fields))
                prev = entry["hash"]
                rows.append((entry, wire.canonical(entry).decode("utf-8")))
            await store.add_system_audit_entries(db, cloud_system_id, rows, fresh[-1].seq)
        return len(fresh)


AUDIT = web.AppKey("audit", AuditTrail)


def setup_audit(app: web.Application) -> None:
    app[AUDIT] = AuditTrail()


def _camera_of(stream: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "serial": stream.get("serial"),
        "system_id": stream.get("system_id"),
        "user_id": stream.get("user_id"),
        "user_name": stream.get("user_name"),
    }


async def record(
    request: web.Request,
    action: str,
    *,
    stream: Mapping[str, Any] | None = None,
    camera: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Append what the signed-in account did in the organization of the path, now (lab time).
    ``stream`` (its metadata) names the camera and the stream; ``camera`` a camera without one."""
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    actor = {"id": account.account_id, "name": account.name, "email": account.email, "role": request.get(ROLE_KEY)}
    return await request.config_dict[AUDIT].append(
        ctx.db,
        org_id=request.match_info["org_id"],
        at=ctx.clock.now(),
        actor=actor,
        action=action,
        camera=camera if camera is not None else (_camera_of(stream) if stream else None),
        stream_id=stream.get("id") if stream else None,
        details=details,
    )


def watched(action: str, meta_of: Callable[[web.Request], Awaitable[dict]]) -> Callable[[Handler], Handler]:
    """Wrap a WebSocket handler that shows a stream (or talks to its camera): while it runs, a live
    view counts among who is watching; when it ends, ``action`` is recorded with ``from`` and ``to``
    (lab time). A request refused before the socket opened (a plain GET, a 4xx) records nothing."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def watching(request: web.Request) -> web.StreamResponse:
            meta = await meta_of(request)
            clock = request.config_dict[APPLIANCE].clock
            trail = request.config_dict[AUDIT]
            account = request[ACCOUNT_KEY]
            since = clock.now()
            token = (
                trail.watching.add(Watcher(meta["org_id"], meta["id"], account.account_id, account.name, since))
                if action == STREAM_VIEWED
                else None
            )
            try:
                response = await handler(request)
            except (web.HTTPException, ClientError):  # refused before any view (no upgrade, a 4xx): nothing to record
                raise
            except BaseException:  # the viewer's connection dropped mid-send, or the appliance stops: it ended now
                await asyncio.shield(record(request, action, stream=meta, details={"from": since, "to": clock.now()}))
                raise
            finally:
                if token is not None:
                    trail.watching.remove(token)
            await record(request, action, stream=meta, details={"from": since, "to": clock.now()})
            return response

        return watching

    return wrap


# ---- reading the log --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    """Live's filters: who (name, e-mail or account id; part of it), what, which camera (serial or
    camera user, part of it), and a time range in lab seconds."""

    actor: str | None = None
    action: str | None = None
    camera: str | None = None
    since: float | None = None
    until: float | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> AuditFilter:
        unknown = set(query) - {"actor", "action", "camera", "from", "to", "limit", "format"}
        if unknown:
            raise InvalidInput(
                f"{min(unknown)}: unknown filter; expected actor, action, camera, from, to", path=min(unknown)
            )
        action = query.get("action") or None
        if action is not None and action not in ACTIONS:
            raise InvalidInput(f"action: expected one of {', '.join(ACTIONS)}", path="action")
        return cls(
            actor=_words(query, "actor"),
            action=action,
            camera=_words(query, "camera"),
            since=_seconds(query, "from"),
            until=_seconds(query, "to"),
        )

    def as_filters(self) -> dict[str, Any]:
        """The keyword arguments of ``store.audit_entries`` and ``store.audit_count``."""
        return {
            "actor": self.actor,
            "action": self.action,
            "camera": self.camera,
            "since": self.since,
            "until": self.until,
        }


def _words(query: Mapping[str, str], name: str) -> str | None:
    value = (query.get(name) or "").strip()
    if len(value) > 200:
        raise InvalidInput(f"{name}: at most 200 characters", path=name)
    return value or None


def _seconds(query: Mapping[str, str], name: str) -> float | None:
    text = (query.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidInput(f"{name}: expected lab time in POSIX seconds, e.g. 1765000000", path=name)
    return value
