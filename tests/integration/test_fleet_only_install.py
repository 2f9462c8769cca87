"""The fleet runs from an install that holds only ``bwlab``, ``labnet`` and ``firmware_stub`` (issue 11,
"Must show"): a fleet on another host needs no appliance package.

The test copies those three packages into a directory of its own and runs Python there with ``-S``
(no ``site``: neither the editable install's finder nor any ``.pth`` file is active) and
``PYTHONPATH`` = that directory + the site-packages holding the third-party dependencies. There
``import appliance`` fails; ``python -m bwlab fleet`` runs the demo's camera that is out of its
dock against the appliance of this test (another process), and the camera connects to its device
hub.

covers: D1, D3
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import sysconfig
from pathlib import Path

import bwlab
import firmware_stub
import labnet

DAVID = "B8A44F000104"  # the demo's camera out of its dock, ready to stream
PACKAGES = (bwlab, labnet, firmware_stub)


def fleet_only_install(target: Path) -> dict[str, str]:
    """Copy the three packages into ``target``; the environment that runs Python from there alone."""
    for package in PACKAGES:
        source = Path(package.__file__).parent
        shutil.copytree(source, target / source.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dependencies = dict.fromkeys(sysconfig.get_paths()[key] for key in ("purelib", "platlib"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = os.pathsep.join([str(target), *dependencies])
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


async def run_python(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-S",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


# covers: D1, D3
async def test_fleet_from_an_install_without_the_appliance_connects_a_camera(
    appliance, demo_lab, camera_online, poll, tmp_path
):
    install = tmp_path / "fleet-install"
    env = fleet_only_install(install)
    assert sorted(p.name for p in install.iterdir()) == ["bwlab", "firmware_stub", "labnet"]

    code, out = await run_python(env, install, "-c", "import appliance")
    assert code != 0 and "No module named 'appliance'" in out, out
    code, out = await run_python(
        env,
        install,
        "-c",
        "import bwlab.cli, firmware_stub.fleet, labnet.wifi, sys; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'appliance'))",
    )
    assert (code, out.strip()) == (0, "[]"), out

    fleet_dir = tmp_path / "fleet-data"
    (fleet_dir / "tls").mkdir(parents=True)
    (fleet_dir / "tls" / "lab-ca.pem").write_text(appliance.ca_pem)
    assert not await camera_online(DAVID)
    fleet = await asyncio.create_subprocess_exec(
        sys.executable,
        "-S",
        "-m",
        "bwlab",
        "fleet",
        "--url",
        appliance.url,
        "--token",
        appliance.lab_token,
        "--data-dir",
        str(fleet_dir),
        "--only",
        DAVID,
        "--media",
        "shared",
        cwd=install,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await poll(
            lambda: camera_online(DAVID),
            "David's camera, run from the fleet-only install, on the hub",
            timeout=60,
            step=0.5,
        )
        assert fleet.returncode is None
    finally:
        if fleet.returncode is None:
            fleet.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(fleet.communicate(), 30)
    log = err.decode(errors="replace")
    assert "1 cameras running against " + appliance.url in log, log
    assert fleet.returncode == 0, log
