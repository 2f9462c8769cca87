"""The ``bwlab`` command (CONVENTIONS 14).

    bwlab up [SCENARIO] [--port P] [--data-dir D]   run the appliance and the scenario's fleet
    bwlab fleet [SCENARIO] [--url U] [--data-dir D] run a scenario's cameras in this process
    bwlab status [--json] [--url U] [--data-dir D]  the running lab's systems and cameras
    bwlab travel DURATION                           move lab time forward (e.g. 6d, 36h, 90m)
    bwlab press SERIAL BUTTON [GESTURE]             press a camera's button (BUTTON help: the profile's help gesture)
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

A running lab writes ``lab.json`` (URL, lab token, CA path) in its data directory; the other
commands read it from ``--data-dir`` (default ``$BWLAB_DATA_DIR`` or ~/.local/share/bwlab) unless
``--url`` and ``--token`` are given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from bwlab import lifecycle, regression
from bwlab.clock import isoformat
from bwlab import help_commands, recordings_commands
from bwlab.content_destination import commands as content_destination
from bwlab.realnet import commands as realnet

log = logging.getLogger("bwlab")


class CliError(Exception):
    """A user error: printed as ``bwlab: <message>`` with exit status 2."""


def default_data_dir() -> Path:
    env = os.environ.get("BWLAB_DATA_DIR")
    if env:
        return Path(env)
    return Path.home() / ".local" / "share" / "bwlab"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bwlab", description="Body-worn camera live-streaming lab appliance")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--data-dir", type=Path, default=None, help="the lab's data directory")
        p.add_argument("--url", default=None, help="the appliance's URL (default: from the data directory's lab.json)")
        p.add_argument("--token", default=None, help="the lab token (default: from the data directory)")
        p.add_argument("--json", action="store_true", help="print JSON")

    up = sub.add_parser("up", help="run the appliance and the scenario's cameras")
    up.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: the built-in demo)")
    up.add_argument("--port", type=int, default=8443, help="HTTPS port (default 8443)")
    up.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for the lab network: "
                         "see README, the demo passwords are public)")
    up.add_argument("--data-dir", type=Path, default=None, help="the lab's data directory")
    up.add_argument("--public-url", default=None, help="URL clients use to reach the appliance")
    up.add_argument("--no-fleet", action="store_true", help="do not start the cameras")
    up.add_argument("--soc-private-targets", action="store_true",
                    help="let SOC integrations send to the lab network and this machine, over http:// too "
                         "(e.g. bwlab soc-receiver); kept until the lab API turns it off")
    up.add_argument("--ntp-port", type=int, default=0,
                    help="UDP port of the lab NTP server serving lab time (default 0: a free port; 123 in the VM)")
    up.add_argument("--no-timeline", action="store_true", help="do not run the scenario's timeline")
    up.add_argument("--no-zeroconf", action="store_true", help="do not advertise the appliance with mDNS")
    up.add_argument("--media", choices=("live", "shared"), default="live",
                    help="cameras encode live (default) or replay a shared pre-encoded source")
    up.add_argument("--fragment-frames", type=int, choices=(1, 2, 3), default=2,
                    help="video frames per media fragment at 15 fps: 1 = 67 ms, 2 = 133 ms (default), 3 = 200 ms")
    up.add_argument("--json", action="store_true", help="print the lab's facts as JSON once ready")
    up.add_argument("--network", choices=("loopback", "real"), default="loopback",
                    help="real (root): cameras in namespaces on a lab bridge, T5 names over DNS and SNI (docs/network.md)")
    up.add_argument("--net-prefix", default=None, help="the real lab network's name prefix (default bwl)")
    up.add_argument("--net-subnet", default="10.77.0.0/24", help="the real lab network's /24 (default 10.77.0.0/24)")

    fleet = sub.add_parser("fleet", help="run a scenario's cameras in this process")
    fleet.add_argument("scenario", nargs="?", type=Path, help="scenario TOML file (default: the built-in demo)")
    fleet.add_argument("--media", choices=("live", "shared"), default="live")
    fleet.add_argument("--fragment-frames", type=int, choices=(1, 2, 3), default=2,
                       help="video frames per media fragment at 15 fps: 1 = 67 ms, 2 = 133 ms (default), 3 = 200 ms")
    fleet.add_argument("--only", default=None, help="comma-separated serials to run (default all)")
    fleet.add_argument("--exit-with-parent", type=int, default=None, metavar="PID",
                       help="stop when process PID (the `bwlab up` that started this fleet) ends")
    fleet.add_argument("--network", choices=("loopback", "real"), default="loopback",
                       help="real: the cameras reach the service by its T5 host names (issue 15, docs/network.md)")
    common(fleet)

    status = sub.add_parser("status", help="the running lab's systems and cameras")
    common(status)

    travel = sub.add_parser("travel", help="move lab time forward")
    travel.add_argument("duration", help="e.g. 90s, 45m, 36h, 6d, or a number of seconds")
    common(travel)

    press = sub.add_parser("press", help="press a camera's button")
    press.add_argument("serial")
    press.add_argument("button", choices=("record", "function", "top", "help"))
    press.add_argument("gesture", nargs="?", choices=("press", "double", "long"), default="press")
    common(press)

    dock = sub.add_parser("dock", help="put a camera in a dock bay")
    dock.add_argument("serial")
    dock.add_argument("dock", nargs="?")
    dock.add_argument("bay", nargs="?", type=int)
    common(dock)

    undock = sub.add_parser("undock", help="take a camera out of its dock")
    undock.add_argument("serial")
    common(undock)

    view = sub.add_parser("view", help="watch a stream as an operator: decrypt, decode, measure latency")
    view.add_argument("--email", required=True, help="an operator account of the organization")
    view.add_argument("--password", default=None, help="its password (default: $BWLAB_PASSWORD)")
    view.add_argument("--link", required=True, help="the link with key (plain or password-protected)")
    view.add_argument("--passphrase", default=None, help="the link's passphrase, if protected")
    view.add_argument("--stream", default=None, help="stream id (default: the first live stream)")
    view.add_argument("--user", default=None, help="wait for a live stream of this camera user")
    view.add_argument("--seconds", type=float, default=10.0, help="how long to watch live (default 10)")
    view.add_argument("--recording", action="store_true", help="play a recording instead of live")
    view.add_argument("--wait", type=float, default=30.0, help="how long to wait for a live stream")
    common(view)

    soc = sub.add_parser("soc-receiver", help="receive SOC notifications: verify their signatures and print them")
    soc.add_argument("--port", type=int, required=True, help="port to listen on")
    soc.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    soc.add_argument("--secret", default=None, help="the integration's signing secret, whsec_… (default: accept unsigned)")
    soc.add_argument("--tls-cert", type=Path, default=None, help="serve HTTPS with this certificate (PEM)")
    soc.add_argument("--tls-key", type=Path, default=None, help="the certificate's private key (PEM)")
    soc.add_argument("--clock-offset", type=float, default=0.0,
                     help="seconds the lab clock runs ahead of real time (bwlab status prints it)")
    soc.add_argument("--json", action="store_true", help="print one JSON object per notification")

    dns = sub.add_parser("dns", help="the service's host names (T5) as a hosts file or a dnsmasq snippet")
    dns.add_argument("--format", choices=("hosts", "dnsmasq"), default="hosts")
    dns.add_argument("--address", default=None, help="the appliance address to point them at (default: as reached)")
    common(dns)

    # ---- the lab network (L2-L4) ----
    fault = sub.add_parser("fault", help="inject, list and clear lab faults (L2)")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True)
    fault_add = fault_sub.add_parser("add", help="inject a fault, e.g. `bwlab fault add ap AP-1 security=wpa3-only`")
    fault_add.add_argument("kind", help="ap, cell, sim, link, clock_skew, ntp, travel (`bwlab fault list` explains), "
                                        "or hostname NAME (a T5 host name the lab stops answering for); on the "
                                        "real lab network: firewall, dns, bandwidth, loss (docs/network.md)")
    fault_add.add_argument("changes", nargs="*", metavar="[TARGET] KEY=VALUE",
                           help="the AP, cell or camera (not for ntp and travel), then what changes")
    fault_add.add_argument("--id", default=None, help="name the fault, to clear it by name")
    common(fault_add)
    fault_list = fault_sub.add_parser("list", help="the faults injected now and the kinds there are")
    common(fault_list)
    fault_clear = fault_sub.add_parser("clear", help="clear one fault, or all")
    fault_clear.add_argument("id", nargs="?", help="the fault to clear (default: all)")
    common(fault_clear)

    doctor = sub.add_parser("doctor", help="the diagnosis of every camera (or one): symptom, cause and fix (L3)")
    doctor.add_argument("serial", nargs="?")
    doctor.add_argument("--all", action="store_true", help="list cameras with no finding too")
    common(doctor)

    pages = sub.add_parser("pages", help="a camera's troubleshooting pages (T1; it must be in the mode)")
    pages.add_argument("serial")
    common(pages)

    pcap = sub.add_parser("pcap", help="a camera's emulated 802.11 frames as a pcap for Wireshark (L4)")
    pcap.add_argument("serial")
    pcap.add_argument("-o", "--output", type=Path, default=None, help="file to write (default SERIAL-80211.pcap)")
    common(pcap)

    move = sub.add_parser("move", help="put a camera somewhere on the site, in metres east/north of the origin")
    move.add_argument("serial")
    move.add_argument("x", type=float)
    move.add_argument("y", type=float)
    move.add_argument("--walk", type=float, default=0.0, help="walk there in this many seconds")
    common(move)

    content_destination.add_parser(sub)
    regression.add_parser(sub)  # bwlab test
    licence = sub.add_parser("licence", help="an organization's licences: show, order, renew (S15; admins order)")
    licence.add_argument("action", choices=("show", "order", "renew"))
    licence.add_argument("what", nargs="?", default=None,
                         help="order: the quantity of licences; renew: the licence id (default: the latest subscription)")
    licence.add_argument("--term", type=int, default=12, help="term in months: 1, 12, 24 or 36 (default 12)")
    licence.add_argument("--quantity", type=int, default=None, help="renew: another quantity than the renewed licence's")
    licence.add_argument("--email", required=True, help="an account of the organization (an admin to order or renew)")
    licence.add_argument("--password", default=None, help="its password (default: $BWLAB_PASSWORD)")
    licence.add_argument("--org", default=None, help="the organization's name or id (default: the account's only one)")
    common(licence)
    realnet.add_parser(sub)  # bwlab net … (issue 15)
    recordings_commands.add_import_parser(sub.choices["content-destination"], common)  # issue 13
    recordings_commands.add_recordings_parser(sub, common)
    return parser


def parse_duration(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not m:
        raise CliError(f"duration {text!r}: expected a number with an optional unit s, m, h or d (e.g. 6d)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def lab_facts(args: argparse.Namespace, need_token: bool = True) -> tuple[str, str, str]:
    """(url, lab token, CA PEM) from the flags or the data directory's lab.json."""
    data_dir = args.data_dir or default_data_dir()
    facts_path = data_dir / "lab.json"
    facts = {}
    if facts_path.exists():
        try:
            facts = json.loads(facts_path.read_text())
        except ValueError:
            raise CliError(f"{facts_path}: not valid JSON; remove it and run `bwlab up` again") from None
    url = args.url or facts.get("url")
    token = args.token or os.environ.get("BWLAB_TOKEN") or facts.get("lab_token")
    ca_path = facts.get("ca_path") or str(data_dir / "tls" / "lab-ca.pem")
    if url is None:
        url = _discover()
    if url is None:
        raise CliError(f"no running lab found: {facts_path} does not exist and none answered on mDNS; "
                       "start one with `bwlab up` or give --url and --token")
    if token is None and need_token:
        raise CliError("no lab token: give --token, set BWLAB_TOKEN, or use the --data-dir of the running lab")
    try:
        ca_pem = Path(ca_path).read_text()
    except OSError:
        raise CliError(f"{ca_path}: cannot read the lab CA certificate; download it from {url}/lab-ca.pem") from None
    return url, token, ca_pem


