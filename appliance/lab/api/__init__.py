"""The lab's own API (/api/lab), handlers by resource: sign-in (``session``), lab time and travel
(``clock``), the lab at a glance (``status``), the fleets' link and the cameras' actions (``fleet``),
faults (``faults``), diagnosis (``diagnosis``), troubleshooting pages (``troubleshooting``), pcap
(``pcap``), the map's site plan (``site``), the trainer's settings (``settings``), and the DNS files
and blocked host names (``dns``, mounted at the root: ``setup_dns``).

Everything but the sign-in needs the lab token: it is the trainers' and the fleet's door to the
physical world, which no cloud account or Manager administrator has.
"""

from __future__ import annotations

from aiohttp import web

from ..fleet import FLEET, FleetLink
from ..network import setup_network
from . import clock, diagnosis, faults, fleet, pcap, session, settings, site, status, troubleshooting
from .clock import travel_lab_time
from .dns import setup_dns

__all__ = ["setup_dns", "setup_lab"]


def setup_lab(app: web.Application) -> None:
    lab = web.Application()
    lab.add_routes(session.routes)  # the Lab panel's sign-in
    lab.add_routes(clock.routes)  # lab time, time travel (L2)
    lab.add_routes(status.routes)
    lab.add_routes(fleet.routes)  # the fleets' link, the cameras' physical actions
    lab.add_routes(site.routes)  # the map's site plan (D9, L4)
    lab.add_routes(settings.routes)  # what the trainer allows (docs/security.md)
    lab.add_routes(faults.routes)  # L2
    lab.add_routes(diagnosis.routes)  # L3, T2-T4
    lab.add_routes(troubleshooting.routes)  # T1
    lab.add_routes(pcap.routes)  # L4
    app[FLEET] = FleetLink()
    setup_network(app, app[FLEET], travel=lambda seconds: travel_lab_time(app, seconds))
    app.add_subapp("/api/lab", lab)

    async def close_fleet_sockets(app: web.Application) -> None:
        link = app[FLEET]
        for ws in list(link.all) + list(link.listeners):
            await ws.close(code=1001, message=b"appliance shutting down")

    app.on_shutdown.append(close_fleet_sockets)
