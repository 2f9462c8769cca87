"""``bwlab press SERIAL help``: make the help gesture of the camera's profile (issue 16 item 2).

The gesture that asks for help is a camera profile setting (Manager > Camera profiles > Help
request; bwlab/wire/help.py). This command reads the camera's profile from the lab (its last
reported state), then presses that button with that gesture, as the camera user would. Exit 0
when the camera sent its help request, 1 when the press did nothing (the reason is printed), and
a CLI error (2) when the camera's profile has no help gesture.
"""

from __future__ import annotations

import argparse
import json
import sys

from bwlab.wire.help import HELP_GESTURE_LABELS, gesture_of

from .common import CliError, lab_call


async def press_help(args: argparse.Namespace) -> int:
    serial = args.serial.upper()
    cameras = (await lab_call(args, "GET", "/api/lab/cameras"))["cameras"]
    camera = next((c for c in cameras if c["serial"] == serial), None)
    if camera is None or not camera.get("state"):
        raise CliError(f"camera {serial}: no fleet runs it (bwlab status lists the cameras)")
    profile = camera["state"].get("profile") or {}
    help_gesture = profile.get("help_gesture")
    if help_gesture is None:
        raise CliError(
            f"camera {serial}: its camera user's profile has no help gesture "
            "(Manager > Camera profiles > Help request; scenario key help_gesture)"
        )
    pressed = gesture_of(help_gesture)
    assert pressed is not None
    button, gesture = pressed
    before = (camera["state"].get("help") or {}).get("id")
    result = await lab_call(
        args, "POST", f"/api/lab/cameras/{serial}/actions", {"action": "press", "button": button, "gesture": gesture}
    )
    ignored = (result.get("press") or {}).get("ignored")
    help_request = (result.get("state") or {}).get("help")
    if args.json:
        print(
            json.dumps(
                {
                    "serial": serial,
                    "button": button,
                    "gesture": gesture,
                    "help": help_request,
                    "press": result.get("press"),
                },
                indent=2,
            )
        )
    elif ignored:
        print(
            f"{serial}: help ({HELP_GESTURE_LABELS[help_gesture].lower()}) did nothing: {ignored['message']} "
            f"({ignored['code']})",
            file=sys.stderr,
        )
    else:
        print(
            f"{serial}: help requested ({HELP_GESTURE_LABELS[help_gesture].lower()})"
            + (f", help id {help_request['id']}" if help_request and help_request.get("id") != before else "")
        )
    return 1 if ignored else 0
