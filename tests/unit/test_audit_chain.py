"""The audit trail's hash chain (bwlab.wire.audit, docs/audit.md): the verifier accepts an intact
export in either format and names the first changed, removed or reordered entry."""

# covers: O4

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785

from bwlab.wire import audit

ACTOR = {"id": "acc_1", "name": "Olle Operator", "email": "operator@demo.test", "role": "operator"}
CAMERA = {"serial": "B8A44F000101", "system_id": "sys_1", "user_id": "cu_1", "user_name": "Anna Berg"}


def chain(n: int = 5, org: str = "org_1") -> list[dict]:
    out: list[dict] = []
    prev = audit.GENESIS
    for i in range(n):
        entry = audit.new_entry(
            org_id=org,
            seq=i + 1,
            at=1_765_000_000.25 + i * 61.5,
            actor=ACTOR,
            action=audit.ACTIONS[i % len(audit.ACTIONS)],
            camera=CAMERA if i % 2 else None,
            stream_id=f"str_{i}" if i % 2 else None,
            details={"from": 1_765_000_000.0 + i, "to": 1_765_000_010.5 + i, "note": "é ✓"},
            prev=prev,
        )
        sealed = audit.sealed(entry)
        out.append(sealed)
        prev = sealed["hash"]
    return out


def lines(entries: list[dict]) -> list[tuple[int, dict]]:
    return list(audit.read_jsonl(audit.to_jsonl(entries)))


def test_the_hash_is_sha256_of_the_rfc8785_canonical_json_without_the_hash():
    entry = chain(1)[0]
    body = {k: v for k, v in entry.items() if k != "hash"}
    assert entry["hash"] == hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    assert entry["prev"] == "0" * 64 and entry["seq"] == 1
    # key order and whitespace of an export do not matter: the canonical form is what is hashed
    shuffled = json.loads(json.dumps(dict(reversed(list(entry.items()))), indent=2))
    assert audit.entry_hash(shuffled) == entry["hash"]


def test_an_intact_chain_verifies_in_json_lines_and_in_csv():
    entries = chain(6)
    verdict = audit.verify(lines(entries), head=entries[-1]["hash"])
    assert verdict.ok and verdict.entries == 6 and verdict.head == entries[-1]["hash"]
    csv_text = audit.to_csv(entries)
    assert csv_text.splitlines()[0] == ",".join(audit.CSV_COLUMNS)
    assert audit.verify(audit.read_export(csv_text)).ok
    assert [e for _, e in audit.read_csv(csv_text)] == entries  # CSV rebuilds exactly what was hashed


def test_a_changed_entry_is_named():
    entries = chain(5)
    entries[2] = {
        **entries[2],
        "action": audit.ACKNOWLEDGED if entries[2]["action"] != audit.ACKNOWLEDGED else audit.TALKED,
    }
    verdict = audit.verify(lines(entries))
    assert not verdict.ok and verdict.seq == 3 and verdict.line == 3
    assert "changed" in verdict.message() and "line 3 (entry seq 3)" in verdict.message()


def test_a_changed_entry_with_a_recomputed_hash_breaks_the_link_to_the_next():
    entries = chain(5)
    forged = {**entries[1], "details": {**entries[1]["details"], "to": 1.0}}
    entries[1] = audit.sealed(forged)
    verdict = audit.verify(lines(entries))
    assert not verdict.ok and verdict.seq == 3 and "prev does not match the hash of entry seq 2" in verdict.problem


def test_a_removed_entry_is_named():
    entries = chain(5)
    del entries[2]
    verdict = audit.verify(lines(entries))
    assert not verdict.ok and verdict.seq == 4 and verdict.line == 3 and "removed" in verdict.problem


def test_removed_first_entries_and_a_cut_off_end():
    entries = chain(5)
    verdict = audit.verify(lines(entries[1:]))
    assert not verdict.ok and verdict.seq == 2 and "entries before it were removed" in verdict.problem
    assert audit.verify(lines(entries[1:]), partial=True).ok  # a run from the middle, when asked for
    verdict = audit.verify(lines(entries[:-1]), head=entries[-1]["hash"])
    assert not verdict.ok and "removed from its end" in verdict.problem
    assert audit.verify(lines(entries[:-1])).ok  # without the head, the end cannot be known


def test_reordered_entries_are_named():
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    verdict = audit.verify(lines(entries))
    assert not verdict.ok and verdict.line == 2 and verdict.seq == 3 and "removed" in verdict.problem
    entries = chain(5)
    entries[3], entries[4] = entries[4], entries[3]
    verdict = audit.verify(lines(entries))
    assert not verdict.ok and verdict.line == 4 and verdict.seq == 5


def test_an_entry_of_another_organization_is_refused():
    mine, theirs = chain(3, "org_a"), chain(3, "org_b")
    verdict = audit.verify(lines([*mine, theirs[0]]))
    assert not verdict.ok and verdict.line == 4


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "no entries"),
        ("not json\n", "line 1: not JSON"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ('{"seq": 1}\n', "not an audit entry: missing"),
    ],
)
def test_what_is_no_export_gets_a_clear_verdict(text, problem):
    try:
        verdict = audit.verify(audit.read_export(text))
    except audit.AuditFormatError as exc:
        assert problem in str(exc)
        return
    assert not verdict.ok and problem in verdict.message()


def test_an_unknown_action_is_not_written():
    with pytest.raises(ValueError, match="action 'deleted_evidence'"):
        audit.new_entry(
            org_id="o",
            seq=1,
            at=1.0,
            actor=ACTOR,
            action="deleted_evidence",
            camera=None,
            stream_id=None,
            details=None,
            prev=audit.GENESIS,
        )
