"""The commands that sign in as a cloud account (``bwlab licence``, ``audit export``, ``view``)
share one password rule and one ``--org`` choice, with the same CLI errors.

covers: S15
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bwlab.cli import main
from bwlab.cli.common import CliError, choose_organization

ORGS = [{"id": "org-1", "name": "Demo Security"}, {"id": "org-2", "name": "Night Shift"}]


@pytest.mark.parametrize(
    "argv",
    [
        ["licence", "show", "--email", "admin@demo.bwlab.test"],
        ["audit", "export", "--email", "admin@demo.bwlab.test"],
        ["view", "--email", "operator@demo.bwlab.test", "--link", "https://x/live/#k1=AAAA"],
    ],
)
def test_a_missing_password_is_a_cli_error_naming_the_flag_and_the_variable(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BWLAB_PASSWORD", raising=False)
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "lab-ca.pem").write_text("a CA certificate")
    assert main([*argv, "--data-dir", str(tmp_path), "--url", "https://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--password (or $BWLAB_PASSWORD): the account's password is required" in err, err


def test_org_names_one_of_the_accounts_organizations_by_name_or_id() -> None:
    assert choose_organization(ORGS, "Night Shift")["id"] == "org-2"
    assert choose_organization(ORGS, "org-1")["name"] == "Demo Security"
    assert choose_organization(ORGS[:1], None)["id"] == "org-1"  # the account's only one
    with pytest.raises(CliError, match=r"--org: name one of the account's organizations \(Demo Security, Night"):
        choose_organization(ORGS, None)
    with pytest.raises(CliError, match=r"--org: no such organization among the account's organizations"):
        choose_organization(ORGS, "Day Shift")
    with pytest.raises(CliError, match=r"organizations \(none\)"):
        choose_organization([], None)
