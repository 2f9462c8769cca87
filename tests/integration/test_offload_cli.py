"""The issue-13 command line against a running lab: ``bwlab content-destination import``,
``bwlab bookmark`` and ``bwlab category`` while recording, ``bwlab recordings [SERIAL] --json``;
and the scenario key ``content_destination`` resolved next to the scenario file."""

# covers: issue-13 (item 4: interfaces)

from __future__ import annotations

import asyncio
import json
from importlib import resources

import pytest

from bwlab.content_destination.service import ServeOptions, start
from bwlab.scenario import load_scenario

BEN = "B8A44F000102"


@pytest.fixture
async def lab_destination(appliance, tmp_path):
    running = await start(ServeOptions(directory=tmp_path / "cd", port=0), appliance.clock)
    yield running
    await running.close()


async def test_import_annotate_and_list_from_the_command_line(appliance, demo_lab, demo_fleet, lab_destination, poll):
    code, out, err = await appliance.bwlab(
        "content-destination",
        "import",
        str(lab_destination.connection_path),
        "--system",
        "Main station",
        "--password",
        "manager-pass",
    )
    assert code == 0, err
    assert "Main station: content destination" in out and "connection ID" in out
    code, _, err = await appliance.bwlab(
        "content-destination",
        "import",
        str(lab_destination.connection_path),
        "--system",
        "Nowhere",
        "--password",
        "x",
    )
    assert code == 2 and "no system named 'Nowhere'" in err

    fleet = await demo_fleet({BEN})
    dock, bay = fleet.where[BEN]
    await fleet.undock(BEN)
    await fleet.cameras[BEN].press("record")
    code, _, err = await appliance.bwlab("bookmark", BEN, "door forced", "--tags", "Source:CLI")
    assert code == 0, err
    code, _, err = await appliance.bwlab("category", BEN, "3", "Assault")
    assert code == 0, err
    manifest = fleet.cameras[BEN].recordings.recording.manifest
    assert [b.text for b in manifest.bookmarks] == ["door forced"] and manifest.category.name == "Assault"
    await asyncio.sleep(2.0)
    await fleet.cameras[BEN].press("record", "long")
    await fleet.dock(BEN, dock, bay)

    async def listed():
        code, out, _ = await appliance.bwlab("recordings", BEN, "--json")
        data = json.loads(out) if code == 0 else {}
        recs = [r for c in data.get("controllers", []) for r in c["recordings"]]
        return data if recs and recs[0]["state"] == "complete" else None

    data = await poll(listed, "bwlab recordings to list the recording Complete", timeout=60, step=1.0)
    assert data["cameras"][0]["serial"] == BEN and data["cameras"][0]["storage"]["recordings"] == 0
    assert data["controllers"][0]["destination"]["status"] == "connected"
    code, out, _ = await appliance.bwlab("recordings")
    assert code == 0 and "complete" in out and "Controller 'Main station': connected" in out


def test_the_scenario_key_is_a_path_next_to_the_scenario(tmp_path):
    text = resources.files("bwlab").joinpath("scenarios/demo.toml").read_text(encoding="utf-8")
    text = text.replace(
        'name = "Main station"\n', 'name = "Main station"\ncontent_destination = "cd/connection.json"\n', 1
    )
    path = tmp_path / "site" / "lab.toml"
    path.parent.mkdir()
    path.write_text(text)
    scenario, _ = load_scenario(path)
    assert scenario.systems[0].content_destination == str(tmp_path / "site" / "cd" / "connection.json")
