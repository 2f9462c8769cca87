"""``bwlab net up | down | status | exec`` and the network kinds of ``bwlab fault`` (issue 15).

    bwlab net up [--prefix P] [--subnet S] [--cameras S1,S2] [--browsers N]   a lab network, no appliance
    bwlab net down [--prefix P]        remove everything of the prefix (also after a crash)
    bwlab net status [--prefix P]      the plan, the faults, and what exists of it on the machine
    bwlab net exec NODE -- CMD…        run a command in a node's namespace (e.g. curl, tshark)
    bwlab capture [NODE|bridge] [--seconds S] [-o FILE]   a real pcap (dumpcap) for Wireshark

The prefix defaults to ``$BWLAB_NET_PREFIX``, else the one lab network running, else ``bwl``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from bwlab.errors import BwlabError

from . import lab
from .faults import KINDS as FAULT_KINDS
from .faults import FaultError
from .plan import DEFAULT_SUBNET, Plan, PlanError
from .runner import NetError

__all__ = [
    "FAULT_KINDS",
    "CommandError",
    "add_parser",
    "run",
    "add_fault",
    "clear_faults",
    "default_prefix",
    "running_prefix",
    "teardown",
    "list_faults",
]


class CommandError(BwlabError):
    """A user error, printed by the CLI as ``bwlab: <message>``."""


def default_prefix() -> str:
    env = os.environ.get("BWLAB_NET_PREFIX")
    if env:
        return env
    running = sorted(p.parent.name for p in lab.RUN_DIR.glob("*/plan.json")) if lab.RUN_DIR.exists() else []
    return running[0] if len(running) == 1 else "bwl"


def add_parser(sub) -> None:
    net = sub.add_parser("net", help="the real lab network: namespaces, bridge, lab DNS (root; issue 15)")
    net_sub = net.add_subparsers(dest="net_command", required=True)
    up = net_sub.add_parser("up", help="build a lab network (bridge, namespaces, lab DNS) without the appliance")
    up.add_argument("--subnet", default=DEFAULT_SUBNET, help=f"an IPv4 /24 (default {DEFAULT_SUBNET})")
    up.add_argument("--cameras", default="", help="comma-separated serials, one namespace each")
    up.add_argument("--browsers", type=int, default=1, help="browser namespaces (default 1)")
    down = net_sub.add_parser("down", help="remove every namespace, veth, bridge, nft table and dnsmasq of the prefix")
    status = net_sub.add_parser("status", help="the plan, its faults, and what of it exists on the machine")
    exe = net_sub.add_parser("exec", help="run a command inside a node's namespace")
    exe.add_argument("node", help="a camera's serial, a browser's name, a namespace or an address")
    exe.add_argument("cmd", nargs=argparse.REMAINDER, help="the command (after --)")
    cap = sub.add_parser("capture", help="a real pcap on the lab bridge or in a node's namespace (dumpcap)")
    cap.add_argument("where", nargs="?", default="bridge", help="bridge (default), or a camera's serial, a browser…")
    cap.add_argument("--seconds", type=float, default=10.0, help="how long to capture (default 10)")
    cap.add_argument("--filter", default=None, help="a capture filter, e.g. 'tcp port 443'")
    cap.add_argument("-o", "--output", default=None, help="the pcapng file (default WHERE.pcapng)")
    for p in (up, down, status, exe, cap):
        p.add_argument("--prefix", default=None, help="the lab network's name prefix (default: see `bwlab net -h`)")
        p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (NetError, PlanError, FaultError) as exc:
        raise CommandError(str(exc)) from None


def _run(args: argparse.Namespace) -> int:
    prefix = args.prefix or default_prefix()
    if args.command == "capture":
        return _capture(args, _running(prefix))
    if args.net_command == "up":
        new = Plan(prefix=prefix, subnet=args.subnet)
        new = new.with_nodes("camera", [s.strip().upper() for s in args.cameras.split(",") if s.strip()])
        new = new.with_nodes("browser", [f"browser{i + 1}" for i in range(args.browsers)])
        lab.build(new)
        _print(
            args,
            new.as_dict(),
            f"lab network {prefix}: bridge {new.bridge} {new.subnet}, "
            f"{len(new.nodes)} namespaces, lab DNS on {new.gateway}",
        )
        return 0
    if args.net_command == "down":
        removed = lab.teardown(prefix)
        left = lab.leftovers(prefix)
        _print(
            args,
            {"removed": removed, "left": left},
            f"removed: {', '.join(f'{len(v)} {k}' for k, v in removed.items()) or 'nothing'}",
        )
        if left:
            raise CommandError(f"still there after teardown: {left}")
        return 0
    plan = lab.load(prefix)
    if args.net_command == "status":
        faults, _ = lab.load_faults(prefix)
        data = {
            "plan": plan.as_dict() if plan else None,
            "faults": [f.as_dict() | {"summary": f.summary} for f in faults],
            "on_machine": lab.leftovers(prefix),
        }
        text = "\n".join(
            [f"lab network {prefix}: " + (f"{plan.subnet} on {plan.bridge}" if plan else "not running")]
            + [f"  {n.kind:<10} {n.name:<14} {n.netns:<28} {n.ip:<15} {n.mac}" for n in (plan.nodes if plan else ())]
            + [f"  {f.id:<10} {f.summary}" for f in faults]
        )
        _print(args, data, text)
        return 0
    if plan is None:
        raise CommandError(f"no lab network {prefix!r} is running (`bwlab net up` or `bwlab up --network real`)")
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        raise CommandError("bwlab net exec NODE -- CMD…: which command?")
    return subprocess.call(["ip", "netns", "exec", plan.node(args.node).netns, *cmd])


def _capture(args: argparse.Namespace, plan: Plan) -> int:
    """dumpcap on the bridge (every node's traffic) or on ``eth0`` inside one node's namespace."""
    if not 0 < args.seconds <= 3600:
        raise CommandError(f"--seconds: expected 0 < seconds ≤ 3600, got {args.seconds:g}")
    node = None if args.where == "bridge" else plan.node(args.where)
    out = os.path.abspath(args.output or f"{'bridge' if node is None else node.name}.pcapng")
    cmd = [
        "dumpcap",
        "-q",
        "-i",
        plan.bridge if node is None else "eth0",
        "-a",
        f"duration:{args.seconds:g}",
        "-w",
        out,
    ] + (["-f", args.filter] if args.filter else [])
    if node is not None:
        cmd = ["ip", "netns", "exec", node.netns, *cmd]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.seconds + 30)
    except FileNotFoundError:
        raise CommandError("dumpcap: not installed (Debian package wireshark-common, with tshark)") from None
    if done.returncode != 0:
        raise CommandError(f"dumpcap: {done.stderr.strip()}")
    _print(
        args,
        {"file": out, "interface": cmd[cmd.index("-i") + 1], "netns": node.netns if node else None},
        f"{out}: {args.seconds:g} s on {'the bridge ' + plan.bridge if node is None else node.netns}; "
        "open it with Wireshark",
    )
    return 0


def running_prefix(data_dir) -> str | None:
    """The prefix of the lab network the lab in ``data_dir`` runs on, if it still runs."""
    try:
        prefix = json.loads((data_dir / "lab.json").read_text()).get("network_prefix")
        return prefix if prefix and lab.load(prefix) is not None else None
    except (OSError, ValueError):
        return None


def teardown(prefix: str) -> dict:
    return lab.teardown(prefix)


def _running(prefix: str) -> Plan:
    plan = lab.load(prefix)
    if plan is None:
        raise CommandError(f"no lab network {prefix!r} is running; network faults need `bwlab up --network real`")
    return plan


def add_fault(kind: str, target: str | None, changes: dict, fault_id: str | None) -> dict:
    """``bwlab fault add firewall|dns|bandwidth|loss …``."""
    plan = _running(default_prefix())
    try:
        fault = lab.add_fault(plan, kind, target, changes, fault_id)
    except (NetError, PlanError, FaultError) as exc:
        raise CommandError(str(exc)) from None
    return fault.as_dict() | {"summary": fault.summary}


def list_faults() -> list[dict]:
    """The real lab network's faults now (none when no network runs)."""
    try:
        faults, _ = lab.load_faults(default_prefix())
    except PermissionError:  # a lab network root runs; this user cannot read it
        return []
    return [f.as_dict() | {"summary": f.summary} for f in faults]


def clear_faults(fault_id: str | None) -> list[str]:
    """``bwlab fault clear [net-N]``: the cleared faults' summaries (none when no network runs)."""
    prefix = default_prefix()
    plan = lab.load(prefix)
    if plan is None:
        if fault_id is not None:
            raise CommandError(f"no lab network {prefix!r} is running")
        return []
    try:
        return [f"{f.id} {f.summary}" for f in lab.clear_faults(plan, fault_id)]
    except (NetError, FaultError) as exc:
        raise CommandError(str(exc)) from None


def _print(args: argparse.Namespace, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text, file=sys.stdout, flush=True)
