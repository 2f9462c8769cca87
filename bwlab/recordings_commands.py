"""``bwlab content-destination import`` and ``bwlab recordings`` (issue 13).

    bwlab content-destination import FILE [--system NAME] [--password P]
        a system's Manager imports a connection file, as its admin would in the UI (the password
        defaults to the one in the running lab's scenario)
    bwlab recordings [SERIAL] [--json]
        what each camera and each controller holds, and each recording's transfer status

The CLI (bwlab/cli/recordings.py, content_destination.py) hands each command the running lab's facts (URL, lab token, CA).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bwlab.apply import import_connection_file
from bwlab.client import ApiError, Session
from bwlab.clock import isoformat
from bwlab.errors import BwlabError
from bwlab.scenario import load_scenario


class RecordingsCommandError(BwlabError):
    """A user error, printed by the CLI."""


def add_import_parser(content_destination_parser: argparse.ArgumentParser, common: Callable) -> None:
    """``import`` under ``bwlab content-destination`` (whose other commands are the lab destination's)."""
    subparsers = next(a for a in content_destination_parser._actions if isinstance(a, argparse._SubParsersAction))
    imp = subparsers.add_parser("import", help="a system's Manager imports a connection file (as its admin)")
    imp.add_argument("file", type=Path, help="the connection file (JSON, at most 64 kB)")
    imp.add_argument("--system", default=None, help="the system's name (default: the only or first system)")
    imp.add_argument("--password", default=None, help="its Manager admin password (default: the scenario's)")
    imp.add_argument("--scenario", type=Path, default=None, help=argparse.SUPPRESS)
    common(imp)


def add_recordings_parser(sub, common: Callable) -> None:
    rec = sub.add_parser("recordings", help="what each camera and controller holds; each recording's transfer status")
    rec.add_argument("serial", nargs="?", default=None, help="only this camera's recordings")
    common(rec)
    mark = sub.add_parser("bookmark", help="the camera user bookmarks the recording (as in the Assistant app)")
    mark.add_argument("serial")
    mark.add_argument("text", nargs="?", default="", help="a free-text description (none: a bare bookmark)")
    mark.add_argument("--tags", default="", help="key:value;key:value")
    common(mark)
    cat = sub.add_parser("category", help="the camera user sets the recording's category (as in the Assistant app)")
    cat.add_argument("serial")
    cat.add_argument("category_id", help="the category's Id (System/Categories.json)")
    cat.add_argument("category_name", help="its Name")
    common(cat)


def annotation(args: argparse.Namespace) -> dict[str, Any]:
    """The lab action body of ``bwlab bookmark`` / ``bwlab category``."""
    if args.command == "bookmark":
        return {"action": "bookmark", "text": args.text, "tags": args.tags}
    return {"action": "category", "category_id": args.category_id, "category_name": args.category_name}


async def cmd_import(args: argparse.Namespace, url: str, token: str, ca_pem: str, scenario_path: str | None) -> int:
    async with Session(url, ca_pem, token=token) as lab:
        systems = (await lab.get("/controller/systems"))["systems"]
    if not systems:
        raise RecordingsCommandError("the lab has no system controller")
    if args.system is None:
        system = systems[0]
    else:
        system = next((s for s in systems if s["name"] == args.system), None)
        if system is None:
            raise RecordingsCommandError(
                f"--system: no system named {args.system!r} (there are {', '.join(repr(s['name']) for s in systems)})"
            )
    password = args.password
    if password is None:
        scenario, _ = load_scenario(args.scenario or scenario_path)
        known = next((s for s in scenario.systems if s.name == system["name"]), None)
        if known is None:
            raise RecordingsCommandError(f"--password: the scenario does not know system {system['name']!r}")
        password = known.admin_password
    api = f"/controller/{system['id']}/api"
    async with Session(url, ca_pem) as mgr:
        try:
            await mgr.sign_in_manager(system["id"], password)
            result = await import_connection_file(mgr, api, args.file, str(args.file))
        except ApiError as exc:
            raise RecordingsCommandError(f"{args.file}: {exc.message} ({exc.code})") from None
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        conn = result["connection"]
        print(
            f"{system['name']}: content destination {conn['ApplicationName']} {conn['ApplicationVersion']} "
            f"at {', '.join(conn['AuthenticationTokenURI'])} ({conn['ContainerType']}"
            f"{', encrypted' if conn['WantEncryption'] else ''}); connection ID {result['connection_id']}"
        )
    return 0


async def cmd_recordings(args: argparse.Namespace, url: str, token: str, ca_pem: str) -> int:
    serial = args.serial.upper() if args.serial else None
    async with Session(url, ca_pem, token=token) as lab:
        cameras = (await lab.get("/api/lab/cameras"))["cameras"]
        systems = (await lab.get("/controller/systems"))["systems"]
        controllers: list[dict[str, Any]] = []
        for system in systems:
            api = f"/controller/{system['id']}/api"
            recs = (await lab.get(api + "/recordings"))["recordings"]
            dest = await lab.get(api + "/content-destination")
            controllers.append(
                {
                    "system": system["name"],
                    "id": system["id"],
                    "destination": {k: dest.get(k) for k in ("configured", "status", "status_message", "alert")},
                    "recordings": [r for r in recs if serial is None or r["serial"] == serial],
                }
            )
    held = [
        {"serial": c["serial"], "storage": (c.get("state") or {}).get("storage")}
        for c in cameras
        if serial is None or c["serial"] == serial
    ]
    if args.json:
        print(json.dumps({"cameras": held, "controllers": controllers}, indent=2))
        return 0
    print("Cameras:")
    for cam in held:
        st = cam["storage"] or {}
        off = st.get("offload") or {}
        moving = f", offloading {off.get('sent_bytes', 0)}/{off.get('total_bytes', 0)} B" if off.get("active") else ""
        print(
            f"  {cam['serial']}  {st.get('recordings', 0)} recording(s), {st.get('used', 0)} of "
            f"{st.get('capacity', 0)} B{' FULL' if st.get('full') else ''}{moving}"
        )
    for ctl in controllers:
        dest = ctl["destination"]
        status = dest["status"] if dest["configured"] else "no content destination"
        print(
            f"Controller {ctl['system']!r}: {status}{' — ' + dest['status_message'] if dest.get('status_message') else ''}"
        )
        if dest.get("alert"):
            print(f"  ALERT: {dest['alert']['message']}")
        for r in ctl["recordings"]:
            print(
                f"  {r['serial']}  {isoformat(r['trigger_on_time'])}  {len(r['clips'])} clip(s) {r['size']} B  "
                f"{r['state']}{'  ' + r['last_error'] if r['last_error'] and r['state'] != 'complete' else ''}"
            )
    return 0
