"""``bwlab up``: the appliance and the scenario's cameras, with the lab's facts printed (L1).

The appliance is found through the ``bwlab.parts`` entry point (bwlab/parts.py), never imported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from bwlab import lifecycle
from bwlab.apply import apply_scenario
from bwlab.client import ApiError, Session
from bwlab.clock import LabClock, monotonic
from bwlab.parts import ApplianceOptions, PartMissing, ServeAppliance, appliance_server
from bwlab.private_files import write_private
from bwlab.realnet import commands as realnet
from bwlab.realnet import up as realnet_up
from bwlab.scenario import load_scenario
from bwlab.timeline import ExpectationFailed, Timeline, viewing_for

from .common import CliError, Commands, add_camera_media_arguments, default_data_dir, run_net


def register(sub: argparse._SubParsersAction) -> Commands:
    up = sub.add_parser("up", help="run the appliance and the scenario's cameras")
    up.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: the built-in demo)")
    up.add_argument("--port", type=int, default=8443, help="HTTPS port (default 8443)")
    up.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for the lab network: "
        "see README, the demo passwords are public)",
    )
    up.add_argument("--data-dir", type=Path, default=None, help="the lab's data directory")
    up.add_argument("--public-url", default=None, help="URL clients use to reach the appliance")
    up.add_argument("--no-fleet", action="store_true", help="do not start the cameras")
    up.add_argument(
        "--soc-private-targets",
        action="store_true",
        help="let SOC integrations send to the lab network and this machine, over http:// too "
        "(e.g. bwlab soc-receiver); kept until the lab API turns it off",
    )
    up.add_argument(
        "--ntp-port",
        type=int,
        default=0,
        help="UDP port of the lab NTP server serving lab time (default 0: a free port; 123 in the VM)",
    )
    up.add_argument("--no-timeline", action="store_true", help="do not run the scenario's timeline")
    up.add_argument("--no-zeroconf", action="store_true", help="do not advertise the appliance with mDNS")
    add_camera_media_arguments(up)
    up.add_argument("--json", action="store_true", help="print the lab's facts as JSON once ready")
    up.add_argument(
        "--network",
        choices=("loopback", "real"),
        default="loopback",
        help="real (root): cameras in namespaces on a lab bridge, T5 names over DNS and SNI (docs/network.md)",
    )
    up.add_argument("--net-prefix", default=None, help="the real lab network's name prefix (default bwl)")
    up.add_argument("--net-subnet", default="10.77.0.0/24", help="the real lab network's /24 (default 10.77.0.0/24)")
    return {"up": cmd_up}


def _appliance() -> ServeAppliance:
    """The appliance's entry point, or a CLI error saying it is not installed."""
    try:
        return appliance_server()
    except PartMissing as exc:
        raise CliError(str(exc)) from None


async def cmd_up(args: argparse.Namespace) -> int:
    serve = _appliance()
    scenario, source = load_scenario(args.scenario)
    data_dir = (args.data_dir or default_data_dir()).resolve()
    try:
        up_lock = lifecycle.hold(data_dir, "up")  # one `bwlab up` per data directory
    except lifecycle.AlreadyRunning as exc:
        raise CliError(f"another `bwlab up` (pid {exc.pid}) runs with the data directory {data_dir}") from None
    public_url = args.public_url or f"https://localhost:{args.port}"
    net_plan, net_options = None, {}
    try:
        if args.network == "real":  # issue 15: the lab on its own bridge (bwlab/realnet/up.py)
            serials = [c.serial.upper() for system in scenario.systems for c in system.cameras]
            net_plan = await asyncio.to_thread(
                run_net,
                realnet_up.build_for,
                serials,
                args.net_prefix or realnet.default_prefix(),
                args.net_subnet,
                args.port,
            )
            net_options = realnet_up.appliance_options(net_plan)
        options = ApplianceOptions(
            data_dir=data_dir,
            host=args.host,
            port=args.port,
            public_url=public_url,
            zeroconf=not args.no_zeroconf,
            ntp_port=args.ntp_port,
            soc_private_targets=args.soc_private_targets,
            network=net_options,
        )
        clock = LabClock()
        ready, stop = asyncio.Event(), lifecycle.stop_on_signals()
        server = asyncio.create_task(serve(options, clock, ready=ready, stop=stop), name="appliance")
        waiter = asyncio.create_task(ready.wait(), name="appliance ready")
        await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            waiter.cancel()
            try:
                server.result()
            except OSError as exc:
                raise CliError(
                    f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
                    "another program uses the port? choose another with --port"
                ) from None
            return 1
        return await _up_running(args, scenario, source, data_dir, public_url, clock, stop, server, net_plan)
    finally:
        if net_plan is not None:
            await asyncio.to_thread(realnet.teardown, net_plan.prefix)
        up_lock.close()


