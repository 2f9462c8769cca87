"""``bwlab net`` and ``bwlab capture``: the real lab network (issue 15; bwlab/realnet/commands.py)."""

from __future__ import annotations

import argparse
import asyncio

from bwlab.realnet import commands as realnet

from .common import Commands, run_net


def register(sub: argparse._SubParsersAction) -> Commands:
    realnet.add_parser(sub)
    return {"net": cmd_net, "capture": cmd_net}


async def cmd_net(args: argparse.Namespace) -> int:
    return await asyncio.to_thread(run_net, realnet.run, args)
