"""`bwlab fault add firewall|dns|bandwidth|loss` act on packets in a namespace or on the bridge,
and clearing them restores the path (issue 15)."""

# covers: T5, T2

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bwlab.realnet import lab
from tests.conftest import run_bwlab_sync
from tests.realnet.conftest import in_netns

PROBE = str(Path(__file__).with_name("probe_tls.py"))
CAM = "B8A44F000101"
OTHER = "B8A44F000102"


async def _probe(plan, appliance, node: str, name: str) -> tuple[int, str]:
    rc, out, err = await in_netns(
        plan.node(node).netns, sys.executable, PROBE, name, str(appliance.data_dir / "tls" / "lab-ca.pem")
    )
    return rc, out if rc == 0 else err


def _bwlab_fault(prefix: str, *args: str) -> subprocess.CompletedProcess:
    return run_bwlab_sync("fault", *args, env=dict(os.environ, BWLAB_NET_PREFIX=prefix))


async def test_firewall_by_host_name_in_one_namespace_blocks_that_name_there_only(real_appliance):
    plan, appliance = real_appliance
    added = _bwlab_fault(
        plan.prefix, "add", "firewall", CAM, "host=storage-eu.bwlab.test", "port=443", "action=reject", "--json"
    )
    assert added.returncode == 0, added.stderr
    fault = json.loads(added.stdout)
    assert fault["address"] == plan.services["storage-eu.bwlab.test"]  # resolved by the lab DNS when added
    code, out, err = await appliance.bwlab("fault", "list", env={"BWLAB_NET_PREFIX": plan.prefix})
    assert code == 0, err
    assert f"{fault['id']:<12} firewall in {CAM}: reject out storage-eu.bwlab.test" in out
    rc, err = await _probe(plan, appliance, CAM, "storage-eu.bwlab.test")
    assert rc != 0 and "ConnectionRefused" in err  # the reject answers with a TCP reset
    assert (await _probe(plan, appliance, CAM, "devices.bwlab.test"))[0] == 0  # another name passes
    assert (await _probe(plan, appliance, OTHER, "storage-eu.bwlab.test"))[0] == 0  # another namespace too
    cleared = _bwlab_fault(plan.prefix, "clear", fault["id"])
    assert cleared.returncode == 0 and "storage-eu.bwlab.test" in cleared.stdout
    assert (await _probe(plan, appliance, CAM, "storage-eu.bwlab.test"))[0] == 0
    rc, out, _ = await in_netns(plan.node(CAM).netns, "nft", "list", "tables")
    assert "bwlab_fault" not in out  # no fault: no table


async def test_a_firewall_rule_on_the_bridge_blocks_every_namespace(real_appliance):
    plan, appliance = real_appliance
    fault = lab.add_fault(plan, "firewall", "bridge", {"address": plan.services["ws.bwlab.test"], "port": 443})
    assert (
        f"table inet {plan.prefix}_fault"
        in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    )
    for node in (CAM, "viewer"):
        rc, err = await _probe(plan, appliance, node, "ws.bwlab.test")
        assert rc != 0 and "timed out" in err
    lab.clear_faults(plan, fault.id)
    assert (await _probe(plan, appliance, "viewer", "ws.bwlab.test"))[0] == 0


async def test_dns_faults_missing_and_elsewhere_in_one_namespace_then_for_all(real_appliance):
    plan, appliance = real_appliance
    missing = lab.add_fault(plan, "dns", CAM, {"name": "devices.bwlab.test"})
    rc, out, _ = await in_netns(plan.node(CAM).netns, "getent", "hosts", "devices.bwlab.test")
    assert rc == 2  # NXDOMAIN from its own resolver
    rc, out, _ = await in_netns(plan.node(OTHER).netns, "getent", "hosts", "devices.bwlab.test")
    assert out.split()[0] == plan.services["devices.bwlab.test"]  # the others still resolve it
    lab.add_fault(plan, "dns", CAM, {"name": "live.bwlab.test", "to": "nowhere"})
    rc, out, _ = await in_netns(plan.node(CAM).netns, "getent", "hosts", "live.bwlab.test")
    assert out.split()[0] == plan.nowhere
    rc, err = await _probe(plan, appliance, CAM, "live.bwlab.test")
    assert rc != 0  # nothing answers at the wrong address
    everyone = lab.add_fault(plan, "dns", "all", {"name": "api.bwlab.test"})
    for node in (CAM, OTHER):
        rc, _, _ = await in_netns(plan.node(node).netns, "getent", "hosts", "api.bwlab.test")
        assert rc == 2
    lab.clear_faults(plan, missing.id)
    lab.clear_faults(plan, everyone.id)
    rc, out, _ = await in_netns(plan.node(CAM).netns, "getent", "hosts", "devices.bwlab.test")
    assert out.split()[0] == plan.services["devices.bwlab.test"]
    lab.clear_faults(plan)
    assert (await _probe(plan, appliance, CAM, "live.bwlab.test"))[0] == 0
    assert lab.load_faults(plan.prefix) == ([], {})
    assert "dnsmasq" in lab.leftovers(plan.prefix) and len(lab.leftovers(plan.prefix)["dnsmasq"]) == 1