async def _up_running(args, scenario, source, data_dir, public_url, clock, stop, server, net_plan) -> int:
    ca_path = data_dir / "tls" / "lab-ca.pem"
    token = (data_dir / "lab-token").read_text().strip()
    local_url = f"https://127.0.0.1:{args.port}" if args.host in ("0.0.0.0", "::", "127.0.0.1") else public_url
    facts = {
        "url": local_url,
        "public_url": public_url,
        "lab_token": token,
        "ca_path": str(ca_path),
        "scenario": str(args.scenario) if args.scenario else None,
        "pid": os.getpid(),
        "network_prefix": net_plan.prefix if net_plan else None,
    }
    write_private(data_dir / "lab.json", json.dumps(facts, indent=2))  # 0600: it holds the lab token
    print(f"bwlab: appliance on {public_url} (scenario {source}); building the lab…", file=sys.stderr, flush=True)
    info = await apply_scenario(scenario, local_url, ca_path.read_text(), token)
    fleet_procs: list[subprocess.Popen] = []
    running_fleet = lifecycle.holder(data_dir, "fleet")
    if running_fleet is not None and not args.no_fleet:
        print(
            f"bwlab: a fleet (pid {running_fleet}) already runs this data directory's cameras; "
            "not starting another (it reconnects to this appliance)",
            file=sys.stderr,
            flush=True,
        )
    elif not args.no_fleet:
        cmd = [
            sys.executable,
            "-m",
            "bwlab",
            "fleet",
            "--data-dir",
            str(data_dir),
            "--media",
            args.media,
            "--fragment-frames",
            str(args.fragment_frames),
            "--audio-chunk-frames",
            str(args.audio_chunk_frames),
            "--exit-with-parent",
            str(os.getpid()),
        ]
        if args.scenario:
            cmd.insert(4, str(args.scenario))
        if net_plan is not None:  # one fleet per camera, each in its namespace
            fleet_procs = realnet_up.start_fleets(net_plan, cmd[4:], token)
        else:
            fleet_procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL)]
    _print_lab(info, public_url, token, ca_path, args.json)
    if not args.json and fleet_procs:
        for cam in (c for s in scenario.systems for c in s.cameras if c.taken_out):
            print(
                f"\nReady to stream: {cam.camera_user or cam.serial}'s camera is out of its dock: "
                f"bwlab press {cam.serial} record",
                flush=True,
            )
    timeline = None
    if fleet_procs and scenario.timeline and not args.no_timeline:
        timeline = asyncio.create_task(
            _run_timeline(scenario, info, local_url, ca_path.read_text(), token, clock), name="timeline"
        )
    try:
        await stop.wait()
    finally:
        if timeline is not None:
            timeline.cancel()
            await asyncio.gather(timeline, return_exceptions=True)
        for fleet_proc in fleet_procs:
            fleet_proc.terminate()
        for fleet_proc in fleet_procs:
            try:
                await asyncio.to_thread(fleet_proc.wait, 10)
            except subprocess.TimeoutExpired:
                fleet_proc.kill()
        await server
        print("bwlab: stopped.", file=sys.stderr, flush=True)
    return 0


async def _run_timeline(scenario, info, url: str, ca_pem: str, token: str, clock) -> None:
    """L1/L2: once the fleet runs every camera, carry out the scenario's timeline (faults, walks,
    time travel, expectations), saying what each step did."""
    serials = {c.serial.upper() for system in scenario.systems for c in system.cameras}
    viewing = viewing_for(scenario, [(s.link, s.protected_link, s.link_passphrase) for s in info.systems], ca_pem)
    async with Session(url, ca_pem, token=token) as lab:
        deadline = monotonic() + 120
        while monotonic() < deadline:
            running = {c["serial"] for c in (await lab.get("/api/lab/cameras"))["cameras"] if c["running"]}
            if serials <= running:
                break
            await asyncio.sleep(1.0)

        def said(result) -> None:
            step = result.step
            print(
                f"bwlab timeline: {step.at:g} s {step.action} {step.camera or ''}".rstrip(), file=sys.stderr, flush=True
            )

        try:
            await Timeline(scenario, lab, viewing=viewing, clock=clock, on_step=said).run()
        except (ExpectationFailed, ApiError) as exc:
            print(f"bwlab timeline: {exc}", file=sys.stderr, flush=True)


def _print_lab(info, public_url: str, token: str, ca_path: Path, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "url": public_url,
                    "lab_token": token,
                    "ca_certificate": str(ca_path),
                    "accounts": info.accounts,
                    "systems": [
                        {
                            "id": s.id,
                            "name": s.name,
                            "manager_url": f"{public_url}/manager/#{s.id}",
                            "manager_password": s.admin_password,
                            "fingerprint": s.fingerprint,
                            "link_with_key": s.link,
                            "protected_link_with_key": s.protected_link,
                            "link_passphrase": s.link_passphrase,
                        }
                        for s in info.systems
                    ],
                },
                indent=2,
            ),
            flush=True,
        )
        return
    lines = [
        "",
        "bwlab is up.",
        f"  Live (operators):   {public_url}/live/",
        f"  Manager (admins):   {public_url}/manager/",
        f"  Lab panel:          {public_url}/lab/   (lab token: {token})",
        f"  Lab CA certificate: {public_url}/lab-ca.pem  ({ca_path})",
        "",
        "Accounts:",
    ]
    for a in info.accounts:
        lines.append(f"  {a['email']:<32} password {a['password']:<22} role {a['role']}")
    for s in info.systems:
        lines += [
            "",
            f"System {s.name!r} ({s.id}) — Manager password {s.admin_password}",
            f"  key fingerprint:  {s.fingerprint}",
            f"  link with key:    {s.link}",
        ]
        if s.protected_link:
            lines.append(f"  protected link:   {s.protected_link}")
            lines.append(f"  its passphrase:   {s.link_passphrase}")
    lines += ["", "Stop with Ctrl-C."]
    print("\n".join(lines), flush=True)
