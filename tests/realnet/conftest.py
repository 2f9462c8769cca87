"""The real lab network's tests run as root and make namespaces, a bridge, nft tables and dnsmasq
processes with a prefix and subnet of their own, so that parallel runs never meet (issue 15)."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess

import pytest

from bwlab.realnet import lab
from bwlab.realnet.plan import Plan
from tests.conftest import run_bwlab_sync, run_process, start_appliance, wait_until


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
        "links": [
            line.split(":")[1].strip().split("@")[0]
            for line in out("ip", "-o", "link", "show").splitlines()
            if line.split(":")[1].strip().startswith(prefix)
        ],
        "nft_tables": [line for line in out("nft", "list", "tables").splitlines() if prefix in line],
        "dnsmasq": procs,
        "netns_etc": [p for p in os.listdir("/etc/netns") if p.startswith(prefix)]
        if os.path.isdir("/etc/netns")
        else [],
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
    plan = (
        Plan(prefix=prefix, subnet=subnet)
        .with_nodes("camera", ["B8A44F000101", "B8A44F000102"])
        .with_nodes("browser", ["viewer"])
    )
    return lab.build(plan)


@pytest.fixture
async def real_appliance(small_net, tmp_path):
    """The appliance on the lab bridge: its loopback port for the lab, and every T5 name's
    address on port 443 (certificate by SNI)."""
    plan = small_net
    appliance, stop, task = await start_appliance(
        tmp_path / "data", service_addresses=tuple(plan.services.values()), tls_names=(plan.gateway,)
    )
    yield plan, appliance
    stop.set()
    await asyncio.wait_for(task, 15)


async def in_netns(netns: str, *cmd: str, timeout: float = 30.0) -> tuple[int, str, str]:
    return await run_process("ip", "netns", "exec", netns, *cmd, timeout=timeout)


def site_firewall(address: str, table: str = "sitefw") -> str:
    """A site firewall's rule as a network engineer writes it by hand: drop what goes to ``address``."""
    return (
        f"table inet {table} {{\n chain output {{\n  type filter hook output priority 0; policy accept;\n"
        f"  ip daddr {address} tcp dport 443 drop\n }}\n}}\n"
    )


class RealLab:
    """``bwlab up --network real`` run as a user runs it (the demo, shared media, no timeline), and
    the ``bwlab`` commands against it."""

    def __init__(self, prefix: str, subnet: str, data_dir):
        import sys

        from tests.conftest import free_port

        self.prefix, self.data_dir = prefix, data_dir
        self._stopped: tuple[int, str] | None = None
        self.env = dict(os.environ, BWLAB_NET_PREFIX=prefix)
        self.up = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bwlab",
                "up",
                "--network",
                "real",
                "--net-prefix",
                prefix,
                "--net-subnet",
                subnet,
                "--port",
                str(free_port()),
                "--data-dir",
                str(data_dir),
                "--no-zeroconf",
                "--media",
                "shared",
                "--no-timeline",
            ],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def bwlab(self, *args: str) -> subprocess.CompletedProcess:
        return run_bwlab_sync(*args, "--data-dir", str(self.data_dir), cwd=None, env=self.env)

    def status(self) -> dict | None:
        import json

        run = self.bwlab("status", "--json")
        return json.loads(run.stdout) if run.returncode == 0 else None

    def ready(self) -> dict:
        """Once the demo's six cameras are listed with the network: the status."""

        def listed():
            lab = self.status() or {}
            return lab if lab.get("network") and len(lab["systems"][0]["cameras"]) == 6 else None

        return wait_until(listed, "the demo's six cameras on the real lab network", 120)

    def stop(self) -> tuple[int, str]:
        import signal

        if self._stopped is None:
            self.up.send_signal(signal.SIGTERM)
            out, _ = self.up.communicate(timeout=60)
            self._stopped = (self.up.returncode, out)
        return self._stopped


@pytest.fixture
def real_lab(net_name, tmp_path):
    lab_run = RealLab(*net_name, tmp_path / "lab")
    yield lab_run
    lab_run.stop()
