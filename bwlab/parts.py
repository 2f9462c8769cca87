"""The parts ``bwlab up`` runs in its process, found by entry point, never imported (issue 11).

bwlab must run without the appliance package (a fleet host has only ``bwlab``, ``labnet`` and
``firmware_stub``), so no bwlab module imports ``appliance``. The appliance registers itself in
the ``bwlab.parts`` entry-point group (pyproject.toml: ``appliance = "appliance.part:serve_lab"``)
and ``bwlab up`` looks it up with ``importlib.metadata``; without it installed, ``bwlab up``
says so (``PartMissing``). The appliance runs in the same process as ``bwlab up`` because the
scenario's timeline reads the same lab clock that time travel moves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, cast

from bwlab.clock import LabClock
from bwlab.errors import Unavailable

PARTS_GROUP = "bwlab.parts"


class PartMissing(Unavailable):
    """A part ``bwlab`` runs is not installed."""

    code = "part_missing"


@dataclass(frozen=True)
class ApplianceOptions:
    """How ``bwlab up`` asks the appliance to run (see ``appliance.context.ApplianceConfig``)."""

    data_dir: Path
    host: str
    port: int
    public_url: str
    zeroconf: bool
    ntp_port: int | None
    soc_private_targets: bool
    network: Mapping[str, Any] = field(default_factory=dict)
    """The real lab network's settings (``bwlab.realnet.up.appliance_options``), or none."""


class ServeAppliance(Protocol):
    """Run the appliance until ``stop`` is set; set ``ready`` once it answers."""

    def __call__(
        self, options: ApplianceOptions, clock: LabClock, *, ready: asyncio.Event, stop: asyncio.Event
    ) -> Coroutine[Any, Any, None]: ...


def load_part(name: str) -> object:
    """The object the ``bwlab.parts`` entry point ``name`` names; ``PartMissing`` without one."""
    found = [point for point in entry_points(group=PARTS_GROUP) if point.name == name]
    if not found:
        raise PartMissing(
            f"the {name} is not installed: no {name!r} entry point in the {PARTS_GROUP!r} group; "
            "install the bwlab distribution with its appliance (pip install -e . in the source tree)"
        )
    return found[0].load()


def appliance_server() -> ServeAppliance:
    """The appliance's ``serve_lab`` (``appliance/part.py``)."""
    return cast(ServeAppliance, load_part("appliance"))
