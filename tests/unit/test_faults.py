"""Fault injection core: parsing, checking against the world, applying and clearing (L2, T2-T4, S1)."""

# covers: L2, T2, T3, T4, S1

from __future__ import annotations

import pytest

from bwlab.schema import SchemaError
from labnet.faults import (
    FaultBook,
    Impairment,
    World,
    apply_world,
    camera_clock_skew,
    camera_impairment,
    check_against,
    faults_from_list,
    impair,
    ntp_settings,
    parse_fault,
)
from labnet.mobile import NO_SIM, Cell, Sim
from labnet.propagation import LinkQuality
from labnet.radio_config import AccessPoint

CAM = "B8A44F000105"
ICCID = "8946000000000000001"


def world() -> World:
    return World(
        access_points=(
            AccessPoint("AP-1", "LabNet", password="labnet-pass"),
            AccessPoint("AP-5", "LabNet5", band="5", channel=36, password="labnet-pass"),
        ),
        cells=(Cell("Mast", (3, 20)),),
        sims={CAM: Sim(iccid=ICCID)},
    )


def fault(n: int = 1, **data):
    return parse_fault(data, fault_id=f"f{n}", now=100.0)


def test_parse_names_the_bad_key():
    with pytest.raises(SchemaError, match=r"^kind: expected one of"):
        parse_fault({"kind": "volcano"}, fault_id="f1", now=0.0, path="")
    with pytest.raises(SchemaError, match=r"target.*access point name"):
        fault(kind="ap", set={"security": "wpa3-only"})
    with pytest.raises(SchemaError, match=r"set.nonsense: a known key"):
        fault(kind="ap", target="AP-1", set={"nonsense": 1})
    with pytest.raises(SchemaError, match=r"set.loss: expected a value ≤ 1"):
        fault(kind="link", target=CAM, set={"loss": 2})
    with pytest.raises(SchemaError, match=r"target: expected no target"):
        fault(kind="ntp", target="x", set={"offset_s": 3})
    with pytest.raises(SchemaError, match=r"at least one change"):
        fault(kind="ntp", set={})


def test_check_against_the_world_names_what_exists():
    w = world()
    with pytest.raises(SchemaError, match="AP-1, AP-5"):
        check_against(fault(kind="ap", target="AP-9", set={"enabled": False}), w, [CAM])
    with pytest.raises(SchemaError, match="channel"):
        check_against(fault(kind="ap", target="AP-1", set={"band": "5"}), w, [CAM])  # channel 6 is not 5 GHz
    with pytest.raises(SchemaError, match="LTE modem"):
        check_against(fault(kind="sim", target="B8A44F000103", set={"state": "dead"}), w, [CAM, "B8A44F000103"])
    with pytest.raises(SchemaError, match="serial of a camera"):
        check_against(fault(kind="link", target="NOPE", set={"latency_ms": 5}), w, [CAM])
    check_against(fault(kind="ap", target="AP-1", set={"security": "wpa3-only"}), w, [CAM])


def test_faults_apply_in_order_and_clearing_restores_the_base():
    w = world()
    f1 = fault(1, kind="ap", target="AP-1", set={"security": "wpa3-only"})
    f2 = fault(2, kind="ap", target="AP-1", set={"channel": 13, "password": "other-pass"})
    f3 = fault(3, kind="sim", target=CAM, set={"iccid": "8946000000000000099"})
    f4 = fault(4, kind="cell", target="Mast", set={"enabled": False})
    changed = apply_world(w, [f1, f2, f3, f4])
    ap = changed.access_point("AP-1")
    assert (ap.security, ap.channel, ap.password) == ("wpa3-only", 13, "other-pass")
    assert changed.sims[CAM].iccid == "8946000000000000099"
    assert not changed.cell("Mast").enabled
    assert apply_world(w, [f2]).access_point("AP-1").security == "wpa2"
    assert apply_world(w, []) == w
    removed = apply_world(w, [fault(5, kind="sim", target=CAM, set={"state": "absent"})])
    assert removed.sims[CAM] == NO_SIM


def test_a_new_ssid_gets_its_own_subnet():
    w = world()
    renamed = apply_world(w, [fault(kind="ap", target="AP-1", set={"ssid": "Renamed"})]).access_point("AP-1")
    assert renamed.ssid == "Renamed" and renamed.bssid == w.access_point("AP-1").bssid
    assert renamed.subnet != w.access_point("AP-1").subnet


def test_link_clock_and_ntp_effects_merge_per_target():
    faults = [
        fault(1, kind="link", target=CAM, set={"latency_ms": 200}),
        fault(2, kind="link", target=CAM.lower(), set={"loss": 0.5}),
        fault(3, kind="clock_skew", target=CAM, set={"seconds": -30}),
        fault(4, kind="ntp", set={"offset_s": 12}),
        fault(5, kind="ntp", set={"mode": "kiss-o-death", "kiss_code": "DENY"}),
    ]
    assert camera_impairment(CAM, faults) == Impairment(latency_ms=200, loss=0.5)
    assert camera_impairment("OTHER", faults) is None
    assert camera_clock_skew(CAM, faults) == -30
    settings = ntp_settings(faults)
    assert (settings.offset_s, settings.mode, settings.kiss_code) == (12, "kiss-o-death", "DENY")
    assert ntp_settings([]).mode == "serve"


def test_impairments_add_to_the_radio_link():
    link = LinkQuality(True, 10.0, 0.1, 5000.0)
    out = impair(link, Impairment(latency_ms=100, loss=0.5, bandwidth_kbps=1000))
    assert out == LinkQuality(True, 110.0, 0.55, 1000.0)
    assert not impair(link, Impairment(up=False)).up
    assert impair(link, None) is link


def test_book_ids_listing_and_round_trip_to_fleets():
    book = FaultBook()
    a = book.add(parse_fault({"kind": "ntp", "set": {"offset_s": 3}}, fault_id=book.next_id(), now=1.0))
    b = book.add(
        parse_fault({"kind": "travel", "set": {"seconds": 86400}, "id": "six-days"}, fault_id=book.next_id(), now=2.0)
    )
    assert (a.id, b.id) == ("f1", "six-days") and not b.reversible
    with pytest.raises(SchemaError, match="id no injected fault has"):
        book.add(parse_fault({"kind": "ntp", "set": {"offset_s": 3}, "id": "six-days"}, fault_id="x", now=3.0))
    assert faults_from_list(book.as_list()) == list(book)
    assert book.remove("f1") == a and [f.id for f in book] == ["six-days"]
    assert [f.id for f in book.clear()] == ["six-days"] and len(book) == 0


def test_world_round_trips_through_json():
    w = world()
    assert World.from_dict(w.as_dict()) == w
