"""Issue 10, item 9 and the listening address: `bwlab up` as a user starts it keeps the lab's
secrets to its own user (data directory 0700, every secret-bearing file 0600, SQLite's -wal and
-shm included) and listens on 127.0.0.1 unless told otherwise (docs/security.md).

covers: S4, D2
"""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from pathlib import Path

import psutil

from tests.conftest import free_port, wait_until

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name = "modes"
description = "one account and one system, no cameras"

[[accounts]]
email = "owner@modes.bwlab.test"
name = "Owner"
password = "modes-owner-pass"

[organization]
name = "Modes"
owner = "owner@modes.bwlab.test"

[[systems]]
name = "Modes station"
admin_password = "modes-manager-pass"
region = "eu"
"""

SECRET_FILES = (
    "lab.json",
    "lab-token",
    "cloud.sqlite3",
    "cloud.sqlite3-wal",
    "cloud.sqlite3-shm",
    "controller.sqlite3",
    "controller.sqlite3-wal",
    "controller.sqlite3-shm",
    "tls/lab-ca.key",
    "tls/server.key",
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_up_keeps_secrets_to_its_user_and_listens_on_loopback_by_default(tmp_path):
    scenario = tmp_path / "modes.toml"
    scenario.write_text(SCENARIO)
    data_dir = tmp_path / "lab"
    port = free_port()
    up = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bwlab",
            "up",
            str(scenario),
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--no-zeroconf",
            "--no-fleet",
            "--ntp-port",
            "0",
        ],  # no --host: the default is under test
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )
    try:
        for line in up.stdout:  # the lab is built (bounded by the test's timeout)
            if "bwlab is up." in line:
                break
        facts = json.loads((data_dir / "lab.json").read_text())
        assert facts["lab_token"].startswith("bwlab_")
        # item 9: nobody but the lab's user may read the lab token, the keys, the databases
        assert _mode(data_dir) == 0o700
        modes = {name: oct(_mode(data_dir / name)) for name in SECRET_FILES}
        assert modes == {name: oct(0o600) for name in SECRET_FILES}

        # `bwlab up` listens on 127.0.0.1 only unless --host says otherwise
        listening = wait_until(
            lambda: [
                c.laddr
                for c in psutil.Process(up.pid).net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port == port
            ],
            "the HTTPS listener",
            20,
        )
        assert {addr.ip for addr in listening} == {"127.0.0.1"}
    finally:
        up.send_signal(signal.SIGTERM)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out[-2000:]


def test_an_older_lab_with_wide_modes_is_narrowed_before_secrets_are_written(tmp_path):
    """A data directory, lab.json, a database and its WAL left 0755/0644 by an older bwlab are
    narrowed when the appliance starts and the CLI writes lab.json again (the secret never sits in
    a wide file)."""
    from bwlab.private_files import create_private, private_dir, write_private

    data_dir = tmp_path / "old-lab"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    old = data_dir / "lab.json"
    old.write_text("{}")
    old.chmod(0o644)
    private_dir(data_dir)
    write_private(old, '{"lab_token": "bwlab_x"}')
    assert _mode(data_dir) == 0o700 and _mode(old) == 0o600
    assert json.loads(old.read_text())["lab_token"] == "bwlab_x"
    # a database and the WAL a crash left behind, both 0644
    for name in ("cloud.sqlite3", "cloud.sqlite3-wal"):
        (data_dir / name).write_bytes(b"")
        (data_dir / name).chmod(0o644)
    create_private(data_dir / "cloud.sqlite3", "-wal", "-shm")
    assert _mode(data_dir / "cloud.sqlite3") == _mode(data_dir / "cloud.sqlite3-wal") == 0o600
    assert not (data_dir / "cloud.sqlite3-shm").exists()