def _discover() -> str | None:
    try:
        from bwlab.discovery import discover_url
    except ImportError:
        return None
    return discover_url(timeout=2.0)


# ---------------------------------------------------------------- commands


async def cmd_up(args: argparse.Namespace) -> int:
    from appliance.app import serve
    from appliance.context import ApplianceConfig
    from bwlab.clock import LabClock
    from bwlab.scenario import load_scenario

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
            from bwlab.realnet import up as realnet_up

            serials = [c.serial.upper() for system in scenario.systems for c in system.cameras]
            net_plan = await asyncio.to_thread(_net, realnet_up.build_for, serials,
                                               args.net_prefix or realnet.default_prefix(), args.net_subnet, args.port)
            net_options = realnet_up.appliance_options(net_plan)
        config = ApplianceConfig(data_dir=data_dir, host=args.host, port=args.port, public_url=public_url,
                                 zeroconf=not args.no_zeroconf, ntp_port=args.ntp_port,
                                 soc_private_targets=args.soc_private_targets, **net_options)
        clock = LabClock()
        ready, stop = asyncio.Event(), lifecycle.stop_on_signals()
        server = asyncio.create_task(serve(config, clock, ready=ready, stop=stop), name="appliance")
        waiter = asyncio.create_task(ready.wait(), name="appliance ready")
        await asyncio.wait({server, waiter}, return_when=asyncio.FIRST_COMPLETED)
        if server.done():
            waiter.cancel()
            try:
                server.result()
            except OSError as exc:
                raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; "
                               "another program uses the port? choose another with --port") from None
            return 1
        return await _up_running(args, scenario, source, data_dir, public_url, clock, stop, server, net_plan)
    finally:
        if net_plan is not None:
            await asyncio.to_thread(realnet.teardown, net_plan.prefix)
        up_lock.close()


