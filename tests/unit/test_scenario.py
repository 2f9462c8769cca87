"""Bad scenario files get errors that name the file, the key path and what was expected (L1;
DESIGN "Scenarios"), and ``bwlab up`` with a scenario it cannot use exits 2 with that message."""

# covers: L1, S8, S11

from __future__ import annotations

from pathlib import Path

import pytest

from bwlab.cli import main
from bwlab.scenario import ScenarioError, load_scenario, parse_scenario

BASE = """\
name = "unit"

[[accounts]]
email = "a@x.test"
name = "A"
password = "unit-account-pass"

[organization]
name = "Org"
owner = "a@x.test"

[[systems]]
name = "S"
admin_password = "manager-pass"

[[systems.wifi_networks]]
ssid = "Net"
password = "pw"

[[systems.profiles]]
name = "Live"
streaming = true
remote_mode = "always"
wifi_networks = ["Net"]

[[systems.camera_users]]
name = "U1"
profile = "Live"

[[systems.camera_users]]
name = "U2"
profile = "Live"

[[systems.docks]]
name = "D"
bays = 2

[[systems.cameras]]
serial = "CAM1"
model = "W102"
camera_user = "U1"
dock = "D"
bay = 1

[[systems.cameras]]
serial = "CAM2"
model = "W100"
camera_user = "U2"
dock = "D"
bay = 2
"""


