"""The real lab network's tests run as root and make namespaces, a bridge, nft tables and dnsmasq
processes with a prefix and subnet of their own, so that parallel runs never meet (issue 15)."""

from __future__ import annotations

import os
import secrets
import subprocess

import pytest

from bwlab.realnet import lab
from bwlab.realnet.plan import Plan


def machine_state(prefix: str) -> dict:
    """What `ip`, `nft` and the process table say exists of ``prefix`` — read with the tools
    themselves, not with the lab's own inventory."""
    def out(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=True).stdout

    procs = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().decode(errors="replace")
            except OSError:
                continue
            if "dnsmasq" in argv and f"/{prefix}/" in argv:
                procs.append(int(pid))
    return {
        "netns": [line.split()[0] for line in out("ip", "netns", "list").splitlines() if line.startswith(prefix)],
        "links": [line.split(":")[1].strip().split("@")[0] for line in out("ip", "-o", "link", "show").splitlines()
                  if line.split(":")[1].strip().startswith(prefix)],
        "nft_tables": [line for line in out("nft", "list", "tables").splitlines() if prefix in line],
        "dnsmasq": procs,
        "netns_etc": [p for p in os.listdir("/etc/netns") if p.startswith(prefix)] if os.path.isdir("/etc/netns") else [],
    }


@pytest.fixture
def net_name():
    """A fresh (prefix, subnet); whatever a test leaves of it is removed afterwards."""
    prefix = "bt" + secrets.token_hex(2)
    subnet = f"10.{78 + secrets.randbelow(20)}.{secrets.randbelow(250)}.0/24"
    yield prefix, subnet
    lab.teardown(prefix)


@pytest.fixture
def small_net(net_name):
    prefix, subnet = net_name
    plan = Plan(prefix=prefix, subnet=subnet).with_nodes("camera", ["B8A44F000101", "B8A44F000102"]) \
        .with_nodes("browser", ["viewer"])
    return lab.build(plan)