async def _up_running(args, scenario, source, data_dir, public_url, clock, stop, server, net_plan) -> int:
    from bwlab.apply import apply_scenario
    from bwlab.private_files import write_private

    ca_path = data_dir / "tls" / "lab-ca.pem"
    token = (data_dir / "lab-token").read_text().strip()
    local_url = f"https://127.0.0.1:{args.port}" if args.host in ("0.0.0.0", "::", "127.0.0.1") else public_url
    facts = {"url": local_url, "public_url": public_url, "lab_token": token, "ca_path": str(ca_path),
             "scenario": str(args.scenario) if args.scenario else None, "pid": os.getpid(),
             "network_prefix": net_plan.prefix if net_plan else None}
    write_private(data_dir / "lab.json", json.dumps(facts, indent=2))  # 0600: it holds the lab token
    print(f"bwlab: appliance on {public_url} (scenario {source}); building the lab…", file=sys.stderr, flush=True)
    info = await apply_scenario(scenario, local_url, ca_path.read_text(), token)
    fleet_procs: list[subprocess.Popen] = []
    running_fleet = lifecycle.holder(data_dir, "fleet")
    if running_fleet is not None and not args.no_fleet:
        print(f"bwlab: a fleet (pid {running_fleet}) already runs this data directory's cameras; "
              "not starting another (it reconnects to this appliance)", file=sys.stderr, flush=True)
    elif not args.no_fleet:
        cmd = [sys.executable, "-m", "bwlab", "fleet", "--data-dir", str(data_dir), "--media", args.media,
               "--fragment-frames", str(args.fragment_frames), "--exit-with-parent", str(os.getpid())]
        if args.scenario:
            cmd.insert(4, str(args.scenario))
        if net_plan is not None:  # one fleet per camera, each in its namespace
            from bwlab.realnet.up import start_fleets

            fleet_procs = start_fleets(net_plan, cmd[4:], token)
        else:
            fleet_procs = [subprocess.Popen(cmd, stdin=subprocess.DEVNULL)]
    _print_lab(info, public_url, token, ca_path, args.json)
    if not args.json and fleet_procs:
        for cam in (c for s in scenario.systems for c in s.cameras if c.taken_out):
            print(f"\nReady to stream: {cam.camera_user or cam.serial}'s camera is out of its dock: "
                  f"bwlab press {cam.serial} record", flush=True)
    timeline = None
    if fleet_procs and scenario.timeline and not args.no_timeline:
        timeline = asyncio.create_task(_run_timeline(scenario, info, local_url, ca_path.read_text(), token, clock),
                                       name="timeline")
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
    from bwlab.client import ApiError, Session
    from bwlab.clock import monotonic
    from bwlab.timeline import ExpectationFailed, Timeline, viewing_for

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
            print(f"bwlab timeline: {step.at:g} s {step.action} {step.camera or ''}".rstrip(), file=sys.stderr, flush=True)

        try:
            await Timeline(scenario, lab, viewing=viewing, clock=clock, on_step=said).run()
        except (ExpectationFailed, ApiError) as exc:
            print(f"bwlab timeline: {exc}", file=sys.stderr, flush=True)


