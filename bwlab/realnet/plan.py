"""The real lab network's address plan (issue 15; SPEC T5): pure, no I/O.

One Linux bridge carries the lab. Its host side is the appliance; every camera, controller and
browser is a network namespace joined to the bridge by a veth pair. In a /24 (default
``10.77.0.0/24``):

    .1            the bridge's host address: the lab DNS (dnsmasq) and the lab's own control
                  link (``https://.1:8443``, the fleet ↔ lab backplane, not a T5 name)
    .10 – .26     the service: one address per T5 host name, in ``SERVICE_HOSTS`` order, all the
                  appliance, port 443, one certificate per name (SNI)
    .64 – .95     system controllers
    .100 – .199   cameras
    .200 – .219   browsers (viewers)
    .220 – .253   per-namespace resolvers (a DNS fault in one namespace gets its own dnsmasq)
    .254          never assigned: where a DNS fault "pointing elsewhere" sends a name by default

Names carry a prefix (default ``bwl``) so that ``bwlab net down`` finds everything the lab made,
also after a crash: the bridge ``<prefix>br``, host-side veths ``<prefix>c<N>`` (camera),
``<prefix>k<N>`` (controller), ``<prefix>b<N>`` (browser), namespaces ``<prefix>-<kind>-<name>``
with the peer named ``eth0`` inside, and locally administered MACs derived from the prefix and name.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

from bwlab.errors import InputError
from bwlab.regions import SERVICE_HOSTS

DEFAULT_PREFIX = "bwl"
DEFAULT_SUBNET = "10.77.0.0/24"
KINDS = {"camera": ("c", 100, 100), "controller": ("k", 64, 32), "browser": ("b", 200, 20)}  # letter, first host, count
SERVICE_FIRST = 10
RESOLVER_FIRST, RESOLVER_COUNT = 220, 34
NOWHERE = 254
_PREFIX = re.compile(r"^[a-z][a-z0-9]{1,7}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


class PlanError(InputError, ValueError):
    """A plan that cannot be built; str() names the field and what was expected."""


@dataclass(frozen=True)
class Node:
    """One namespace on the lab bridge."""

    kind: str  # camera | controller | browser
    name: str  # a camera's serial, a controller's or browser's name
    netns: str
    veth: str  # host side, enslaved to the bridge
    ip: str
    mac: str

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "netns": self.netns,
            "veth": self.veth,
            "ip": self.ip,
            "mac": self.mac,
            "interface": "eth0",
        }


@dataclass(frozen=True)
class Plan:
    prefix: str = DEFAULT_PREFIX
    subnet: str = DEFAULT_SUBNET
    nodes: tuple[Node, ...] = ()
    lab_port: int = 8443

    def __post_init__(self):
        if not _PREFIX.match(self.prefix):
            raise PlanError(
                f"prefix: expected 2–8 lower-case letters and digits starting with a letter, got {self.prefix!r}"
            )
        net = self.network
        if net.prefixlen != 24:
            raise PlanError(f"subnet: expected an IPv4 /24, got {self.subnet!r}")

    @property
    def network(self) -> ipaddress.IPv4Network:
        try:
            net = ipaddress.ip_network(self.subnet, strict=True)
        except ValueError as exc:
            raise PlanError(f"subnet: expected an IPv4 network like {DEFAULT_SUBNET}: {exc}") from None
        if not isinstance(net, ipaddress.IPv4Network):
            raise PlanError(f"subnet: expected IPv4, got {self.subnet!r}")
        return net

    def host(self, n: int) -> str:
        return str(self.network.network_address + n)

    @property
    def bridge(self) -> str:
        return f"{self.prefix}br"

    @property
    def gateway(self) -> str:
        return self.host(1)

    @property
    def nowhere(self) -> str:
        return self.host(NOWHERE)

    @property
    def lab_url(self) -> str:
        """The fleet ↔ lab backplane as the namespaces reach it."""
        return f"https://{self.gateway}:{self.lab_port}"

    @property
    def services(self) -> dict[str, str]:
        """T5 host name → its address on the bridge."""
        return {h.name: self.host(SERVICE_FIRST + i) for i, h in enumerate(SERVICE_HOSTS)}

    def resolver(self, index: int) -> str:
        if not 0 <= index < RESOLVER_COUNT:
            raise PlanError(f"resolver: at most {RESOLVER_COUNT} namespaces with a DNS fault at once")
        return self.host(RESOLVER_FIRST + index)

    @property
    def host_addresses(self) -> tuple[str, ...]:
        """Every address the host side of the bridge holds (gateway and service addresses)."""
        return (self.gateway, *self.services.values())

    def node(self, name: str) -> Node:
        """A node by its name, namespace or address."""
        for n in self.nodes:
            if name in (n.name, n.netns, n.ip) or name.upper() == n.name.upper():
                return n
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise PlanError(f"namespace: no node {name!r} in the lab network (nodes: {known})")

    def with_nodes(self, kind: str, names: list[str]) -> Plan:
        """This plan plus one node per name of ``kind`` (names already present are kept)."""
        if kind not in KINDS:
            raise PlanError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        letter, first, count = KINDS[kind]
        nodes = list(self.nodes)
        taken = {n.name for n in nodes if n.kind == kind}
        index = sum(1 for n in nodes if n.kind == kind)
        for name in names:
            if name in taken:
                continue
            if not _NAME.match(name):
                raise PlanError(f"{kind} name: expected letters, digits, '.', '_' or '-' (≤ 32), got {name!r}")
            if index >= count:
                raise PlanError(f"{kind}s: at most {count} in one lab network")
            nodes.append(
                Node(
                    kind=kind,
                    name=name,
                    netns=f"{self.prefix}-{kind}-{name}",
                    veth=f"{self.prefix}{letter}{index}",
                    ip=self.host(first + index),
                    mac=mac_for(self.prefix, kind, name),
                )
            )
            taken.add(name)
            index += 1
        return Plan(self.prefix, self.subnet, tuple(nodes), self.lab_port)

    def as_dict(self) -> dict:
        return {
            "prefix": self.prefix,
            "subnet": self.subnet,
            "bridge": self.bridge,
            "gateway": self.gateway,
            "lab_url": self.lab_url,
            "dns": self.gateway,
            "services": self.services,
            "nodes": [n.as_dict() for n in self.nodes],
            "lab_port": self.lab_port,
        }

    @classmethod
    def from_mapping(cls, data: dict) -> Plan:
        nodes = tuple(
            Node(kind=n["kind"], name=n["name"], netns=n["netns"], veth=n["veth"], ip=n["ip"], mac=n["mac"])
            for n in data.get("nodes") or []
        )
        return cls(prefix=data["prefix"], subnet=data["subnet"], nodes=nodes, lab_port=int(data.get("lab_port", 8443)))


def mac_for(prefix: str, kind: str, name: str) -> str:
    """A locally administered unicast MAC, stable for a prefix, kind and name."""
    digest = hashlib.sha256(f"{prefix}/{kind}/{name}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def up_commands(plan: Plan) -> list[list[str]]:
    """The ``ip`` commands that build the bridge, its addresses and every node (in order)."""
    cmds = [["ip", "link", "add", plan.bridge, "type", "bridge"], ["ip", "link", "set", plan.bridge, "up"]]
    cmds += [["ip", "addr", "add", f"{a}/24", "dev", plan.bridge] for a in plan.host_addresses]
    for n in plan.nodes:
        cmds += node_commands(plan, n)
    return cmds


def node_commands(plan: Plan, n: Node) -> list[list[str]]:
    """One node: its namespace, its veth pair (``eth0`` inside, MAC and address), its route to the lab."""
    return [
        ["ip", "netns", "add", n.netns],
        ["ip", "link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.netns],
        ["ip", "link", "set", n.veth, "master", plan.bridge, "up"],
        ["ip", "-n", n.netns, "link", "set", "eth0", "address", n.mac],
        ["ip", "-n", n.netns, "addr", "add", f"{n.ip}/24", "dev", "eth0"],
        ["ip", "-n", n.netns, "link", "set", "eth0", "up"],
        ["ip", "-n", n.netns, "link", "set", "lo", "up"],
    ]  # no default route: a namespace reaches the lab's /24 and nothing else


def owned_link(prefix: str, name: str) -> bool:
    """Whether a host interface name is one the lab network of ``prefix`` makes."""
    return re.fullmatch(rf"{re.escape(prefix)}(br|[ckb]\d+)", name) is not None


def owned_netns(prefix: str, name: str) -> bool:
    return name.startswith(f"{prefix}-") and any(name.startswith(f"{prefix}-{k}-") for k in KINDS)
