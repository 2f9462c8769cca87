"""``bwlab fleet``: a scenario's cameras in this process, against a running lab (L1)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bwlab import lifecycle
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from firmware_stub.services import ServiceRoute

from .common import CliError, Commands, add_camera_media_arguments, add_common, default_data_dir, lab_facts


def register(sub: argparse._SubParsersAction) -> Commands:
    fleet = sub.add_parser("fleet", help="run a scenario's cameras in this process")
    fleet.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: the built-in demo)")
    add_camera_media_arguments(fleet)
    fleet.add_argument("--only", default=None, help="comma-separated serials to run (default all)")
    fleet.add_argument(
        "--exit-with-parent",
        type=int,
        default=None,
        metavar="PID",
        help="stop when process PID (the `bwlab up` that started this fleet) ends",
    )
    fleet.add_argument(
        "--network",
        choices=("loopback", "real"),
        default="loopback",
        help="real: the cameras reach the service by its T5 host names (issue 15, docs/network.md)",
    )
    add_common(fleet)
    return {"fleet": cmd_fleet}


async def cmd_fleet(args: argparse.Namespace) -> int:
    if args.exit_with_parent is not None:
        lifecycle.exit_with_parent(args.exit_with_parent)  # `bwlab up` killed: its cameras go too
    data_dir = (args.data_dir or default_data_dir()).resolve()
    fleet_lock = None
    if not args.only:  # one whole fleet per data directory (fleets of some cameras each may share one)
        try:
            fleet_lock = lifecycle.hold(data_dir, "fleet")
        except lifecycle.AlreadyRunning as exc:
            raise CliError(f"a fleet (pid {exc.pid}) already runs the cameras of {data_dir}") from None
    scenario, _ = load_scenario(args.scenario)
    url, token, ca_pem = lab_facts(args)
    fleet = Fleet(
        url=url,
        ca_pem=ca_pem,
        lab_token=token,
        media=args.media,
        fragment_frames=args.fragment_frames,
        audio_chunk_frames=args.audio_chunk_frames,
        route=ServiceRoute() if args.network == "real" else None,
        data_dir=(args.data_dir or default_data_dir()).resolve() / "fleet",
    )  # cameras' storage (issue 13)
    stop = lifecycle.stop_on_signals()
    only = {s.strip().upper() for s in args.only.split(",")} if args.only else None
    try:
        await fleet.start(scenario, only)
        print(f"bwlab fleet: {len(fleet.cameras)} cameras running against {url}", file=sys.stderr, flush=True)
        await stop.wait()
    finally:
        await fleet.close()
        if fleet_lock is not None:
            fleet_lock.close()
    return 0