def _print_lab(info, public_url: str, token: str, ca_path: Path, as_json: bool) -> None:
    if as_json:
        print(json.dumps({
            "url": public_url, "lab_token": token, "ca_certificate": str(ca_path),
            "accounts": info.accounts,
            "systems": [{"id": s.id, "name": s.name, "manager_url": f"{public_url}/manager/#{s.id}",
                         "manager_password": s.admin_password, "fingerprint": s.fingerprint, "link_with_key": s.link,
                         "protected_link_with_key": s.protected_link, "link_passphrase": s.link_passphrase}
                        for s in info.systems],
        }, indent=2), flush=True)
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
        lines += ["", f"System {s.name!r} ({s.id}) — Manager password {s.admin_password}",
                  f"  key fingerprint:  {s.fingerprint}",
                  f"  link with key:    {s.link}"]
        if s.protected_link:
            lines.append(f"  protected link:   {s.protected_link}")
            lines.append(f"  its passphrase:   {s.link_passphrase}")
    lines += ["", "Stop with Ctrl-C."]
    print("\n".join(lines), flush=True)


async def cmd_fleet(args: argparse.Namespace) -> int:
    from bwlab.scenario import load_scenario
    from firmware_stub.fleet import Fleet
    from firmware_stub.services import ServiceRoute

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
    fleet = Fleet(url=url, ca_pem=ca_pem, lab_token=token, media=args.media, fragment_frames=args.fragment_frames,
                  route=ServiceRoute() if args.network == "real" else None,
                  data_dir=(args.data_dir or default_data_dir()).resolve() / "fleet")  # cameras' storage (issue 13)
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


async def _lab_call(args: argparse.Namespace, method: str, path: str, body=None):
    from bwlab.client import ApiError, Session

    url, token, ca_pem = lab_facts(args)
    async with Session(url, ca_pem, token=token) as s:
        try:
            return await s.request(method, path, body)
        except ApiError as exc:
            raise CliError(f"{exc.message} ({exc.code})") from None
        except OSError as exc:
            raise CliError(f"cannot reach the lab at {url}: {exc}") from None


