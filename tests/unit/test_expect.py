"""What an ``expect`` step may assert and how a value is judged (bwlab/expect.py)."""

# covers: L1

import pytest

from bwlab.expect import Missing, check_expectation, dig, judge

NOW = 1_000_000.0


def holds(expected, actual) -> bool:
    return judge(expected, actual, NOW).ok


def test_the_simple_forms():
    assert holds("", None) and holds("", []) and holds("", {}) and not holds("", "x")
    assert holds("*", "10.0.0.1") and not holds("*", None)
    assert holds("<-75", -80) and not holds("<-75", -70) and holds(">=2", 2) and holds("<= 3.5", 3.5)
    assert holds(True, True) and not holds(1, True) and holds(13, 13.0) and holds("red", "red")


def test_a_path_that_does_not_exist_never_passes_for_nothing_shown():
    assert dig({"a": [{"b": 1}]}, "a.0.b") == 1
    assert dig({"a": None}, "a.b") is None  # a null on the way: nothing shown
    missing = dig({"leds": {"wifi": "off"}}, "leds.wfi")
    assert isinstance(missing, Missing) and "leds.wfi" in missing.where and "wifi" in missing.where
    verdict = judge("", missing, NOW)
    assert not verdict.ok and "does not exist" in verdict.why
    assert isinstance(dig({"roams": [1]}, "roams.3"), Missing)
    assert isinstance(dig({"a": 1}, "a.b"), Missing)


def test_a_type_mismatch_is_named():
    assert "type mismatch" in judge("<-75", "weak", NOW).why
    assert "type mismatch" in judge(True, "true", NOW).why
    assert "type mismatch" in judge(3, "3", NOW).why
    assert "type mismatch" in judge({"min": 1}, None, NOW).why


def test_ranges_tolerances_timestamps_and_sets():
    assert holds({"min": -80, "max": -60}, -70) and not holds({"min": -80, "max": -60}, -50)
    assert holds({"max": 150}, 149.9) and not holds({"min": 10}, 9)
    assert holds({"approx": 100, "tolerance": 5}, 104) and not holds({"approx": 100, "tolerance": 5}, 106)
    assert holds({"within_s": 5}, NOW - 4) and not holds({"within_s": 5}, NOW - 6)
    assert holds({"one_of": ["red", "off"]}, "off") and not holds({"one_of": ["red"]}, "green")
    assert holds({"contains": "T3-4"}, ["T3-4"]) and not holds({"contains": "T3-1"}, ["T3-4"])


@pytest.mark.parametrize(
    "key, value, says",
    [
        ("stat.leds.wifi", "red", "a path under"),
        ("diagnosys", ["T3-1"], "a known expectation"),
        ("state.leds..wifi", "red", "a dotted path"),
        ("diagnosis", ["3-1"], "a diagnosis code"),
        ("no_diagnosis", [], "a diagnosis code"),
        ("viewer", "works", "one of"),
        ("radio.wifi.signal_db", "<weak", "a comparison"),
        ("radio.wifi.signal_db", {"minimum": 3}, "unknown: minimum"),
        ("radio.wifi.signal_db", {"min": 5, "max": 1}, "min is at most"),
        ("radio.wifi.signal_db", {"min": 1, "approx": 2}, "one form"),
        ("radio.wifi.signal_db", {"within_s": -1}, "within_s"),
        ("radio.wifi.signal_db", {"one_of": []}, "one_of"),
    ],
)
def test_bad_expectations_are_refused_with_what_fits(key, value, says):
    why = check_expectation(key, value)
    assert why is not None and says in why


def test_good_expectations_pass_the_check():
    for key, value in [
        ("state.leds.wifi", "red"),
        ("radio.roams.0.event", "*"),
        ("diagnosis", "T3-2b"),
        ("no_diagnosis", ["T3-1", "T2-4a"]),
        ("viewer", "plays"),
        ("troubleshooting", "available"),
        ("radio.wifi.signal_db", {"min": -80, "max": -60}),
        ("status.online", True),
    ]:
        assert check_expectation(key, value) is None, key
