"""``bwlab up`` finds the appliance through the ``bwlab.parts`` entry point and no bwlab module
imports the appliance (issue 11); without the appliance installed it says so and changes nothing.

covers: L1
"""

from __future__ import annotations

import ast
import inspect
import tomllib
from pathlib import Path

import pytest

from bwlab import parts
from bwlab.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_up_without_the_appliance_is_a_clear_cli_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(parts, "entry_points", lambda group: [])
    data_dir = tmp_path / "lab"
    assert main(["up", "--no-fleet", "--data-dir", str(data_dir)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("bwlab: the appliance is not installed"), err
    assert "'bwlab.parts'" in err and "pip install" in err
    assert not data_dir.exists()  # nothing started, no lock or lab.json written


def test_the_appliance_registers_itself_as_a_part() -> None:
    """pyproject names ``appliance.part:serve_lab``, and the installed metadata resolves to it."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"][parts.PARTS_GROUP] == {"appliance": "appliance.part:serve_lab"}
    serve = parts.appliance_server()
    assert (serve.__module__, getattr(serve, "__name__", None)) == ("appliance.part", "serve_lab")
    assert list(inspect.signature(serve).parameters) == ["options", "clock", "ready", "stop"]


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_the_cli_does_not_import_the_appliance() -> None:
    """Not even at function level (bwlab.scenario's imports of appliance.lab move to labnet with issue 11's
    lab-network package; the import-graph test covers the whole of bwlab)."""
    paths = [*(REPO_ROOT / "bwlab" / "cli").rglob("*.py"), REPO_ROOT / "bwlab" / "parts.py"]
    offenders = sorted(
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in paths
        for name in _imported_modules(path)
        if name == "appliance" or name.startswith("appliance.")
    )
    assert offenders == []


def test_the_viewer_reads_media_through_the_wire_package() -> None:
    """bwlab.viewer needs the fMP4 reader: it lives in bwlab/wire, not in firmware_stub."""
    imported = _imported_modules(REPO_ROOT / "bwlab" / "viewer.py")
    assert not [name for name in imported if name.startswith("firmware_stub")]
    assert {"bwlab.wire.fmp4", "bwlab.wire.media_probe"} <= imported