async def cmd_status(args: argparse.Namespace) -> int:
    status = await _lab_call(args, "GET", "/api/lab/status")
    if realnet.running_prefix(args.data_dir or default_data_dir()):  # issue 15: namespace, MAC, address
        from bwlab.realnet.up import annotate_status

        status = annotate_status(status, realnet.running_prefix(args.data_dir or default_data_dir()))
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"lab time {isoformat(status['lab_time'])} (offset {status['clock_offset']:.0f} s)  {status['url']}")
    for s in status["systems"]:
        print(f"\nsystem {s['name']} ({s['id']}): {'connected' if s['connected'] else s['connection_state']}"
              f"{' to ' + s['organization'] if s.get('organization') else ''}")
        for c in s["cameras"]:
            where = f"{c['dock']}/{c['bay']}" if c["docked"] else "out of dock"
            cert = ("valid until " + isoformat(c["cert_not_after"])) if c["cert_valid"] else (
                "EXPIRED" if c["cert_not_after"] else "none")
            print(f"  {c['serial']}  {c['model']}  {c['camera_user'] or '-':<16} {where:<12} cert {cert}"
                  f"  stream {c['stream'] or '-'}"
                  + (f"  {c['network']['ip']} {c['network']['mac']} {c['network']['netns']}" if c.get("network") else ""))
    return 0


async def cmd_travel(args: argparse.Namespace) -> int:
    result = await _lab_call(args, "POST", "/api/lab/time/travel", {"seconds": parse_duration(args.duration)})
    print(json.dumps(result) if args.json else f"lab time is now {isoformat(result['lab_time'])}")
    return 0


async def cmd_press(args: argparse.Namespace) -> int:
    if args.button == "help":  # issue 16: the help gesture of the camera's profile
        try:
            return await help_commands.press_help(args, _lab_call)
        except help_commands.HelpCommandError as exc:
            raise CliError(str(exc)) from None
    result = await _lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions",
                             {"action": "press", "button": args.button, "gesture": args.gesture})
    ignored = (result.get("press") or {}).get("ignored")
    if args.json:
        print(json.dumps(result, indent=2))
    elif ignored:
        print(f"{args.serial}: {args.button} {args.gesture} did nothing: {ignored['message']} ({ignored['code']})",
              file=sys.stderr)
    else:
        print(f"{args.serial}: {args.button} {args.gesture}")
    return 1 if ignored else 0


async def cmd_dock(args: argparse.Namespace) -> int:
    body = {"action": "dock", "dock": args.dock, "bay": args.bay}
    result = await _lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", body)
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: docked")
    return 0


async def cmd_undock(args: argparse.Namespace) -> int:
    result = await _lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", {"action": "undock"})
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: out of the dock")
    return 0


async def cmd_view(args: argparse.Namespace) -> int:
    """The reference viewer (issue 3): refuses with the reason on S1 clock differences."""
    from bwlab.viewer import ClockMismatch, Viewer
    from bwlab.wire import envelope

    url, _token, ca_pem = lab_facts(args, need_token=False)
    password = args.password or os.environ.get("BWLAB_PASSWORD")
    if not password:
        raise CliError("--password (or $BWLAB_PASSWORD): the account's password is required")
    try:
        viewer = Viewer(url, ca_pem, email=args.email, password=password, link=args.link, passphrase=args.passphrase)
    except envelope.PassphraseRequired:
        raise CliError("--passphrase: this link with key is password-protected") from None
    except envelope.WrongPassphrase:
        raise CliError("--passphrase: the passphrase does not open this link with key") from None
    except envelope.EnvelopeError as exc:
        raise CliError(f"--link: {exc}") from None
    async with viewer:
        if args.stream:
            stream_id = args.stream
        elif args.recording:
            recorded = await viewer.streams("recorded")
            if not recorded:
                raise CliError("no recordings in the last 24 hours")
            stream_id = recorded[0]["id"]
        else:
            try:
                stream_id = (await viewer.wait_for_stream(args.wait, args.user))["id"]
            except TimeoutError:
                raise CliError(f"no live stream{' of ' + args.user if args.user else ''} within {args.wait:.0f} s") from None
        try:
            report = await viewer.watch(stream_id, seconds=None if args.recording else args.seconds,
                                        recording=args.recording)
        except ClockMismatch as exc:
            raise CliError(str(exc)) from None
    result = report.as_dict()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        print(f"stream {stream_id} ({report.user_name}): {report.video_frames} video frames, "
              f"{report.audio_frames} audio frames, {report.chunks} chunks"
              + (f"; glass-to-glass p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms" if lat["p50"] is not None else ""))
    return 0


