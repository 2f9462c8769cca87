"""pcap (L4): ``GET /api/lab/cameras/{serial}/pcap``: the fleet sends the camera's 802.11 frame log
over the fleet link when asked; the appliance writes the pcap with scapy in a thread."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bwlab.wire import fleet_link
from labnet.telemetry import frames_from_list

from ...http import LAB, access
from ..network import LAB_NETWORK
from ..pcap import pcap_bytes

routes = web.RouteTableDef()
PCAP_TIMEOUT = 20.0


@routes.get("/cameras/{serial}/pcap")
@access(LAB)
async def camera_pcap(request: web.Request) -> web.Response:
    """L4: the camera's emulated 802.11 management frames (and EAPOL) as a pcap for Wireshark."""
    serial = request.match_info["serial"].upper()
    result = await request.config_dict[LAB_NETWORK].fleet.ask(
        serial, fleet_link.CameraAction(action="frames"), PCAP_TIMEOUT
    )
    frames = frames_from_list(result.frames or [])
    data = await asyncio.to_thread(pcap_bytes, frames)
    return web.Response(
        body=data,
        content_type="application/vnd.tcpdump.pcap",
        headers={"Content-Disposition": f'attachment; filename="{serial}-80211.pcap"', "X-Frames": str(len(frames))},
    )
