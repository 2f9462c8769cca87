"""Building the real lab network and tearing it down leaves nothing (issue 15, must show)."""

# covers: T5

import os
import signal
import subprocess
import sys

from bwlab.realnet import lab
from tests.realnet.conftest import machine_state


def test_build_makes_every_part_and_teardown_removes_every_part(small_net):
    plan = small_net
    lab.add_fault(plan, "firewall", "bridge", {"address": plan.services["api.bwlab.test"], "port": 443})
    lab.add_fault(plan, "dns", "B8A44F000102", {"name": "devices.bwlab.test"})  # a resolver of its own
    there = machine_state(plan.prefix)
    assert sorted(there["netns"]) == sorted(n.netns for n in plan.nodes)
    assert {plan.bridge, f"{plan.prefix}c0", f"{plan.prefix}c1", f"{plan.prefix}b0"} <= set(there["links"])
    assert there["nft_tables"] == [f"table inet {plan.prefix}_fault"]
    assert len(there["dnsmasq"]) == 2  # the lab DNS and B8A44F000102's own
    inside = subprocess.run(
        ["ip", "-n", plan.node("B8A44F000101").netns, "-br", "addr", "show", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert plan.node("B8A44F000101").ip in inside
    mac = subprocess.run(
        ["ip", "-n", plan.node("B8A44F000101").netns, "-br", "link", "show", "eth0"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert plan.node("B8A44F000101").mac in mac

    lab.teardown(plan.prefix)
    assert machine_state(plan.prefix) == {"netns": [], "links": [], "nft_tables": [], "dnsmasq": [], "netns_etc": []}
    assert lab.leftovers(plan.prefix) == {}


def test_net_down_cleans_up_after_a_crash(net_name):
    """`bwlab net up` in a process that is killed, its state directory lost: `bwlab net down`
    still finds everything by the prefix."""
    prefix, subnet = net_name
    env = dict(os.environ, BWLAB_NET_PREFIX=prefix)
    up = subprocess.run(
        [sys.executable, "-m", "bwlab", "net", "up", "--subnet", subnet, "--cameras", "CAM1,CAM2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode == 0, up.stderr
    sleeper = subprocess.Popen(["ip", "netns", "exec", f"{prefix}-camera-CAM1", "sleep", "300"])  # a lab process
    try:
        subprocess.run(["rm", "-rf", str(lab.state_dir(prefix))], check=True)  # the crash took the state with it
        assert machine_state(prefix)["dnsmasq"] and machine_state(prefix)["netns"]
        down = subprocess.run(
            [sys.executable, "-m", "bwlab", "net", "down"], env=env, capture_output=True, text=True, timeout=60
        )
        assert down.returncode == 0, down.stderr
        assert "3 netns" in down.stdout and "1 dnsmasq" in down.stdout
        assert sleeper.wait(timeout=10) == -signal.SIGTERM
    finally:
        sleeper.kill()
    assert machine_state(prefix) == {"netns": [], "links": [], "nft_tables": [], "dnsmasq": [], "netns_etc": []}