async def cmd_soc_receiver(args: argparse.Namespace) -> int:
    """S12: a SOC's receiving end; runs until interrupted."""
    import ssl

    from aiohttp import web

    from bwlab.soc_receiver import OffsetClock, SocReceiver, printer
    from bwlab.wire.webhooks import secret_key

    if (args.tls_cert is None) != (args.tls_key is None):
        raise CliError("--tls-cert and --tls-key go together")
    if args.secret is not None:
        try:
            secret_key(args.secret)
        except ValueError as exc:
            raise CliError(f"--secret: {exc}") from None
    receiver = SocReceiver(args.secret, OffsetClock(args.clock_offset),
                           printer(args.json, lambda line: print(line, flush=True)))
    context = None
    if args.tls_cert is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            raise CliError(f"--tls-cert/--tls-key: {exc}") from None
    runner = web.AppRunner(receiver.app(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, args.host, args.port, ssl_context=context)
        try:
            await site.start()
        except OSError as exc:
            raise CliError(f"cannot listen on {args.host}:{args.port}: {exc}") from None
        scheme = "https" if context else "http"
        print(f"bwlab soc-receiver: listening on {scheme}://{args.host}:{args.port}/ "
              f"({'verifying signatures' if args.secret else 'accepting unsigned notifications'})",
              file=sys.stderr, flush=True)
        stop = lifecycle.stop_on_signals()
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


async def cmd_dns(args: argparse.Namespace) -> int:
    """T5: the host names for /etc/hosts or dnsmasq, pointing at the appliance."""
    path = "/api/lab/dns/hosts" if args.format == "hosts" else "/api/lab/dns/dnsmasq.conf"
    if args.address:
        from urllib.parse import quote

        path += "?address=" + quote(args.address)
    text = await _lab_call(args, "GET", path)
    if args.json:
        print(json.dumps({"format": args.format, "text": text}))
    else:
        sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------- the lab network (L2-L4)

BLOCKED_HOSTS = "/api/lab/faults/blocked-hosts"
_TEXT_KEYS = {"ssid", "password", "security", "country", "band", "state", "iccid", "pin", "operator", "apn",
              "mode", "kiss_code"}


def parse_changes(kind: str, words: list[str]) -> tuple[str | None, dict]:
    """``[TARGET] KEY=VALUE…`` as (target, changes); values are JSON (numbers, true, [x, y]) except
    for keys that hold text (SSIDs, passwords, PINs, ICCIDs, modes)."""
    target = None
    if words and "=" not in words[0]:
        target, words = words[0], words[1:]
    changes: dict = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise CliError(f"{word!r}: expected KEY=VALUE (e.g. security=wpa3-only, latency_ms=200)")
        if key in _TEXT_KEYS:
            changes[key] = value
            continue
        try:
            changes[key] = json.loads(value)
        except ValueError:
            changes[key] = value
    if not changes:
        raise CliError(f"a {kind} fault needs at least one KEY=VALUE")
    return target, changes


async def cmd_fault(args: argparse.Namespace) -> int:
    if args.fault_command == "add" and args.kind in realnet.FAULT_KINDS:  # packets on the real lab network
        fault = _net(realnet.add_fault, args.kind, *parse_changes(args.kind, args.changes), args.id)
        print(json.dumps(fault, indent=2) if args.json else f"{fault['id']}: {fault['summary']}")
        return 0
    if args.fault_command == "clear" and (args.id or "").startswith("net-"):
        cleared = _net(realnet.clear_faults, args.id)
        print(json.dumps({"cleared": cleared}) if args.json else f"cleared: {', '.join(cleared)}")
        return 0
    if args.fault_command == "add" and args.kind == "hostname":  # T5: the lab blocks a host name
        if len(args.changes) != 1:
            raise CliError("bwlab fault add hostname NAME: one of the service's host names (`bwlab dns` lists them)")
        result = await _lab_call(args, "POST", BLOCKED_HOSTS, {"hostname": args.changes[0]})
        print(json.dumps(result) if args.json else f"blocked: {', '.join(result['blocked'])}")
        return 0
    if args.fault_command == "add":
        target, changes = parse_changes(args.kind, args.changes)
        body = {"kind": args.kind, "set": changes}
        if target is not None:
            body["target"] = target
        if args.id:
            body["id"] = args.id
        fault = await _lab_call(args, "POST", "/api/lab/faults", body)
        print(json.dumps(fault, indent=2) if args.json else f"{fault['id']}: {fault['summary']}")
        return 0
    if args.fault_command == "clear":
        path = "/api/lab/faults" + (f"/{args.id}" if args.id else "")
        result = await _lab_call(args, "DELETE", path)
        if not args.id:
            unblocked = await _lab_call(args, "GET", BLOCKED_HOSTS)
            await _lab_call(args, "DELETE", BLOCKED_HOSTS)
            result["cleared"] += [f"hostname {name}" for name in unblocked["blocked"]]
            result["cleared"] += _net(realnet.clear_faults, None)  # the real lab network's, if one runs
        print(json.dumps(result) if args.json else f"cleared: {', '.join(result['cleared']) or 'nothing'}")
        return 0
    listing = await _lab_call(args, "GET", "/api/lab/faults")
    listing["network_faults"] = _net(realnet.list_faults)  # packets on the real lab network (issue 15)
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for f in listing["faults"] + listing["network_faults"]:
        print(f"{f['id']:<12} {f['summary']}{'' if f.get('reversible', True) else '  (lab time does not go back)'}")
    for name in listing.get("blocked_hosts") or []:
        print(f"{'hostname':<12} {name} blocked (clear all to unblock)")
    if not listing["faults"] and not listing.get("blocked_hosts") and not listing["network_faults"]:
        print("no faults injected")
    ntp = listing.get("ntp")
    if ntp:
        print(f"\nNTP server udp {ntp['host'] or '*'}:{ntp['port']}: {ntp['mode']}, offset {ntp['offset_s']:+g} s")
    print("\nkinds:")
    for kind, what in listing["kinds"].items():
        print(f"  {kind:<11} {what}")
    return 0


async def cmd_doctor(args: argparse.Namespace) -> int:
    """L3: the manual's troubleshooting tables applied to every camera."""
    systems: list = []
    if args.serial:
        cameras = [await _lab_call(args, "GET", f"/api/lab/cameras/{args.serial.upper()}/diagnosis")]
    else:
        report = await _lab_call(args, "GET", "/api/lab/diagnosis")
        systems, cameras = report["systems"], report["cameras"]
    if args.json:
        print(json.dumps({"systems": systems, "cameras": cameras}, indent=2))
        return 0
    shown = 0
    for system in systems:
        for f in system["findings"]:
            shown += 1
            print(f"system {system['name']} ({system['id']})\n  {f['code']:<15} {f['symptom']}\n"
                  f"  {'':<15} cause: {f['cause']}\n  {'':<15} fix:   {f['fix']}")
    for cam in cameras:
        press = cam.get("last_press") or {}
        ignored = press.get("ignored")
        if not cam["findings"] and not ignored and not (args.all or args.serial):
            continue
        shown += 1
        print(f"{cam['serial']} ({cam['model']}){'' if cam['reporting'] else '  [not running]'}")
        for f in cam["findings"]:
            print(f"  {f['code']:<15} {f['symptom']}\n  {'':<15} cause: {f['cause']}\n  {'':<15} fix:   {f['fix']}")
            for h in f.get("hostnames") or []:  # T2 row 5: which T5 name, as the camera saw it
                print(f"  {'':<15} not reached: {h['hostname']} port {h['port']} (T5 row: {h['t5_row']}; {h['observed']})")
        if ignored:
            print(f"  {'last press':<15} {press['button']} {press['gesture']} did nothing\n"
                  f"  {'':<15} why:   {ignored['message']} ({ignored['code']})")
        elif not cam["findings"]:
            print("  no problem found")
    if not shown:
        print("no system or camera shows a problem the manual's troubleshooting tables name")
    return 0


async def cmd_pages(args: argparse.Namespace) -> int:
    result = await _lab_call(args, "GET", f"/api/lab/cameras/{args.serial.upper()}/troubleshooting")
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for page in result["pages"]:
        marker = "  <- shown" if page["number"] == result["page"] else ""
        print(f"page {page['number']} ({page['title']}){marker}")
        for f in page["fields"]:
            print(f"  {f['label']:<24} {f['value'] if f['value'] is not None else ''}")
    return 0


async def cmd_pcap(args: argparse.Namespace) -> int:
    from bwlab.client import Session

    url, token, ca_pem = lab_facts(args)
    serial = args.serial.upper()
    out = args.output or Path(f"{serial}-80211.pcap")
    async with Session(url, ca_pem, token=token) as s:
        async with s.http.get(f"{url}/api/lab/cameras/{serial}/pcap", headers=s.headers(), ssl=s.ssl) as r:
            if r.status != 200:
                error = (await r.json()).get("error", {})
                raise CliError(f"{error.get('message', r.reason)} ({error.get('code', r.status)})")
            data, frames = await r.read(), r.headers.get("X-Frames", "?")
    await asyncio.to_thread(out.write_bytes, data)
    print(json.dumps({"file": str(out), "frames": int(frames), "bytes": len(data)}) if args.json
          else f"{out}: {frames} frames ({len(data)} bytes); open it with Wireshark")
    return 0


async def cmd_move(args: argparse.Namespace) -> int:
    body = {"action": "move", "position": [args.x, args.y], "seconds": args.walk or None}
    result = await _lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", body)
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: {'walking' if args.walk else 'moved'} "
          f"to ({args.x:g}, {args.y:g})")
    return 0


