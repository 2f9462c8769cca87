"""``bwlab test``: scenario files run as a regression suite (bwlab/regression.py)."""

from __future__ import annotations

import argparse

from bwlab import regression

from .common import Commands


def register(sub: argparse._SubParsersAction) -> Commands:
    regression.add_parser(sub)
    return {"test": regression.cmd_test}
