"""The thin side of the real lab network: run ``ip``, ``nft``, ``tc`` and ``dnsmasq`` (issue 15).

Every command runs with a bounded timeout and without a shell; a failure raises ``NetError``
naming the command and what it printed. Nothing here decides anything: the plan
(``plan.py``) and the faults (``faults.py``) say what to run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field

from bwlab.errors import Unavailable

log = logging.getLogger(__name__)

TOOLS = {"ip": "iproute2", "nft": "nftables", "tc": "iproute2", "dnsmasq": "dnsmasq-base"}


class NetError(Unavailable, RuntimeError):
    """A network command failed, or the machine cannot run the real lab network."""


@dataclass
class Runner:
    timeout: float = 10.0
    ran: list[list[str]] = field(default_factory=list)  # what this runner ran, in order

    def run(
        self, cmd: list[str], *, input: str | None = None, check: bool = True, timeout: float | None = None
    ) -> subprocess.CompletedProcess:
        self.ran.append(list(cmd))
        log.debug("net: %s", " ".join(cmd))
        try:
            done = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout or self.timeout)
        except FileNotFoundError:
            raise NetError(f"{cmd[0]}: not installed (Debian package {TOOLS.get(cmd[0], cmd[0])})") from None
        except subprocess.TimeoutExpired:
            raise NetError(f"{' '.join(cmd)}: no answer within {timeout or self.timeout:g} s") from None
        if check and done.returncode != 0:
            raise NetError(f"{' '.join(cmd)}: {(done.stderr or done.stdout).strip() or f'exit {done.returncode}'}")
        return done

    def json(self, cmd: list[str]) -> list | dict:
        out = self.run(cmd).stdout.strip()
        return json.loads(out) if out else []

    def in_netns(self, netns: str, cmd: list[str], **kw) -> subprocess.CompletedProcess:
        return self.run(["ip", "netns", "exec", netns, *cmd], **kw)


def check_machine() -> None:
    """Root and the tools: the real lab network needs both (NetError saying which is missing)."""
    if os.geteuid() != 0:
        raise NetError("the real lab network needs root (network namespaces, a bridge, nftables)")
    missing = [f"{tool} ({pkg})" for tool, pkg in TOOLS.items() if shutil.which(tool) is None]
    if missing:
        raise NetError(f"missing: {', '.join(missing)}; on Debian: apt-get install -y dnsmasq-base nftables iproute2")