async def cmd_content_destination(args: argparse.Namespace) -> int:
    if args.cd_command == "import":  # the Manager's side (issue 13): recordings_commands
        url, token, ca_pem = lab_facts(args)
        facts_path = (args.data_dir or default_data_dir()) / "lab.json"
        scenario = json.loads(facts_path.read_text()).get("scenario") if facts_path.exists() else None
        try:
            return await recordings_commands.cmd_import(args, url, token, ca_pem, scenario)
        except recordings_commands.RecordingsCommandError as exc:
            raise CliError(str(exc)) from None
    try:
        return await content_destination.run(args, getattr(args, "data_dir", None) or default_data_dir())
    except content_destination.CommandError as exc:
        raise CliError(str(exc)) from None


async def cmd_licence(args: argparse.Namespace) -> int:
    """S15: where the organization's licence stands; an admin orders or renews licences."""
    from bwlab.client import ApiError, Session

    url, _token, ca_pem = lab_facts(args, need_token=False)
    password = args.password or os.environ.get("BWLAB_PASSWORD")
    if not password:
        raise CliError("--password (or $BWLAB_PASSWORD): the account's password is required")
    async with Session(url, ca_pem) as s:
        try:
            await s.sign_in_cloud(args.email, password)
            orgs = (await s.get("/api/cloud/me"))["organizations"]
            chosen = [o for o in orgs if args.org in (None, o["id"], o["name"])]
            if len(chosen) != 1:
                names = ", ".join(o["name"] for o in orgs) or "none"
                raise CliError(f"--org: {'name one of the' if chosen else 'no such organization among the'} "
                               f"account's organizations ({names})")
            base = f"/api/cloud/orgs/{chosen[0]['id']}"
            if args.action == "order":
                if args.what is None or not args.what.isdigit():
                    raise CliError("order QUANTITY: expected a whole number of licences, e.g. `bwlab licence order 5`")
                await s.post(base + "/licences", {"quantity": int(args.what), "term_months": args.term})
            elif args.action == "renew":
                held = (await s.get(base + "/licence"))["licences"]
                subs = [lic for lic in held if lic["kind"] == "subscription"]
                renewed = args.what or (subs[-1]["id"] if subs else None)
                if renewed is None:
                    raise CliError("renew: the organization has no subscription to renew; order licences first")
                body = {"term_months": args.term, **({"quantity": args.quantity} if args.quantity else {})}
                await s.post(f"{base}/licences/{renewed}/renewal", body)
            result = await s.get(base + "/licence")
        except ApiError as exc:
            raise CliError(f"{exc.message} ({exc.code})") from None
        except OSError as exc:
            raise CliError(f"cannot reach the lab at {url}: {exc}") from None
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    state = {"trial": "30-day trial", "purchased": "purchased", "expired": "EXPIRED", "none": "no licence"}[result["state"]]
    until = f" until {isoformat(result['covered_until'])}" if result["covered_until"] else ""
    print(f"{chosen[0]['name']}: {state}{until}; {result['quantity']} licences held, {result['needed']} needed "
          f"(average {result['average']} over {result['window_days']} days)")
    for lic in result["licences"]:
        qty = "trial" if lic["kind"] == "trial" else f"{lic['quantity']} × {lic['term_months']} months"
        print(f"  {lic['id']}  {qty:<18} {isoformat(lic['starts_at'])} → {isoformat(lic['ends_at'])}")
    return 0


