"""L4 over the running lab: the pcap the lab exports for a camera (``GET
/api/lab/cameras/{serial}/pcap``) opens in tshark and shows the 802.11 frames its failure implies:

* a wrong password (T2 row 3c, T3 row 2b): authentication and association succeed, then EAPOL
  message 1 and message 2 again and again, then the AP's deauthentication with reason 15
  (4-way handshake timeout);
* an AP that does not allow WPA2 (T3 row 2a): an association response with status 43 (invalid
  AKMP) and no EAPOL at all;
* a wrong SSID (T2 row 3e, T3 row 3): probe requests for the SSID and nothing that answers them;
* a hand-over (T3 row 5): a reassociation request naming the old AP, then the 4-way handshake
  with the new one.
"""

# covers: L4, T2, T3

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest

from bwlab.apply import apply_scenario
from bwlab.scenario import load_scenario
from firmware_stub.fleet import Fleet
from tests.conftest import start_appliance

HERE = Path(__file__).parent
FILES = ("t2-3c-wrong-password", "t3-2a-wpa3-only", "t3-3-wrong-ssid", "t3-5-roaming")
TSHARK = shutil.which("tshark") or "/usr/bin/tshark"
ASSOC_RESP, REASSOC_REQ, PROBE_REQ, PROBE_RESP, DEAUTH, EAPOL = 0x01, 0x02, 0x04, 0x05, 0x0C, 0x20


def tshark_rows(path: Path) -> list[dict[str, str]]:
    fields = (
        "wlan.fc.type_subtype",
        "wlan.fixed.status_code",
        "wlan.fixed.reason_code",
        "wlan_rsna_eapol.keydes.msgnr",
        "wlan.ssid",
        "wlan.fixed.current_ap",
        "wlan.addr",
    )
    args = [TSHARK, "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for f in fields:
        args += ["-e", f]
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    rows = []
    for line in out.splitlines():
        values = dict(zip(fields, line.split("\t"), strict=True))
        values["type"] = int(values["wlan.fc.type_subtype"], 0)
        rows.append(values)
    return rows


@pytest.fixture
async def lab_with(tmp_path):
    """The scenarios of FILES built in one appliance, their cameras running."""
    appliance, stop, task = await start_appliance(tmp_path / "data")
    fleets = []
    scenarios = {}
    for name in FILES:
        scenario, _ = load_scenario(HERE / f"{name}.toml")
        await apply_scenario(scenario, appliance.url, appliance.ca_pem, appliance.lab_token)
        fleet = Fleet(
            url=appliance.url,
            ca_pem=appliance.ca_pem,
            lab_token=appliance.lab_token,
            clock=appliance.clock,
            media="shared",
        )
        await fleet.start(scenario)
        fleets.append(fleet)
        scenarios[name] = scenario.systems[0].cameras[0].serial
    async with appliance.lab() as lab:
        yield lab, scenarios, tmp_path
    for fleet in fleets:
        await fleet.close()
    stop.set()
    await task


async def pcap(lab, serial: str, tmp_path: Path) -> list[dict[str, str]]:
    async with lab.http.get(f"{lab.base_url}/api/lab/cameras/{serial}/pcap", headers=lab.headers(), ssl=lab.ssl) as r:
        assert r.status == 200 and r.content_type == "application/vnd.tcpdump.pcap"
        assert r.headers["Content-Disposition"].endswith(f'filename="{serial}-80211.pcap"')
        data = await r.read()
    path = tmp_path / f"{serial}.pcap"
    path.write_bytes(data)
    return await asyncio.to_thread(tshark_rows, path)


async def failure(lab, serial: str, code: str | None, poll) -> None:
    async def reached():
        cams = (await lab.get("/api/lab/cameras"))["cameras"]
        state = next((c["state"] for c in cams if c["serial"] == serial), None) or {}
        wifi = (state.get("radio") or {}).get("wifi") or {}
        return wifi.get("failure") == code if code else wifi.get("state") == "connected"

    await poll(reached, f"{serial}: {code or 'connected'}")


async def test_each_failure_shows_its_frames_in_tshark(lab_with, poll):
    lab, serials, tmp_path = lab_with
    for serial in serials.values():
        await lab.post(f"/api/lab/cameras/{serial}/actions", {"action": "undock"})

    # Wrong password: EAPOL 1, 2 (repeated: the AP retries message 1), then deauthentication 15.
    await failure(lab, serials["t2-3c-wrong-password"], "wrong_password", poll)
    rows = await pcap(lab, serials["t2-3c-wrong-password"], tmp_path)
    assert any(r["type"] == ASSOC_RESP and r["wlan.fixed.status_code"] == "0x0000" for r in rows)
    handshake = [r for r in rows if r["type"] in (EAPOL, DEAUTH)]
    first = handshake[:9]
    assert [r["wlan_rsna_eapol.keydes.msgnr"] for r in first[:8]] == ["1", "2"] * 4
    assert first[8]["type"] == DEAUTH and int(first[8]["wlan.fixed.reason_code"], 0) == 15
    assert not any(r["wlan_rsna_eapol.keydes.msgnr"] in ("3", "4") for r in rows)

    # WPA3 only: the association is refused with status 43 (invalid AKMP); no handshake at all.
    await failure(lab, serials["t3-2a-wpa3-only"], "wpa2_not_allowed", poll)
    rows = await pcap(lab, serials["t3-2a-wpa3-only"], tmp_path)
    refused = [r for r in rows if r["type"] == ASSOC_RESP]
    assert refused and all(int(r["wlan.fixed.status_code"], 0) == 43 for r in refused)
    assert not any(r["type"] == EAPOL for r in rows)

    # Wrong SSID: the camera asks for "LabNett"; nobody answers it.
    await failure(lab, serials["t3-3-wrong-ssid"], "ssid_not_found", poll)
    rows = await pcap(lab, serials["t3-3-wrong-ssid"], tmp_path)
    probes = [r for r in rows if r["type"] == PROBE_REQ]
    assert probes and {bytes.fromhex(r["wlan.ssid"]).decode() for r in probes} == {"LabNett"}  # tshark prints hex
    assert not any(r["type"] in (PROBE_RESP, ASSOC_RESP, EAPOL) for r in rows)

    # A hand-over: a reassociation request naming the old AP, then a full 4-way handshake.
    roaming = serials["t3-5-roaming"]
    await failure(lab, roaming, None, poll)
    await lab.post(f"/api/lab/cameras/{roaming}/actions", {"action": "move", "position": [55, 0]})
    await poll(lambda: _roamed(lab, roaming), "the camera roams to AP-East")
    rows = await pcap(lab, roaming, tmp_path)
    reassoc = [i for i, r in enumerate(rows) if r["type"] == REASSOC_REQ]
    assert len(reassoc) == 1 and rows[reassoc[0]]["wlan.fixed.current_ap"]
    after = [r["wlan_rsna_eapol.keydes.msgnr"] for r in rows[reassoc[0] :] if r["type"] == EAPOL]
    assert after == ["1", "2", "3", "4"]


async def _roamed(lab, serial: str) -> bool:
    cams = (await lab.get("/api/lab/cameras"))["cameras"]
    state = next(c["state"] for c in cams if c["serial"] == serial)
    return any(r["event"] == "roamed" for r in state["radio"].get("roams") or [])
