"""LTE modem core: every T4 row (and the mobile rows of T2) reproduced from SIM, cell and settings."""

from __future__ import annotations

import ipaddress

import pytest

from bwlab.models import get_model
from bwlab.schema import SchemaError
from labnet.events import MobileStatusChanged, SimSwapDetected
from labnet.mobile import (
    DOCK_ALERT_LOCKED,
    DOCK_ALERT_PIN,
    Cell,
    MobileConfig,
    MobileRadio,
    ModemSettings,
    Sim,
    lte_link_quality,
)

T0 = 1_800_000_000.0
IMEI = "356938035643809"
ICCID = "89460000000000000011"
OTHER_ICCID = "89460000000000000029"
MAST = Cell("mast", (20, 3), position=(0, 0))


def modem(
    sim: Sim | None = Sim(iccid=ICCID), *, model: str = "W120", cells=(MAST,), position=(300, 0), **kw
) -> MobileRadio:
    return MobileRadio(get_model(model), IMEI, sim=sim, cells=cells, position=position, **kw)


def events(m: MobileRadio) -> list:
    out = []
    while (e := m.next_event()) is not None:
        out.append(e)
    return out


def test_working_sim_gets_an_address_and_data():
    s = modem().status(T0)
    assert (s.mode, s.sim_status, s.roaming, s.apn) == ("LTE", "Ready", "Inactive", "internet")
    assert ipaddress.ip_address(s.ipv4) in ipaddress.ip_network("100.64.0.0/10")
    assert s.data_ok and s.lte_icon and not s.warning_icon and s.problem is None
    assert s.cell == "mast" and s.band == 20 and s.signal_db is not None
    assert s.dns_servers == MobileConfig().dns_servers and s.link.up


def test_t4_1_no_sim_means_sub_mode_wlan():
    s = modem(None).status(T0)
    assert s.mode == "WLAN" and not s.sim_present and s.problem == "no_sim" and s.ipv4 is None


def test_models_without_a_modem_are_always_wlan():
    s = modem(Sim(iccid=ICCID), model="W102").status(T0)
    assert s.mode == "WLAN" and s.problem is None and s.sim_status is None


def test_t4_2_incompatible_sim_is_unknown_in_the_manager():
    s = modem(Sim(state="incompatible", iccid=ICCID)).status(T0)
    assert s.mode == "LTE" and s.sim_status == "Unknown" and s.problem == "sim_incompatible" and s.ipv4 is None


def test_t2_4e_dead_sim():
    s = modem(Sim(state="dead", iccid=ICCID)).status(T0)
    assert s.problem == "sim_dead" and s.warning_icon and not s.data_ok


def test_t4_3a_sim_swapped_while_undocked_until_docked():
    m = modem()
    m.insert_sim(T0 + 1, Sim(iccid=OTHER_ICCID))
    s = m.status(T0 + 1)
    assert s.problem == "sim_swapped" and s.warning_icon and s.ipv4 is None
    swap = [e for e in events(m) if isinstance(e, SimSwapDetected)]
    assert swap == [SimSwapDetected(T0 + 1, OTHER_ICCID, ICCID)]
    m.dock(T0 + 2)
    m.undock(T0 + 3)
    s = m.status(T0 + 3)
    assert s.problem is None and s.data_ok


def test_reinserting_the_same_sim_or_swapping_in_the_dock_is_not_a_swap():
    m = modem()
    m.insert_sim(T0 + 1, None)
    m.insert_sim(T0 + 2, Sim(iccid=ICCID))
    assert m.status(T0 + 2).problem is None
    m.dock(T0 + 3)
    m.insert_sim(T0 + 4, Sim(iccid=OTHER_ICCID))
    m.undock(T0 + 5)
    assert m.status(T0 + 5).problem is None


def test_swapped_flag_at_construction():
    assert modem(swapped_while_undocked=True).status(T0).problem == "sim_swapped"


@pytest.mark.parametrize("sim", [Sim(iccid=ICCID, imei_blocked=True), Sim(iccid=ICCID, activated=False)])
def test_t4_3b_not_activated_or_imei_blocked(sim):
    s = modem(sim).status(T0)
    assert s.problem == "not_activated" and s.warning_icon and s.registration == "denied" and s.ipv4 is None


def test_t4_4_locked_sim_raises_the_dock_alert():
    s = modem(Sim(state="puk_locked", iccid=ICCID)).status(T0)
    assert s.problem == "sim_locked" and s.sim_status == "PUK required" and s.dock_alert == DOCK_ALERT_LOCKED