def write(tmp_path: Path, text: str, name: str = "lab.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def mutate(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def load_error(tmp_path: Path, text: str) -> tuple[Path, str]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return path, str(info.value)


def test_base_scenario_is_valid(tmp_path):
    scenario, source = load_scenario(write(tmp_path, BASE))
    assert source.endswith("lab.toml")
    assert [c.serial for c in scenario.systems[0].cameras] == ["CAM1", "CAM2"]


def test_builtin_demo_loads():
    scenario, source = load_scenario(None)
    assert "demo.toml" in source
    system = scenario.systems[0]
    assert len(system.cameras) == 6 and len(system.camera_users) == 6 and len(system.profiles) == 2
    assert len(system.docks) == 2 and {a.email for a in scenario.accounts} >= {scenario.organization.owner}


# (mutation of BASE, key path the message must name, words of the expectation it must contain)
BAD = {
    "unknown top-level key": (('name = "unit"\n', 'name = "unit"\ncolour = "red"\n'), "colour", ["unknown key"]),
    "unknown nested key": (
        ("streaming = true\n", "streaming = true\nstreamng = true\n"),
        "systems[0].profiles[0].streamng",
        ["unknown key", "streaming"],
    ),
    "wrong type: boolean": (
        ("streaming = true\n", 'streaming = "yes"\n'),
        "systems[0].profiles[0].streaming",
        ["expected a boolean", "string 'yes'"],
    ),
    "wrong type: integer": (
        ("bays = 2\n", 'bays = "two"\n'),
        "systems[0].docks[0].bays",
        ["expected an integer", "string 'two'"],
    ),
    "wrong type: list": (
        ('wifi_networks = ["Net"]', 'wifi_networks = "Net"'),
        "systems[0].profiles[0].wifi_networks",
        ["a list of a string"],
    ),
    "wrong literal": (
        ('remote_mode = "always"', 'remote_mode = "never"'),
        "systems[0].profiles[0].remote_mode",
        ["'while_recording'", "'always'", "string 'never'"],
    ),
    "missing required key": (
        ('password = "unit-account-pass"\n', ""),
        "accounts[0].password",
        ["required key is missing"],
    ),
    "bay out of range for its type": (("bay = 2\n", "bay = 9\n"), "systems[0].cameras[1].bay", ["≤ 8", "number 9"]),
    "profile name not defined": (
        ('name = "U2"\nprofile = "Live"', 'name = "U2"\nprofile = "Night"'),
        "systems[0].camera_users[1].profile",
        ["the name of a profile of this system", "'Night'"],
    ),
    "unknown camera model": (
        ('model = "W100"', 'model = "W999"'),
        "systems[0].cameras[1].model",
        ["'W100'", "'W120'", "'W999'"],
    ),
    "camera in a nonexistent dock": (
        ('dock = "D"\nbay = 2', 'dock = "Z"\nbay = 2'),
        "systems[0].cameras[1].dock",
        ["the name of a dock of this system", "'Z'"],
    ),
    "bay beyond the dock's bays": (
        ("bays = 2\n", "bays = 1\n"),
        "systems[0].cameras[1].bay",
        ["a bay from 1 to 1", "number 2"],
    ),
    "two cameras in one bay": (
        ("bay = 2\n", "bay = 1\n"),
        "systems[0].cameras[1].bay",
        ["a bay no other camera starts in"],
    ),
    "Location on for a model without GPS": (
        ('wifi_networks = ["Net"]\n', 'wifi_networks = ["Net"]\nlocation = { W100 = { enabled = true } }\n'),
        "systems[0].profiles[0].location.W100.enabled",
        ["the W100 has no GPS", "boolean true"],
    ),
    "Location for an unknown model": (
        ('wifi_networks = ["Net"]\n', 'wifi_networks = ["Net"]\nlocation = { W7 = { enabled = false } }\n'),
        "systems[0].profiles[0].location.W7",
        ["a camera model", "W100"],
    ),
    "profile network not defined": (
        ('wifi_networks = ["Net"]', 'wifi_networks = ["Net", "Other"]'),
        "systems[0].profiles[0].wifi_networks[1]",
        ["the SSID of a [[systems.wifi_networks]]", "'Other'"],
    ),
    "camera user not defined": (
        ('camera_user = "U2"', 'camera_user = "U9"'),
        "systems[0].cameras[1].camera_user",
        ["the name of a camera user of this system", "'U9'"],
    ),
    "serial used twice": (
        ('serial = "CAM2"', 'serial = "cam1"'),
        "systems[0].cameras[1].serial",
        ["used once", "'cam1'"],
    ),
    "common account password": (  # the appliance's policy (docs/security.md, item 5), said at load
        ('password = "unit-account-pass"', 'password = "12345678"'),
        "accounts[0]",
        ["password: is too easy to guess", "common password"],
    ),
    "Manager password of spaces": (
        ('admin_password = "manager-pass"', 'admin_password = "        "'),
        "systems[0]",
        ["admin_password: must not be only spaces"],
    ),
    "owner without an account": (
        ('owner = "a@x.test"', 'owner = "b@x.test"'),
        "organization.owner",
        ["a@x.test", "'b@x.test'"],
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_scenario_names_file_key_and_expectation(tmp_path, case):
    (old, new), key_path, expected = BAD[case]
    path, message = load_error(tmp_path, mutate(old, new))
    assert message.startswith(f"{path}: "), message
    assert f"{key_path}: " in message, message
    for words in expected:
        assert words in message, (words, message)


def test_not_toml_names_file_and_position(tmp_path):
    path, message = load_error(tmp_path, BASE + "\n[[systems\nname = \n")
    assert message.startswith(f"{path}: not valid TOML"), message
    assert "line" in message


def test_not_utf8_and_missing_file(tmp_path):
    path = tmp_path / "latin.toml"
    path.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ScenarioError, match="latin.toml: the scenario file is not UTF-8"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"nope\.toml: cannot read the scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_top_level_must_be_a_table_of_known_keys():
    with pytest.raises(ScenarioError) as info:
        parse_scenario({"name": "x", "systems": {"name": "S"}}, "inline.toml")
    assert str(info.value).startswith("inline.toml: systems: expected a list of a table")
    with pytest.raises(ScenarioError, match=r"inline.toml: name: a string \(required key is missing\)"):
        parse_scenario({}, "inline.toml")


def test_connecting_without_an_organization_is_refused(tmp_path):
    text = BASE.replace('[organization]\nname = "Org"\nowner = "a@x.test"\n', "")
    path, message = load_error(tmp_path, text)
    assert f"{path}: systems[0].connect: an [organization] table" in message


def test_cli_up_with_missing_scenario_exits_2_naming_the_file(tmp_path, capsys):
    code = main(
        ["up", "/nonexistent.toml", "--port", "1", "--data-dir", str(tmp_path / "d"), "--no-fleet", "--no-zeroconf"]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("bwlab: /nonexistent.toml: cannot read the scenario file"), err
    assert not (tmp_path / "d").exists(), "nothing may be started or written for a scenario that cannot be read"


def test_cli_up_with_bad_scenario_exits_2_naming_file_and_key(tmp_path, capsys):
    path = write(tmp_path, mutate("streaming = true\n", "streaming = 1\n"), "bad.toml")
    code = main(["up", str(path), "--port", "1", "--data-dir", str(tmp_path / "d"), "--no-fleet", "--no-zeroconf"])
    assert code == 2
    err = capsys.readouterr().err
    assert f"bwlab: {path}: systems[0].profiles[0].streaming: expected a boolean, got number 1" in err, err
    assert not (tmp_path / "d").exists()
