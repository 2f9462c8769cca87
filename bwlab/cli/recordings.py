"""``bwlab recordings``, ``bookmark``, ``category`` and ``content-destination import`` (issue 13;
bwlab/recordings_commands.py). Registered after ``bwlab.cli.content_destination``, whose
parser gets ``import``."""

from __future__ import annotations

import argparse
import json

from bwlab import recordings_commands

from .common import CliError, Commands, add_common, lab_call, lab_facts


def register(sub: argparse._SubParsersAction) -> Commands:
    recordings_commands.add_import_parser(sub.choices["content-destination"], add_common)  # issue 13
    recordings_commands.add_recordings_parser(sub, add_common)
    return {"recordings": cmd_recordings, "bookmark": cmd_annotate, "category": cmd_annotate}


async def cmd_recordings(args: argparse.Namespace) -> int:
    url, token, ca_pem = lab_facts(args)
    try:
        return await recordings_commands.cmd_recordings(args, url, token, ca_pem)
    except OSError as exc:
        raise CliError(f"cannot reach the lab at {url}: {exc}") from None


async def cmd_annotate(args: argparse.Namespace) -> int:
    """``bwlab bookmark`` / ``bwlab category``: on the recording being made, else the camera's last one."""
    result = await lab_call(
        args, "POST", f"/api/lab/cameras/{args.serial}/actions", recordings_commands.annotation(args)
    )
    print(json.dumps(result, indent=2) if args.json else f"{args.serial}: {args.command} added")
    return 0
