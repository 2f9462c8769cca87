"""``bwlab dns``, ``fault``, ``doctor``, ``pages``, ``pcap``, ``move``: the lab network (T5, L2-L4)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from urllib.parse import quote

from bwlab.client import Session
from bwlab.realnet import commands as realnet

from .common import CliError, Commands, add_common, lab_call, lab_facts, run_net


def register(sub: argparse._SubParsersAction) -> Commands:
    dns = sub.add_parser("dns", help="the service's host names (T5) as a hosts file or a dnsmasq snippet")
    dns.add_argument("--format", choices=("hosts", "dnsmasq"), default="hosts")
    dns.add_argument("--address", default=None, help="the appliance address to point them at (default: as reached)")
    add_common(dns)

    # ---- the lab network (L2-L4) ----
    fault = sub.add_parser("fault", help="inject, list and clear lab faults (L2)")
    fault_sub = fault.add_subparsers(dest="fault_command", required=True)
    fault_add = fault_sub.add_parser("add", help="inject a fault, e.g. `bwlab fault add ap AP-1 security=wpa3-only`")
    fault_add.add_argument(
        "kind",
        help="ap, cell, sim, link, clock_skew, ntp, travel (`bwlab fault list` explains), "
        "or hostname NAME (a T5 host name the lab stops answering for); on the "
        "real lab network: firewall, dns, bandwidth, loss (docs/network.md)",
    )
    fault_add.add_argument(
        "changes",
        nargs="*",
        metavar="[TARGET] KEY=VALUE",
        help="the AP, cell or camera (not for ntp and travel), then what changes",
    )
    fault_add.add_argument("--id", default=None, help="name the fault, to clear it by name")
    add_common(fault_add)
    fault_list = fault_sub.add_parser("list", help="the faults injected now and the kinds there are")
    add_common(fault_list)
    fault_clear = fault_sub.add_parser("clear", help="clear one fault, or all")
    fault_clear.add_argument("id", nargs="?", help="the fault to clear (default: all)")
    add_common(fault_clear)

    doctor = sub.add_parser("doctor", help="the diagnosis of every camera (or one): symptom, cause and fix (L3)")
    doctor.add_argument("serial", nargs="?")
    doctor.add_argument("--all", action="store_true", help="list cameras with no finding too")
    add_common(doctor)

    pages = sub.add_parser("pages", help="a camera's troubleshooting pages (T1; it must be in the mode)")
    pages.add_argument("serial")
    add_common(pages)

    pcap = sub.add_parser("pcap", help="a camera's emulated 802.11 frames as a pcap for Wireshark (L4)")
    pcap.add_argument("serial")
    pcap.add_argument("-o", "--output", type=Path, default=None, help="file to write (default SERIAL-80211.pcap)")
    add_common(pcap)

    move = sub.add_parser("move", help="put a camera somewhere on the site, in metres east/north of the origin")
    move.add_argument("serial")
    move.add_argument("x", type=float)
    move.add_argument("y", type=float)
    move.add_argument("--walk", type=float, default=0.0, help="walk there in this many seconds")
    add_common(move)
    return {
        "dns": cmd_dns,
        "fault": cmd_fault,
        "doctor": cmd_doctor,
        "pages": cmd_pages,
        "pcap": cmd_pcap,
        "move": cmd_move,
    }


async def cmd_dns(args: argparse.Namespace) -> int:
    """T5: the host names for /etc/hosts or dnsmasq, pointing at the appliance."""
    path = "/api/lab/dns/hosts" if args.format == "hosts" else "/api/lab/dns/dnsmasq.conf"
    if args.address:
        path += "?address=" + quote(args.address)
    text = await lab_call(args, "GET", path)
    if args.json:
        print(json.dumps({"format": args.format, "text": text}))
    else:
        sys.stdout.write(text)
    return 0


BLOCKED_HOSTS = "/api/lab/faults/blocked-hosts"
_TEXT_KEYS = {
    "ssid",
    "password",
    "security",
    "country",
    "band",
    "state",
    "iccid",
    "pin",
    "operator",
    "apn",
    "mode",
    "kiss_code",
}


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
        fault = run_net(realnet.add_fault, args.kind, *parse_changes(args.kind, args.changes), args.id)
        print(json.dumps(fault, indent=2) if args.json else f"{fault['id']}: {fault['summary']}")
        return 0
    if args.fault_command == "clear" and (args.id or "").startswith("net-"):
        cleared = run_net(realnet.clear_faults, args.id)
        print(json.dumps({"cleared": cleared}) if args.json else f"cleared: {', '.join(cleared)}")
        return 0
    if args.fault_command == "add" and args.kind == "hostname":  # T5: the lab blocks a host name
        if len(args.changes) != 1:
            raise CliError("bwlab fault add hostname NAME: one of the service's host names (`bwlab dns` lists them)")
        result = await lab_call(args, "POST", BLOCKED_HOSTS, {"hostname": args.changes[0]})
        print(json.dumps(result) if args.json else f"blocked: {', '.join(result['blocked'])}")
        return 0
    if args.fault_command == "add":
        target, changes = parse_changes(args.kind, args.changes)
        body = {"kind": args.kind, "set": changes}
        if target is not None:
            body["target"] = target
        if args.id:
            body["id"] = args.id
        fault = await lab_call(args, "POST", "/api/lab/faults", body)
        print(json.dumps(fault, indent=2) if args.json else f"{fault['id']}: {fault['summary']}")
        return 0
    if args.fault_command == "clear":
        path = "/api/lab/faults" + (f"/{args.id}" if args.id else "")
        result = await lab_call(args, "DELETE", path)
        if not args.id:
            unblocked = await lab_call(args, "GET", BLOCKED_HOSTS)
            await lab_call(args, "DELETE", BLOCKED_HOSTS)
            result["cleared"] += [f"hostname {name}" for name in unblocked["blocked"]]
            result["cleared"] += run_net(realnet.clear_faults, None)  # the real lab network's, if one runs
        print(json.dumps(result) if args.json else f"cleared: {', '.join(result['cleared']) or 'nothing'}")
        return 0
    listing = await lab_call(args, "GET", "/api/lab/faults")
    listing["network_faults"] = run_net(realnet.list_faults)  # packets on the real lab network (issue 15)
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
        cameras = [await lab_call(args, "GET", f"/api/lab/cameras/{args.serial.upper()}/diagnosis")]
    else:
        report = await lab_call(args, "GET", "/api/lab/diagnosis")
        systems, cameras = report["systems"], report["cameras"]
    if args.json:
        print(json.dumps({"systems": systems, "cameras": cameras}, indent=2))
        return 0
    shown = 0
    for system in systems:
        for f in system["findings"]:
            shown += 1
            print(
                f"system {system['name']} ({system['id']})\n  {f['code']:<15} {f['symptom']}\n"
                f"  {'':<15} cause: {f['cause']}\n  {'':<15} fix:   {f['fix']}"
            )
    for cam in cameras:
        press = cam.get("last_press") or {}
        ignored = press.get("ignored")
        if not cam["findings"] and not ignored and not (args.all or args.serial):
            continue
        shown += 1
        print(f"{cam['serial']} ({cam['model']}){'' if cam['reporting'] else '  [not running]'}")
        for f in cam["findings"]:
            print(f"  {f['code']:<15} {f['symptom']}\n  {'':<15} cause: {f['cause']}\n  {'':<15} fix:   {f['fix']}")
            for e in f.get("evidence") or []:  # what the diagnosis saw (issue 14)
                print(f"  {'':<15} seen:  {e['source']}: {e['observation']}")
            for h in f.get("hostnames") or []:  # T2 row 5: which T5 name, as the camera saw it
                print(
                    f"  {'':<15} not reached: {h['hostname']} port {h['port']} (T5 row: {h['t5_row']}; {h['observed']})"
                )
        if ignored:
            print(
                f"  {'last press':<15} {press['button']} {press['gesture']} did nothing\n"
                f"  {'':<15} why:   {ignored['message']} ({ignored['code']})"
            )
        elif not cam["findings"]:
            print("  no problem found")
    if not shown:
        print("no system or camera shows a problem the manual's troubleshooting tables name")
    return 0


async def cmd_pages(args: argparse.Namespace) -> int:
    result = await lab_call(args, "GET", f"/api/lab/cameras/{args.serial.upper()}/troubleshooting")
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
    print(
        json.dumps({"file": str(out), "frames": int(frames), "bytes": len(data)})
        if args.json
        else f"{out}: {frames} frames ({len(data)} bytes); open it with Wireshark"
    )
    return 0


async def cmd_move(args: argparse.Namespace) -> int:
    body = {"action": "move", "position": [args.x, args.y], "seconds": args.walk or None}
    result = await lab_call(args, "POST", f"/api/lab/cameras/{args.serial}/actions", body)
    print(
        json.dumps(result, indent=2)
        if args.json
        else f"{args.serial}: {'walking' if args.walk else 'moved'} to ({args.x:g}, {args.y:g})"
    )
    return 0
