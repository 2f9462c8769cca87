"""The real lab network's address plan and fault rules, pure (issue 15)."""

# covers: T5, T2

import pytest

from bwlab.realnet.faults import FaultError, NetFault, dns_records, nft_script, parse, tc_commands
from bwlab.realnet.plan import Plan, PlanError, owned_link, owned_netns, up_commands
from bwlab.regions import SERVICE_HOSTS


def plan() -> Plan:
    return (
        Plan(prefix="bwl", subnet="10.77.0.0/24")
        .with_nodes("camera", ["B8A44F000101", "B8A44F000102"])
        .with_nodes("browser", ["viewer"])
    )


def test_every_t5_name_has_its_own_address_and_nodes_their_ranges():
    p = plan()
    assert p.gateway == "10.77.0.1" and p.bridge == "bwlbr"
    assert list(p.services) == [h.name for h in SERVICE_HOSTS]
    assert len(set(p.services.values())) == len(SERVICE_HOSTS)  # a firewall can tell them apart
    names = [h.name for h in SERVICE_HOSTS]  # .10 onwards, in the T5 table's order
    assert p.services["live.bwlab.test"] == "10.77.0.10"
    assert p.services["storage-eu.bwlab.test"] == f"10.77.0.{10 + names.index('storage-eu.bwlab.test')}"
    cam = p.node("b8a44f000102")
    assert (cam.netns, cam.veth, cam.ip) == ("bwl-camera-B8A44F000102", "bwlc1", "10.77.0.101")
    assert p.node("viewer").ip == "10.77.0.200"
    assert cam.mac.startswith("02:") and cam.mac != p.node("B8A44F000101").mac
    assert len(cam.veth) <= 15
    assert p.with_nodes("camera", ["B8A44F000101"]).nodes == p.nodes  # adding again changes nothing


def test_commands_build_bridge_addresses_then_nodes_without_a_default_route():
    cmds = up_commands(plan())
    assert cmds[0] == ["ip", "link", "add", "bwlbr", "type", "bridge"]
    assert ["ip", "addr", "add", plan().services["storage-eu.bwlab.test"] + "/24", "dev", "bwlbr"] in cmds
    assert ["ip", "-n", "bwl-camera-B8A44F000101", "addr", "add", "10.77.0.100/24", "dev", "eth0"] in cmds
    assert not any("route" in c for c in cmds)


def test_teardown_recognises_only_its_own_names():
    assert owned_link("bwl", "bwlbr") and owned_link("bwl", "bwlc12") and owned_link("bwl", "bwlb0")
    assert not owned_link("bwl", "bwlan0") and not owned_link("bwl", "eth0") and not owned_link("bwl", "bwlx1")
    assert owned_netns("bwl", "bwl-camera-X") and not owned_netns("bwl", "bwlother") and not owned_netns("bwl", "bwl-x")


@pytest.mark.parametrize(
    "bad", [dict(prefix="B!"), dict(subnet="10.77.0.0/16"), dict(subnet="fd00::/64"), dict(subnet="nonsense")]
)
def test_bad_plans_are_refused_naming_the_field(bad):
    with pytest.raises(PlanError, match=next(iter(bad))):
        Plan(**bad)


def test_firewall_rule_by_host_name_is_resolved_at_add_time():
    asked = []
    f = parse(
        "net-1",
        "firewall",
        "B8A44F000101",
        {"host": "Storage-EU.bwlab.test.", "port": 443},
        plan(),
        lambda target, name: asked.append((target, name)) or "10.77.0.17",
    )
    assert asked == [("B8A44F000101", "storage-eu.bwlab.test")]
    script = nft_script("bwlab_fault", [f])
    assert "chain output" in script and 'ip daddr 10.77.0.17 tcp dport 443 drop comment "net-1"' in script
    assert script.startswith("table inet bwlab_fault\ndelete table inet bwlab_fault\n")
    back = nft_script(
        "bwl_fault", [NetFault("net-2", "firewall", "bridge", address="10.77.0.14", direction="both")], bridge="bwlbr"
    )
    assert 'iifname "bwlbr" ip daddr 10.77.0.14 drop' in back and 'oifname "bwlbr" ip saddr 10.77.0.14 drop' in back


def test_loss_bandwidth_and_dns_rules():
    loss = parse("net-3", "loss", "viewer", {"percent": 12.5, "direction": "both"}, plan(), None)
    assert nft_script("t", [loss]).count("numgen random mod 1000 < 125 drop") == 2
    total = parse("net-7", "loss", "viewer", {"percent": 100}, plan(), None)
    assert "chain output" in nft_script("t", [total]) and '    drop comment "net-7"' in nft_script("t", [total])
    assert nft_script("t", []) == "table inet t\ndelete table inet t\n"  # no faults: the table goes
    cap = parse("net-4", "bandwidth", "B8A44F000101", {"rate": "2mbit"}, plan(), None)

    assert tc_commands("eth0", cap) == [
        ["tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", "2mbit", "burst", "32kbit", "latency", "400ms"]
    ]
    missing = parse("net-5", "dns", "all", {"name": "devices.bwlab.test"}, plan(), None)
    elsewhere = parse("net-6", "dns", "B8A44F000101", {"name": "live.bwlab.test", "to": "nowhere"}, plan(), None)
    records = dns_records(plan().services, [missing, elsewhere])
    assert "devices.bwlab.test" not in records and records["live.bwlab.test"] == "10.77.0.254"


@pytest.mark.parametrize(
    "kind, target, changes, message",
    [
        ("firewall", "B8A44F000101", {}, "host=NAME"),
        ("firewall", "B8A44F000101", {"address": "10.77.0.17", "port": 70000}, "port"),
        ("firewall", "NOPE", {"address": "10.77.0.17"}, "no node 'NOPE'"),
        ("firewall", None, {"address": "10.77.0.17"}, "which namespace"),
        ("dns", "all", {"name": "example.com"}, "T5 host name"),
        ("bandwidth", "viewer", {"rate": "fast"}, "rate"),
        ("loss", "viewer", {"percent": 0}, "percent"),
        ("loss", "viewer", {"percent": 5, "colour": "red"}, "unknown key 'colour'"),
        ("ap", "viewer", {}, "kind"),
    ],
)
def test_bad_faults_are_refused_naming_the_key(kind, target, changes, message):
    with pytest.raises(FaultError, match=message):
        parse("net-1", kind, target, changes, plan(), lambda t, n: None)
