"""The must-show of issue 15, as root: the demo fleet streams on the real lab network; a packet
rule written by hand with `nft` (and then a DNS fault) against the EU storage host name in one
camera's namespace gives that camera T2 row 5's service error while the others stream, and it
recovers when the rule goes; `bwlab doctor` names the host name from what the camera saw; a
capture on the bridge shows each T5 name in TLS ClientHellos from the expected namespaces only;
stopping the lab leaves nothing behind."""

# covers: T5, T2, D1

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bwlab.client import Session
from bwlab.regions import SERVICE_HOSTS
from tests.conftest import wait_until
from tests.realnet.conftest import machine_state, site_firewall

PROBE = str(Path(__file__).with_name("probe_tls.py"))
STREAMING = ["B8A44F000101", "B8A44F000102", "B8A44F000103"]
BLOCKED = STREAMING[0]
EU = "storage-eu.bwlab.test"


def _hellos(capture: Path) -> str:
    """``source address<TAB>SNI`` of every TLS ClientHello in the capture, by tshark."""
    return subprocess.run(
        [
            "tshark",
            "-r",
            str(capture),
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
        timeout=60,
    ).stdout


@pytest.mark.timeout(420)
def test_demo_fleet_on_the_real_network_firewall_and_dns_faults_from_packets(real_lab, tmp_path):
    prefix, data_dir, bwlab, status = real_lab.prefix, real_lab.data_dir, real_lab.bwlab, real_lab.status

    def cameras() -> dict[str, dict]:
        return {c["serial"]: c for s in (status() or {}).get("systems", []) for c in s["cameras"]}

    def states() -> dict[str, dict]:
        facts = json.loads((data_dir / "lab.json").read_text())

        async def get():
            async with Session(facts["url"], Path(facts["ca_path"]).read_text(), token=facts["lab_token"]) as s:
                return (await s.get("/api/lab/cameras"))["cameras"]

        return {c["serial"]: c["state"] for c in asyncio.run(get())}

    def streaming(serials) -> bool:
        cams = cameras()
        return all(cams.get(s, {}).get("online") and cams[s].get("stream") == "live" for s in serials)

    def service_error(serial: str, seen: str):
        state = states().get(serial) or {}
        services = (state.get("radio") or {}).get("services") or {}
        cams = cameras()
        return (
            (state.get("last_error") or {}).get("code") == "service_unreachable"
            and (services.get(EU) or {}).get("error") == seen
            and serial in cams
            and not cams[serial]["online"]
        )

    capture = tmp_path / "bridge.pcapng"
    dumpcap = None
    try:
        lab = real_lab.ready()
        plan = lab["network"]
        cams = {c["serial"]: c for c in lab["systems"][0]["cameras"]}
        for serial, cam in cams.items():  # bwlab status --json: namespace, MAC, address per camera
            node = next(n for n in plan["nodes"] if n["name"] == serial)
            assert cam["network"] == {"netns": f"{prefix}-camera-{serial}", "mac": node["mac"], "ip": node["ip"]}
        camera_ips = {n["ip"] for n in plan["nodes"] if n["kind"] == "camera"}
        human = bwlab("status").stdout  # and in the plain listing
        assert all(
            f"{c['network']['ip']} {c['network']['mac']} {c['network']['netns']}" in human for c in cams.values()
        )
        viewer = next(n for n in plan["nodes"] if n["kind"] == "browser")
        dumpcap = subprocess.Popen(
            ["dumpcap", "-q", "-i", plan["bridge"], "-f", "tcp port 443", "-w", str(capture)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: capture.exists() and capture.stat().st_size > 0, "dumpcap on the bridge", 20)

        for serial in STREAMING:
            assert bwlab("undock", serial).returncode == 0
            assert bwlab("press", serial, "record").returncode == 0
        wait_until(lambda: streaming(STREAMING), "three cameras streaming over the T5 names", 90)
        lan = {serial: (state.get("radio") or {}).get("lan") for serial, state in states().items()}
        for serial in STREAMING:  # the camera's own view of its place on the network, for the Lab panel
            assert lan[serial] == {
                "ip": cams[serial]["network"]["ip"],
                "mac": cams[serial]["network"]["mac"],
                "netns": cams[serial]["network"]["netns"],
            }

        # A site firewall's rule, written by hand: drop the EU storage name's address in one namespace.
        eu_address = plan["services"][EU]
        netns = cams[BLOCKED]["network"]["netns"]
        subprocess.run(
            ["ip", "netns", "exec", netns, "nft", "-f", "-"], check=True, text=True, input=site_firewall(eu_address)
        )
        wait_until(lambda: service_error(BLOCKED, "timeout"), "T2 row 5's service error on the blocked camera", 60)
        assert streaming(STREAMING[1:])  # the others stream on
        doctor = bwlab("doctor", BLOCKED)
        assert "T2-5-hostnames" in doctor.stdout and f"not reached: {EU} port 443" in doctor.stdout, doctor.stdout
        assert "video storage, EU" in doctor.stdout and "timeout" in doctor.stdout
        others = json.loads(bwlab("doctor", STREAMING[1], "--json").stdout)
        assert "T2-5-hostnames" not in others["cameras"][0]["codes"]

        subprocess.run(["ip", "netns", "exec", netns, "nft", "delete", "table", "inet", "sitefw"], check=True)
        wait_until(lambda: streaming(STREAMING), "the camera back on the hub and streaming", 90)
        assert "T2-5-hostnames" not in json.loads(bwlab("doctor", BLOCKED, "--json").stdout)["cameras"][0]["codes"]

        # The same with the lab DNS: the name is missing for that camera only.
        added = bwlab("fault", "add", "dns", BLOCKED, f"name={EU}", "--json")
        assert added.returncode == 0, added.stderr
        fault = json.loads(added.stdout)
        wait_until(lambda: service_error(BLOCKED, "dns"), "the service error from a missing DNS name", 60)
        assert streaming(STREAMING[1:])
        doctor = bwlab("doctor", BLOCKED)
        assert f"not reached: {EU} port 443" in doctor.stdout and "dns" in doctor.stdout, doctor.stdout
        assert bwlab("fault", "clear", fault["id"]).returncode == 0
        wait_until(lambda: streaming(STREAMING), "recovery once the name resolves again", 90)

        # A browser: every T5 name from the viewer's namespace, each with its own certificate.
        ca = str(data_dir / "tls" / "lab-ca.pem")
        browser_names = [h.name for h in SERVICE_HOSTS if h.name != "devices.bwlab.test"]  # cameras, controllers only
        for name in browser_names:
            probe = subprocess.run(
                ["ip", "netns", "exec", viewer["netns"], sys.executable, PROBE, name, ca],
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert probe.returncode == 0 and json.loads(probe.stdout)["subject"]["commonName"] == name, probe.stderr
        wait_until(lambda: browser_names[-1] in _hellos(capture), "the last ClientHello in the capture file", 20)
    finally:
        if dumpcap is not None:
            dumpcap.send_signal(signal.SIGINT)
            dumpcap.wait(timeout=10)
        returncode, out = real_lab.stop()
    assert returncode == 0, out[-3000:]

    seen: dict[str, set[str]] = {}
    for line in _hellos(capture).splitlines():
        src, _, sni = line.partition("\t")
        seen.setdefault(sni, set()).add(src)
    assert set(seen) == {h.name for h in SERVICE_HOSTS}  # each T5 name in SNI, and nothing else
    assert seen["devices.bwlab.test"] <= camera_ips and seen[EU] >= set(
        cams[s]["network"]["ip"] for s in STREAMING
    )  # the cameras reach messaging and EU storage
    assert seen[EU] <= camera_ips | {viewer["ip"]}
    for name in browser_names:
        if name != EU:
            assert seen[name] == {viewer["ip"]}, (name, seen[name])
    assert machine_state(prefix) == {"netns": [], "links": [], "nft_tables": [], "dnsmasq": [], "netns_etc": []}
