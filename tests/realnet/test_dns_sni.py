"""The service's host names for real: the lab DNS answers every T5 name with its own address on
the bridge, and the appliance answers each on port 443 with that name's certificate (SNI)."""

# covers: T5

import json
import sys
from pathlib import Path

from bwlab.regions import SERVICE_HOSTS
from tests.realnet.conftest import in_netns

PROBE = str(Path(__file__).with_name("probe_tls.py"))


async def test_every_t5_name_resolves_in_a_camera_namespace_and_serves_its_own_certificate(real_appliance):
    plan, appliance = real_appliance
    ca = str(appliance.data_dir / "tls" / "lab-ca.pem")
    for host in SERVICE_HOSTS:
        rc, out, err = await in_netns(plan.node("B8A44F000101").netns, sys.executable, PROBE, host.name, ca)
        assert rc == 0, err
        seen = json.loads(out)
        assert seen["address"] == plan.services[host.name]  # from the lab DNS, not /etc/hosts
        assert seen["subject"]["commonName"] == host.name and seen["san"] == [host.name]  # this name's own
        assert seen["issuer"]["commonName"] == "bwlab lab CA"  # verified against the lab CA
        assert seen["status"] == "200"


async def test_a_name_the_lab_dns_does_not_know_does_not_resolve_and_nothing_leaves_the_lab(real_appliance):
    plan, _ = real_appliance
    rc, out, _ = await in_netns(plan.node("viewer").netns, "getent", "hosts", "unknown.bwlab.test")
    assert rc == 2 and out == ""
    rc, out, _ = await in_netns(plan.node("viewer").netns, "ip", "route")
    assert "default" not in out  # a namespace reaches the lab's /24 only