async def test_total_loss_and_a_bandwidth_cap_act_on_the_namespace_packets(real_appliance):
    plan, appliance = real_appliance
    loss = lab.add_fault(plan, "loss", CAM, {"percent": 100})
    rc, err = await _probe(plan, appliance, CAM, "devices.bwlab.test")
    assert rc != 0  # every packet out of the namespace dropped: not even DNS gets through
    lab.clear_faults(plan, loss.id)
    cap = lab.add_fault(plan, "bandwidth", CAM, {"rate": "2mbit"})
    rc, out, _ = await in_netns(plan.node(CAM).netns, "tc", "-s", "qdisc", "show", "dev", "eth0")
    assert "tbf" in out and "rate 2Mbit" in out
    assert (await _probe(plan, appliance, CAM, "devices.bwlab.test"))[0] == 0
    rc, out, _ = await in_netns(plan.node(CAM).netns, "tc", "-s", "qdisc", "show", "dev", "eth0")
    sent = int(out.split("Sent ")[1].split()[0])
    assert sent > 500  # the probe's packets went through the cap
    lab.clear_faults(plan, cap.id)
    rc, out, _ = await in_netns(plan.node(CAM).netns, "tc", "qdisc", "show", "dev", "eth0")
    assert "tbf" not in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["add", "firewall", CAM], "needs at least one KEY=VALUE"),
        (["add", "firewall", CAM, "port=443"], "host=NAME"),
        (["add", "firewall", "NOPE", "address=10.0.0.1"], "no node 'NOPE'"),
        (["add", "dns", "all", "name=example.com"], "T5 host name"),
        (["clear", "net-99"], "no lab network fault 'net-99'"),
    ],
)
def test_bad_network_faults_are_refused_and_change_nothing(small_net, args, message):
    plan = small_net
    run = _bwlab_fault(plan.prefix, *args)
    assert run.returncode == 2 and message in run.stderr, run.stderr
    assert lab.load_faults(plan.prefix) == ([], {})


async def test_capture_writes_a_real_pcap_of_the_bridge_and_of_one_namespace(real_appliance, tmp_path):
    plan, appliance = real_appliance
    env = dict(os.environ, BWLAB_NET_PREFIX=plan.prefix)
    captures = {}
    for where in ("bridge", "viewer"):
        out = tmp_path / f"{where}.pcapng"
        captures[where] = (
            out,
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bwlab", "capture", where, "--seconds", "4", "-o", str(out), env=env
            ),
        )
    await asyncio.sleep(1.5)  # dumpcap is listening
    assert (await _probe(plan, appliance, "viewer", "live.bwlab.test"))[0] == 0
    assert (await _probe(plan, appliance, CAM, "devices.bwlab.test"))[0] == 0
    for where, (out, proc) in captures.items():
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        hellos = subprocess.run(
            [
                "tshark",
                "-r",
                str(out),
                "-Y",
                "tls.handshake.type == 1",
                "-T",
                "fields",
                "-e",
                "ip.src",
                "-e",
                "tls.handshake.extensions_server_name",
            ],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.split("\n")
        got = {tuple(line.split("\t")) for line in hellos if line}
        if where == "bridge":
            assert got == {(plan.node("viewer").ip, "live.bwlab.test"), (plan.node(CAM).ip, "devices.bwlab.test")}
        else:  # inside the viewer's namespace: only its own traffic
            assert got == {(plan.node("viewer").ip, "live.bwlab.test")}
