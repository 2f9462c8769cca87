"""The ``bwlab`` command (CONVENTIONS 14).

    bwlab up [SCENARIO] [--port P] [--data-dir D]   run the appliance and the scenario's fleet
    bwlab fleet [SCENARIO] [--url U] [--data-dir D] run a scenario's cameras in this process
    bwlab status [--json] [--url U] [--data-dir D]  the running lab's systems and cameras
    bwlab travel DURATION                           move lab time forward (e.g. 6d, 36h, 90m)
    bwlab press SERIAL BUTTON [GESTURE]             press a camera's button (BUTTON help: the profile's help gesture)
    bwlab talk SERIAL --wav FILE --email E --link L talk-back through a streaming camera (issue 16)
    bwlab dock SERIAL [DOCK BAY] / undock SERIAL    put a camera in a bay or take it out
    bwlab soc-receiver --port P [--secret whsec_…]  receive, verify and print SOC notifications
    bwlab dns [--format hosts|dnsmasq]              the T5 host names pointing at the appliance
    bwlab fault add KIND [TARGET] KEY=VALUE… / list / clear [ID]   inject, list, clear lab faults (L2)
    bwlab doctor [SERIAL] [--json]                  the diagnosis: symptom, cause, fix per camera (L3)
    bwlab pages SERIAL                              the camera's troubleshooting pages (T1)
    bwlab pcap SERIAL [-o FILE]                     the camera's 802.11 frames for Wireshark (L4)
    bwlab move SERIAL X Y [--walk S]                put a camera somewhere on the site (metres)
    bwlab content-destination serve|connection-file|decrypt   the lab's content destination (issue 13)
    bwlab licence show|order N|renew ID --email E   an organization's licences; order or renew (S15)
    bwlab audit export --email E / verify FILE      an organization's audit trail; check its hash chain

A running lab writes ``lab.json`` (URL, lab token, CA path) in its data directory; the other
commands read it from ``--data-dir`` (default ``$BWLAB_DATA_DIR`` or ~/.local/share/bwlab) unless
``--url`` and ``--token`` are given.

One module per purpose (``lab``: up; ``fleet``; ``devices``: status, travel, press, dock,
undock; ``view``; ``soc_receiver``; ``lab_network``: dns, fault, doctor, pages, pcap, move;
``content_destination``; ``scenarios``: test; ``licence``; ``realnet``: net, capture;
``recordings``: recordings, bookmark, category; ``talk``: talk; ``audit``: audit export, verify), each with ``register(subparsers)`` adding its
parsers and returning its commands. ``COMMAND_MODULES`` is the one list of them: a new command
module goes there.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from types import ModuleType

from bwlab.scenario import ScenarioError

from . import (
    audit,
    content_destination,
    devices,
    fleet,
    lab,
    lab_network,
    licence,
    realnet,
    recordings,
    scenarios,
    soc_receiver,
    talk,
    view,
)
from .common import CliError, Commands

COMMAND_MODULES: tuple[ModuleType, ...] = (
    lab,
    fleet,
    devices,
    view,
    soc_receiver,
    lab_network,
    content_destination,
    scenarios,
    licence,
    realnet,
    recordings,  # after content_destination: adds its ``import``
    talk,  # issue 16 item 3
    audit,  # issue 16: bwlab audit export|verify
)
"""The command modules, in the order ``bwlab --help`` lists their commands."""


def build_parser() -> tuple[argparse.ArgumentParser, Commands]:
    """The parser of every command, and the function that runs each."""
    parser = argparse.ArgumentParser(prog="bwlab", description="Body-worn camera live-streaming lab appliance")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)
    commands: Commands = {}
    for module in COMMAND_MODULES:
        commands.update(module.register(sub))
    return parser, commands


def main(argv: list[str] | None = None) -> int:
    parser, commands = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return asyncio.run(commands[args.command](args))
    except (CliError, ScenarioError) as exc:
        print(f"bwlab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