def test_t4_5_pin_missing_or_wrong():
    locked = Sim(state="pin_required", iccid=ICCID, pin="1234")
    missing = modem(locked).status(T0)
    assert missing.problem == "pin_missing" and missing.sim_status == "PIN required"
    assert missing.dock_alert == DOCK_ALERT_PIN and missing.warning_icon
    wrong = modem(locked, settings=ModemSettings(pin="9999")).status(T0)
    assert wrong.problem == "pin_wrong" and wrong.sim_status == "Wrong PIN" and wrong.dock_alert == DOCK_ALERT_PIN
    assert modem(locked, settings=ModemSettings(pin="1234")).status(T0).data_ok
    changed = modem(Sim(state="pin_wrong", iccid=ICCID, pin="1234"), settings=ModemSettings(pin="1234"))
    assert changed.status(T0).problem == "pin_wrong"


def test_setting_the_right_pin_from_the_manager_fixes_it():
    m = modem(Sim(state="pin_required", iccid=ICCID, pin="1234"))
    m.set_settings(T0 + 1, ModemSettings(pin="1234"))
    assert m.status(T0 + 1).data_ok
    assert [e.problem for e in events(m) if isinstance(e, MobileStatusChanged)] == [None]


def test_t4_6a_operator_has_no_band_the_camera_supports():
    s = modem(cells=[Cell("us-mast", (2, 4), position=(0, 0))]).status(T0)
    assert s.problem == "no_supported_band" and not s.lte_icon and s.signal_db is None


def test_t4_6b_too_far_from_the_mast():
    m = modem()
    m.move(T0 + 1, (20_000, 0))
    s = m.status(T0 + 1)
    assert s.problem == "out_of_range" and not s.lte_icon and s.ipv4 is None
    assert [e.problem for e in events(m)] == ["out_of_range"]


def test_t4_7_apn_required_and_none_listed():
    sim = Sim(iccid=ICCID, apn_required=True)
    s = modem(sim).status(T0)
    assert s.problem == "apn_missing" and s.ipv4 is None and s.apn is None and s.warning_icon
    ok = modem(sim, settings=ModemSettings(apn="corp.lab")).status(T0)
    assert ok.data_ok and ok.apn == "corp.lab"


def test_t4_8_roaming_disabled_in_the_subscription():
    abroad = [Cell("foreign", (20,), position=(0, 0), operator="other")]
    s = modem(Sim(iccid=ICCID), cells=abroad).status(T0)
    assert s.problem == "roaming_disabled" and s.ipv4 is None and s.roaming == "Inactive" and s.lte_icon
    allowed = modem(Sim(iccid=ICCID, roaming_allowed=True), cells=abroad).status(T0)
    assert allowed.data_ok and allowed.roaming == "Active" and allowed.registration == "roaming"


def test_t4_9_ipv4_but_no_credit():
    m = modem(Sim(iccid=ICCID, credit_mb=1.0))
    assert m.status(T0).data_ok
    m.record_usage(T0 + 1, 1_500_000)
    s = m.status(T0 + 1)
    assert s.problem == "no_credit" and s.ipv4 is not None and not s.data_ok and not s.link.up
    assert s.credit_left_mb == 0.0
    m.set_credit(T0 + 2, 100.0)
    assert m.status(T0 + 2).data_ok


def test_configuration_errors_name_the_path():
    with pytest.raises(SchemaError) as err:
        Cell.from_mapping({"name": "m", "bands": [20, 99]}, "cells[0]")
    assert err.value.path == "cells[0].bands[1]" and "LTE band" in str(err.value)
    with pytest.raises(SchemaError) as err:
        Sim.from_mapping({"state": "locked", "iccid": ICCID}, "cameras[3].sim")
    assert err.value.path == "cameras[3].sim.state" and "'puk_locked'" in str(err.value)
    with pytest.raises(SchemaError) as err:
        Sim.from_mapping({"state": "ok"}, "cameras[3].sim")
    assert err.value.path == "cameras[3].sim.iccid"
    with pytest.raises(SchemaError) as err:
        Sim.from_mapping({"state": "pin_required", "iccid": ICCID}, "sim")
    assert err.value.path == "sim.pin"
    with pytest.raises(SchemaError) as err:
        ModemSettings.from_mapping({"pin": "1234", "puk": "1"}, "cameras[0].modem")
    assert err.value.path == "cameras[0].modem.puk"
    sim = Sim.from_mapping({"iccid": ICCID, "credit_mb": 5, "roaming_allowed": True})
    assert sim.credit_mb == 5.0 and sim.roaming_allowed
    cell = Cell.from_mapping({"name": "m", "bands": [3], "position": [1, 2]})
    assert cell.position == (1.0, 2.0)


def test_lte_link_quality_falls_with_signal():
    near, edge = lte_link_quality(-70), lte_link_quality(-112)
    assert near.throughput_kbps > edge.throughput_kbps and near.latency_ms < edge.latency_ms
    assert not lte_link_quality(-130).up
