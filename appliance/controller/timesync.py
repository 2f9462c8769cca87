"""The system controller's clock (SPEC S1; DESIGN "Time"): it keeps time with NTP.

Settings > System > Date and time names the controller's NTP server (``ntp_server``, ``host`` or
``host:port``); with none set, the controller uses the NTP server the lab network hands out
(the appliance's own, when it runs one), as a controller on DHCP would. Every sync asks the
server with ``ntplib`` and steps the controller's clock to it; the controller's time is what it
gives cameras at docking (they adopt it) and what the Manager shows. An NTP server with an
offset fault therefore skews the controller, and through the dock its cameras (the S1 refusal
in the viewer); an outage or a kiss-o'-death leaves the clock where it was and says why.

Without NTP (no server set, none in the lab, or no answer yet) the controller's clock is lab time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import ntplib
from aiohttp import web

from bwlab.clock import Clock, run_every, system_time

from ..context import APPLIANCE, LAB_NTP_SERVER, SYSTEM_CLOCK_SKEW
from . import store

log = logging.getLogger(__name__)

NTP_POLL = 64.0  # seconds between two syncs of every controller
NTP_TIMEOUT = 1.0


@dataclass
class TimeSyncStatus:
    server: str | None = None
    synced_at: float | None = None
    offset: float | None = None  # what the last good answer said: server time − this box's system time
    stratum: int | None = None
    error: str | None = None
    skew: float = 0.0  # the controller's clock − lab time, after the last step

    def as_dict(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "synced_at": self.synced_at,
            "offset": self.offset,
            "stratum": self.stratum,
            "error": self.error,
            "skew": round(self.skew, 4),
        }


@dataclass
class ControllerClocks:
    """Every controller's clock: lab time plus the step its last NTP sync made."""

    lab: Clock
    status: dict[str, TimeSyncStatus] = field(default_factory=dict)

    def now(self, system_id: str) -> float:
        return self.lab.now() + self.status.get(system_id, TimeSyncStatus()).skew

    def describe(self, system_id: str) -> dict[str, Any]:
        return self.status.get(system_id, TimeSyncStatus()).as_dict()

    async def sync(self, system_id: str, server: tuple[str, int] | None) -> TimeSyncStatus:
        status = self.status.setdefault(system_id, TimeSyncStatus())
        if server is None:
            status.server, status.error = None, "no NTP server: the controller keeps lab time"
            return status
        host, port = server
        status.server = f"{host}:{port}"
        lab_before = self.lab.now() - system_time()
        try:
            stats = await asyncio.to_thread(_query, host, port)
        except (ntplib.NTPException, OSError, ValueError) as exc:  # ValueError: a name the resolver refuses
            status.error = f"no answer from {host}:{port} ({type(exc).__name__})"
            return status
        if abs((self.lab.now() - system_time()) - lab_before) > 1.0:
            # lab time travelled while the server answered: the answer is of before the travel, and
            # stepping to it would set the controller days behind (its docks would hand cameras that
            # time). The clock keeps its step; the sync the travel asks for gives the new time.
            return status
        if stats.stratum == 0:
            code = stats.ref_id.to_bytes(4, "big").decode("ascii", "replace").strip("\0")
            status.error = f"kiss-o'-death {code}: the server refuses to serve time"
            return status
        status.skew = system_time() + stats.offset - self.lab.now()
        status.offset, status.stratum = round(stats.offset, 4), stats.stratum
        status.synced_at, status.error = self.lab.now(), None
        return status


_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def parse_server(text: str | None) -> tuple[str, int] | None:
    """``host`` or ``host:port`` (port 123 by default); None for none."""
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return host, int(port)
    return text, 123


def check_server(text: str) -> None:
    """ValueError unless ``text`` is ``host`` or ``host:port`` with a DNS name or an IPv4 address
    and a port 1–65535: what the Manager stores is what a sync can ask."""
    host, port = parse_server(text) or ("", 0)
    if not 1 <= port <= 65535:
        raise ValueError("ntp_server: the port must be 1 to 65535")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise ValueError("ntp_server: expected a host name or IPv4 address, optionally with :port")


def _query(host: str, port: int) -> ntplib.NTPStats:
    return ntplib.NTPClient().request(host, version=4, port=port, timeout=NTP_TIMEOUT)


def lab_ntp_server(app) -> tuple[str, int] | None:
    """The NTP server the lab network hands out: the appliance's own, when it runs one."""
    where = app.get(LAB_NTP_SERVER)
    return where() if where is not None else None


async def server_of(app, db, system_id: str) -> tuple[str, int] | None:
    settings = await store.settings_json(db, system_id)
    configured = json.loads(settings).get("ntp_server") if settings is not None else None
    return parse_server(configured) or lab_ntp_server(app)


def setup_controller_time(app) -> None:
    """Keep every controller's clock with NTP: at start, every NTP_POLL seconds, after time travel."""

    def skew(system_id: str) -> float:  # what the lab's diagnosis asks (context.SYSTEM_CLOCK_SKEW)
        clocks = app.get(CONTROLLER_CLOCKS)
        return 0.0 if clocks is None else float(clocks.describe(system_id)["skew"])

    app[SYSTEM_CLOCK_SKEW] = skew

    async def ctx(app: web.Application):
        appliance = app[APPLIANCE]
        clocks = app[CONTROLLER_CLOCKS] = ControllerClocks(appliance.clock)

        async def sync_all() -> None:
            for system_id in await store.system_ids(appliance.controller_db):
                await clocks.sync(system_id, await server_of(app, appliance.controller_db, system_id))

        task = asyncio.create_task(run_every(appliance.clock, NTP_POLL, sync_all), name="controller time sync")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(ctx)


CONTROLLER_CLOCKS = web.AppKey("controller_clocks", ControllerClocks)
