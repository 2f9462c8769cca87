"""The appliance as a part ``bwlab up`` runs (entry point ``bwlab.parts:appliance``; bwlab/parts.py)."""

from __future__ import annotations

import asyncio

from bwlab.clock import LabClock
from bwlab.parts import ApplianceOptions

from .app import serve
from .context import ApplianceConfig


async def serve_lab(options: ApplianceOptions, clock: LabClock, *, ready: asyncio.Event, stop: asyncio.Event) -> None:
    """Run the appliance with ``bwlab up``'s options until ``stop`` is set."""
    config = ApplianceConfig(
        data_dir=options.data_dir,
        host=options.host,
        port=options.port,
        public_url=options.public_url,
        zeroconf=options.zeroconf,
        ntp_port=options.ntp_port,
        soc_private_targets=options.soc_private_targets,
        **options.network,
    )
    await serve(config, clock, ready=ready, stop=stop)
