"""``bwlab up --network real``: the lab on its own network (issue 15).

The plan gets one namespace per camera of the scenario and one browser namespace (``viewer``);
the appliance listens on every T5 name's bridge address (port 443, SNI) and on its usual port,
which the namespaces reach at the bridge's host address (the lab backplane: the fleet's control
link and the docks). Each camera runs as ``bwlab fleet --only SERIAL --network real`` inside its
namespace. ``bwlab status`` shows each camera's namespace, MAC and address.
"""

from __future__ import annotations

import os
import subprocess
import sys

from . import lab
from .plan import Plan
from .runner import check_machine


def build_for(serials: list[str], prefix: str, subnet: str, port: int) -> Plan:
    check_machine()
    plan = (
        Plan(prefix=prefix, subnet=subnet, lab_port=port)
        .with_nodes("camera", serials)
        .with_nodes("browser", ["viewer"])
    )
    return lab.build(plan)


def appliance_options(plan: Plan) -> dict:
    """What ``ApplianceConfig`` needs to serve the plan's names."""
    return {
        "service_addresses": tuple(plan.services.values()),
        "tls_names": (plan.gateway,),
        "backplane_addresses": (plan.gateway,),
    }  # listening on 127.0.0.1 alone (the default) is not enough


def start_fleets(plan: Plan, fleet_args: list[str], token: str) -> list[subprocess.Popen]:
    """One ``bwlab fleet`` per camera, each inside its namespace, reaching the lab at the bridge."""
    procs = []
    for node in plan.nodes:
        if node.kind != "camera":
            continue
        cmd = [
            "ip",
            "netns",
            "exec",
            node.netns,
            sys.executable,
            "-m",
            "bwlab",
            "fleet",
            *fleet_args,
            "--only",
            node.name,
            "--url",
            plan.lab_url,
            "--token",
            token,
            "--network",
            "real",
        ]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, env={**os.environ, "BWLAB_NETNS": node.netns}))
    return procs


def annotate_status(status: dict, prefix: str) -> dict:
    """``bwlab status``: each camera's namespace, MAC and address, and the plan, when a lab network runs."""
    plan = lab.load(prefix)
    if plan is None:
        return status
    status["network"] = plan.as_dict()
    for system in status.get("systems", []):
        for cam in system.get("cameras", []):
            try:
                node = plan.node(cam["serial"])
            except ValueError:
                continue
            cam["network"] = {"netns": node.netns, "mac": node.mac, "ip": node.ip}
    return status
