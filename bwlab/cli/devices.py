"""``bwlab status``, ``travel``, ``press``, ``dock``, ``undock``: the lab's state, its clock, and camera actions."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bwlab.clock import isoformat
from bwlab.realnet import commands as realnet
from bwlab.realnet import up as realnet_up

from .common import Commands, add_common, default_data_dir, lab_call, parse_duration
from .help import press_help


def register(sub: argparse._SubParsersAction) -> Commands:
    status = sub.add_parser("status", help="the running lab's systems and cameras")
    add_common(status)

    travel = sub.add_parser("travel", help="move lab time forward")
    travel.add_argument("duration", help="e.g. 90s, 45m, 36h, 6d, or a number of seconds")
    add_common(travel)

    press = sub.add_parser("press", help="press a camera's button")
    press.add_argument("serial")
    press.add_argument("button", choices=("record", "function", "top", "help"))  # help: the profile's help gesture
    press.add_argument("gesture", nargs="?", choices=("press", "double", "long"), default="press")
    add_common(press)

    dock = sub.add_parser("dock", help="put a camera in a dock bay")
    dock.add_argument("serial")
    dock.add_argument("dock", nargs="?")
    dock.add_argument("bay", nargs="?", type=int)
    add_common(dock)

    undock = sub.add_parser("undock", help="take a camera out of its dock")
    undock.add_argument("serial")
    add_common(undock)
    return {"status": cmd_status, "travel": cmd_travel, "press": cmd_press, "dock": cmd_dock, "undock": cmd_undock}


async def cmd_status(args: argparse.Namespace) -> int:
    status = await lab_call(args, "GET", "/api/lab/status")
    prefix = realnet.running_prefix(args.data_dir or default_data_dir())
    if prefix:  # issue 15: namespace, MAC, address
        status = realnet_up.annotate_status(status, prefix)
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print("\n".join(status_lines(status)))
    return 0


def status_lines(status: dict[str, Any]) -> list[str]:
    """``bwlab status`` as text: lab time, then each system and its cameras, one line each."""
    lines = [f"lab time {isoformat(status['lab_time'])} (offset {status['clock_offset']:.0f} s)  {status['url']}"]
    for s in status["systems"]:
        lines.append(
            f"\nsystem {s['name']} ({s['id']}): {'connected' if s['connected'] else s['connection_state']}"
            f"{' to ' + s['organization'] if s.get('organization') else ''}"
        )
        for c in s["cameras"]:
            where = f"{c['dock']}/{c['bay']}" if c["docked"] else "out of dock"
            cert = (
                ("valid until " + isoformat(c["cert_not_after"]))
                if c["cert_valid"]
                else ("EXPIRED" if c["cert_not_after"] else "none")
            )
            lines.append(
                f"  {c['serial']}  {c['model']}  {c['camera_user'] or '-':<16} {where:<12} cert {cert}"
                f"  stream {c['stream'] or '-':<10} {health_text(c.get('health'))}"
                + (f"  {c['network']['ip']} {c['network']['mac']} {c['network']['netns']}" if c.get("network") else "")
            )
    return lines


def health_text(health: dict[str, Any] | None) -> str:
    """A camera's health in a few words (issue 16 item 5): battery and storage in percent, the
    temperature, and ``! <codes>`` for the warnings (bwlab/wire/health.py, as Live and --json)."""
    if health is None:
        return "health -"
    battery = f"battery {health['battery_percent']:3.0f} %{' charging' if health['charging'] else ''}"
    used = 100 * health["storage_used"] / health["storage_capacity"]
    text = f"{battery:<21} storage {used:3.0f} %  {health['temperature_c']:4.1f} °C"
    warnings = [w["code"] for w in health["warnings"]]
    return text + (f"  ! {' '.join(warnings)}" if warnings else "")


async def cmd_travel(args: argparse.Namespace) -> int:
    result = await lab_call(args, "POST", "/api/lab/time/travel", {"seconds": parse_duration(args.duration)})
    print(json.dumps(result) if args.json else f"lab time is now {isoformat(result['lab_time'])}")
    return 0


async def cmd_press(args: argparse.Namespace) -> int:
    if args.button == "help":  # issue 16: the help gesture of the camera's profile (help.py)
        return await press_help(args)
    result = await lab_call(
        args,
        "POST",
        f"/api/lab/cameras/{args.serial}/actions",
        {"action": "press", "button": args.button, "gesture": args.gesture},
    )
    ignored = (result.get("press") or {}).get("ignored")
    if args.json:
        print(json.dumps(result, indent=2))
    elif ignored:
        print(
            f"{args.serial}: {args.button} {args.gesture} did nothing: {ignored['message']} ({ignored['code']})",
            file=sys.stderr,
        )
    else:
        print(f"{args.serial}: {args.button} {args.gesture}")
    return 1 if ignored else 0


async def cmd_dock(args: argparse.Namespace) -> int:
    body = {"action": "dock", "dock": args.dock, "bay": args.bay}
    result = await lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", body)
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: docked")
    return 0


async def cmd_undock(args: argparse.Namespace) -> int:
    result = await lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", {"action": "undock"})
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: out of the dock")
    return 0
