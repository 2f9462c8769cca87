"""``bwlab content-destination``: the lab's content destination (serve, connection-file, decrypt;
bwlab/content_destination/commands.py) and a Manager importing a connection file (``import``;
bwlab/recordings_commands.py, hooked in by ``bwlab.cli.recordings``) (issue 13)."""

from __future__ import annotations

import argparse
import json

from bwlab import recordings_commands
from bwlab.content_destination import commands as content_destination

from .common import CliError, Commands, default_data_dir, lab_facts


def register(sub: argparse._SubParsersAction) -> Commands:
    content_destination.add_parser(sub)
    return {"content-destination": cmd_content_destination}


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
