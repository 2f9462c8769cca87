"""provisioning/: the scripts that make a Debian 12 machine (or the Vagrant VM) into the lab appliance.

Safe on the CI machine: install.sh runs twice into a scratch root (``--root``), with the
machine's Python packages (``--system-site-packages``) and without starting anything; the
second run must change nothing at all — not a byte, a mode or a timestamp. The systemd units are
checked with ``systemd-analyze verify`` against the virtualenv the script made, and the
Vagrantfile with ``vagrant validate`` (both installed by .ci/run).
"""

# covers: S1, T5 (the lab's NTP source and host names on port 443 in the VM); DESIGN "provisioning/"

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROV = REPO / "provisioning"
INSTALL = PROV / "install.sh"


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def install(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return run(
        "bash",
        INSTALL,
        "--root",
        root,
        "--python",
        sys.executable,
        "--system-site-packages",
        "--no-systemd-start",
        *extra,
    )


def changes(result: subprocess.CompletedProcess) -> int:
    assert result.returncode == 0, result.stdout + result.stderr
    m = re.search(r"bwlab-install: done, (\d+) change\(s\)\s*$", result.stdout)
    assert m, result.stdout
    return int(m.group(1))


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: kind, mode, owner, size, mtime and content hash (or link target)."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = str(path.relative_to(root))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", st.st_mode, st.st_uid, st.st_mtime_ns)
            else:
                out[rel] = (
                    "file",
                    st.st_mode,
                    st.st_uid,
                    st.st_size,
                    st.st_mtime_ns,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """install.sh run twice into one scratch root: (root, first run, second run, tree after each)."""
    root = tmp_path_factory.mktemp("lab-root")
    first = install(root)
    after_first = snapshot(root)
    (root / "etc/default/bwlab").write_text('BWLAB_UP_ARGS="--public-url https://bwlab.local"\n')  # the admin's edit
    edited = snapshot(root)
    second = install(root)
    return root, first, second, after_first, edited, snapshot(root)


def test_every_provisioning_script_parses():
    scripts = sorted(PROV.glob("*.sh"))
    assert {p.name for p in scripts} >= {"install.sh", "netns-lab.sh"}
    for script in scripts:
        result = run("bash", "-n", script)
        assert result.returncode == 0, f"{script.name}: {result.stderr}"
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert script.read_text().startswith("#!/usr/bin/env bash\n")


def test_install_twice_changes_nothing_the_second_time(installed):
    root, first, second, after_first, edited, after_second = installed
    assert changes(first) > 10
    assert changes(second) == 0, second.stdout
    assert after_second == edited  # not a byte, mode or timestamp moved; the admin's settings kept
    assert set(after_first) == set(edited)
    assert (root / "etc/default/bwlab").read_text().startswith('BWLAB_UP_ARGS="--public-url')
    # a dry run on the finished tree agrees that nothing is left to do
    dry = install(root, "--dry-run")
    assert changes(dry) == 0 and snapshot(root) == edited


def test_the_install_holds_the_appliance_its_units_and_settings(installed):
    root = installed[0]
    for unit in ("bwlab-appliance.service", "bwlab-fleet.service", "bwlab-trust-ca.path", "bwlab-trust-ca.service"):
        assert (root / "etc/systemd/system" / unit).read_bytes() == (PROV / "systemd" / unit).read_bytes()
    appliance_unit = (root / "etc/systemd/system/bwlab-appliance.service").read_text()
    assert "--port 443" in appliance_unit and "AmbientCapabilities=CAP_NET_BIND_SERVICE" in appliance_unit
    assert "User=bwlab" in appliance_unit
    chrony = (root / "etc/chrony/conf.d/bwlab.conf").read_text()
    assert re.search(r"^server 127\.0\.0\.1 port 123 .*noselect$", chrony, re.M) and "\nport 0\n" in chrony
    assert "_https._tcp" in (root / "etc/avahi/services/bwlab.service").read_text()
    assert (root / "opt/bwlab/src/appliance/app.py").read_bytes() == (REPO / "appliance/app.py").read_bytes()
    assert (root / "opt/bwlab/src/labnet/wifi.py").read_bytes() == (REPO / "labnet/wifi.py").read_bytes()
    if shutil.which("systemd-sysusers"):
        assert re.search(
            r"^bwlab:x:\d+:\d+:bwlab lab appliance:/var/lib/bwlab:/usr/sbin/nologin$",
            (root / "etc/passwd").read_text(),
            re.M,
        )
    if shutil.which("systemctl"):
        wants = root / "etc/systemd/system/multi-user.target.wants"
        assert sorted(p.name for p in wants.iterdir()) == [
            "bwlab-appliance.service",
            "bwlab-fleet.service",
            "bwlab-trust-ca.path",
        ]
    stat_state = (root / "var/lib/bwlab").stat()
    assert stat.S_IMODE(stat_state.st_mode) == 0o700  # the lab's secrets (docs/security.md)
    # the virtualenv's bwlab is the one the units start
    bwlab = root / "opt/bwlab/venv/bin/bwlab"
    result = run(bwlab, "--help")
    assert result.returncode == 0 and "soc-receiver" in result.stdout


def test_systemd_units_verify(installed, tmp_path):
    """``systemd-analyze verify``: directives, dependencies, and the ExecStart program (the
    virtualenv made in the scratch root stands in for /opt/bwlab)."""
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is needed (Debian package systemd; .ci/run runs on Debian)"
    root = installed[0]
    units = []
    for unit in sorted((PROV / "systemd").iterdir()):
        text = unit.read_text().replace("/opt/bwlab/", f"{root}/opt/bwlab/")
        (tmp_path / unit.name).write_text(text)
        units.append(unit.name)
    result = run(analyze, "verify", *units, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    problems = [line for line in result.stderr.splitlines() if "bwlab" in line]
    assert not problems, "\n".join(problems)


def test_vagrantfile_validates(tmp_path):
    """``vagrant validate`` on a copy (vagrant writes .vagrant/ next to the Vagrantfile)."""
    vagrant = shutil.which("vagrant")
    assert vagrant, "vagrant is needed: .ci/run installs Debian's vagrant"
    shutil.copy(REPO / "Vagrantfile", tmp_path / "Vagrantfile")
    shutil.copytree(PROV, tmp_path / "provisioning")
    env = {**os.environ, "VAGRANT_HOME": str(tmp_path / ".vagrant.d"), "VAGRANT_CHECKPOINT_DISABLE": "1"}
    result = run(vagrant, "validate", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout
    text = (REPO / "Vagrantfile").read_text()
    assert 'config.vm.box = "debian/bookworm64"' in text
    assert re.search(r'forwarded_port", guest: 443, host: 8443', text)
    assert "provisioning/install.sh" in text