def _net(fn, *a):
    try:
        return fn(*a)
    except realnet.CommandError as exc:
        raise CliError(str(exc)) from None


async def cmd_net(args: argparse.Namespace) -> int:
    return await asyncio.to_thread(_net, realnet.run, args)


COMMANDS = {"licence": cmd_licence, "view": cmd_view, "up": cmd_up, "fleet": cmd_fleet, "status": cmd_status, "travel": cmd_travel, "press": cmd_press,
            "dock": cmd_dock, "undock": cmd_undock, "soc-receiver": cmd_soc_receiver, "dns": cmd_dns,
            "fault": cmd_fault, "doctor": cmd_doctor, "pages": cmd_pages, "pcap": cmd_pcap, "move": cmd_move,
            "content-destination": cmd_content_destination, "test": regression.cmd_test}
COMMANDS["net"] = COMMANDS["capture"] = cmd_net


async def cmd_recordings(args: argparse.Namespace) -> int:
    url, token, ca_pem = lab_facts(args)
    try:
        return await recordings_commands.cmd_recordings(args, url, token, ca_pem)
    except OSError as exc:
        raise CliError(f"cannot reach the lab at {url}: {exc}") from None


async def cmd_annotate(args: argparse.Namespace) -> int:
    """``bwlab bookmark`` / ``bwlab category``: on the recording being made, else the camera's last one."""
    result = await _lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions",
                             recordings_commands.annotation(args))
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: {args.command} added")
    return 0


COMMANDS.update({"recordings": cmd_recordings, "bookmark": cmd_annotate, "category": cmd_annotate})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bwlab.scenario import ScenarioError

    try:
        return asyncio.run(COMMANDS[args.command](args))
    except (CliError, ScenarioError) as exc:
        print(f"bwlab: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
