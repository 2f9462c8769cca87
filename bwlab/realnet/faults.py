"""Faults on the real lab network, as a network engineer would cause them (issue 15; SPEC T2, T5).

    firewall  NODE|bridge  host=NAME | address=A  [port=443] [proto=tcp] [direction=out|in|both] [action=drop|reject]
    dns       NODE|all     name=NAME  [to=ADDRESS | to=missing | to=nowhere]
    bandwidth NODE         rate=2mbit [burst=32kbit] [direction=out|in]
    loss      NODE         percent=P  [direction=out|in|both]

A firewall rule is an nftables rule in the node's namespace (table ``inet bwlab_fault``) or, for
``bridge``, on the appliance's side of the bridge (table ``inet <prefix>_fault``); a host name is
resolved through the lab DNS when the fault is added, as a site firewall's rule set would be.
Loss is an nftables ``numgen random`` drop; bandwidth a ``tbf`` qdisc (``netem`` is not in every
kernel, so delay stays modelled in the camera's uplink). A DNS fault changes the answers the node
gets: its own resolver (``dnsmasq``) on the bridge, which its ``resolv.conf`` names; ``all``
changes the lab DNS itself. Nothing here tells a camera anything: the camera sees only packets,
and a rule written by hand with ``nft`` has the same effect.

``parse`` and ``nft_script`` are pure; ``apply_target`` runs the commands for one target.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass

from bwlab.errors import InputError
from bwlab.regions import SERVICE_HOSTS

from .plan import Plan, PlanError

KINDS = {
    "firewall": "an nftables rule: NODE|bridge host=NAME|address=A [port=443] [proto=tcp|udp] "
    "[direction=out|in|both] [action=drop|reject]",
    "dns": "the lab DNS answers differently: NODE|all name=NAME [to=ADDRESS|missing|nowhere]",
    "bandwidth": "a tbf cap: NODE rate=2mbit [burst=32kbit] [direction=out|in]",
    "loss": "random loss with nftables numgen: NODE percent=P [direction=out|in|both]",
}
NS_TABLE = "bwlab_fault"
_RATE = re.compile(r"^\d+(\.\d+)?(bit|kbit|mbit|gbit)$")
_KEYS = {
    "firewall": {"host", "address", "port", "proto", "direction", "action"},
    "dns": {"name", "to"},
    "bandwidth": {"rate", "burst", "direction"},
    "loss": {"percent", "direction"},
}
SERVICE_NAMES = tuple(h.name for h in SERVICE_HOSTS)


class FaultError(InputError, ValueError):
    """A fault that cannot be added; str() names the key and what was expected."""


@dataclass(frozen=True)
class NetFault:
    id: str
    kind: str
    target: str  # a node's name, "bridge" (firewall) or "all" (dns)
    host: str | None = None  # firewall: the T5 name the address was resolved from
    address: str | None = None
    port: int | None = None
    proto: str = "tcp"
    direction: str = "out"
    action: str = "drop"
    name: str | None = None  # dns
    to: str | None = None  # dns: an address, or None for a missing name
    rate: str | None = None
    burst: str = "32kbit"
    percent: float | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_mapping(cls, data: dict) -> NetFault:
        return cls(**data)

    @property
    def summary(self) -> str:
        if self.kind == "firewall":
            what = self.host and f"{self.host} ({self.address})" or self.address
            port = f" {self.proto} port {self.port}" if self.port else ""
            return f"firewall in {self.target}: {self.action} {self.direction} {what}{port}"
        if self.kind == "dns":
            return f"dns for {self.target}: {self.name} " + (f"→ {self.to}" if self.to else "missing (NXDOMAIN)")
        if self.kind == "bandwidth":
            return f"bandwidth in {self.target}: {self.direction} capped at {self.rate}"
        return f"loss in {self.target}: {self.percent:g} % of packets {self.direction}"


def parse(fault_id: str, kind: str, target: str | None, changes: dict, plan: Plan, resolve) -> NetFault:
    """A fault from the CLI's ``TARGET KEY=VALUE…``; ``resolve(target, name)`` asks the lab DNS."""
    if kind not in KINDS:
        raise FaultError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    unknown = set(changes) - _KEYS[kind]
    if unknown:
        raise FaultError(f"{kind}: unknown key {sorted(unknown)[0]!r}; expected {', '.join(sorted(_KEYS[kind]))}")
    if target is None:
        raise FaultError(f"{kind}: which namespace? give a node (a camera's serial, a browser) first: {KINDS[kind]}")
    special = {"firewall": "bridge", "dns": "all"}.get(kind)
    if target != special:
        try:
            target = plan.node(target).name
        except PlanError as exc:
            raise FaultError(str(exc)) from None
    direction = str(changes.get("direction", "out"))
    if direction not in (("out", "in") if kind == "bandwidth" else ("out", "in", "both")):
        raise FaultError(f"direction: expected out, in{'' if kind == 'bandwidth' else ' or both'}, got {direction!r}")
    if kind == "firewall":
        host, address = changes.get("host"), changes.get("address")
        if (host is None) == (address is None):
            raise FaultError("firewall: give host=NAME (resolved through the lab DNS now) or address=A")
        if host is not None:
            host = str(host).lower().rstrip(".")
            address = resolve(target, host)
            if address is None:
                raise FaultError(f"host: the lab DNS has no address for {host!r}")
        address = _address(str(address), "address")
        port = changes.get("port")
        if port is not None and not (isinstance(port, int) and 0 < port < 65536):
            raise FaultError(f"port: expected 1–65535, got {port!r}")
        proto = str(changes.get("proto", "tcp"))
        if proto not in ("tcp", "udp"):
            raise FaultError(f"proto: expected tcp or udp, got {proto!r}")
        action = str(changes.get("action", "drop"))
        if action not in ("drop", "reject"):
            raise FaultError(f"action: expected drop or reject, got {action!r}")
        return NetFault(
            fault_id,
            kind,
            target,
            host=host,
            address=address,
            port=port,
            proto=proto,
            direction=direction,
            action=action,
        )
    if kind == "dns":
        name = str(changes.get("name", "")).lower().rstrip(".")
        if name not in SERVICE_NAMES:
            raise FaultError(f"name: expected a T5 host name ({', '.join(SERVICE_NAMES)}), got {name!r}")
        to = changes.get("to", "missing")
        to = None if to == "missing" else plan.nowhere if to == "nowhere" else _address(str(to), "to")
        return NetFault(fault_id, kind, target, name=name, to=to)
    if kind == "bandwidth":
        rate, burst = str(changes.get("rate", "")), str(changes.get("burst", "32kbit"))
        for key, value in (("rate", rate), ("burst", burst)):
            if not _RATE.match(value):
                raise FaultError(f"{key}: expected a tc rate like 2mbit, 512kbit, got {value!r}")
        return NetFault(fault_id, kind, target, rate=rate, burst=burst, direction=direction)
    percent = changes.get("percent")
    if not isinstance(percent, (int, float)) or not 0 < percent <= 100:
        raise FaultError(f"percent: expected a number in (0, 100], got {percent!r}")
    return NetFault(fault_id, kind, target, percent=float(percent), direction=direction)


def _address(text: str, key: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise FaultError(f"{key}: expected an IPv4 address, got {text!r}") from None


def nft_script(table: str, faults: list[NetFault], bridge: str | None = None) -> str:
    """The whole fault table for one namespace (or, with ``bridge``, the appliance side), replacing
    the previous one atomically; no faults: the table is deleted."""
    head = f"table inet {table}\ndelete table inet {table}\n"
    rules: dict[str, list[str]] = {"output": [], "input": []}
    for f in faults:
        comment = f'comment "{f.id}"'
        if f.kind == "firewall":
            port = f" {f.proto} dport {f.port}" if f.port else ""
            sport = f" {f.proto} sport {f.port}" if f.port else ""
            verdict = "reject with tcp reset" if f.action == "reject" and f.proto == "tcp" else f.action
            if bridge is None:  # in the node: out = to the address, in = from it
                toward = ("output", f"ip daddr {f.address}{port}")
                back = ("input", f"ip saddr {f.address}{sport}")
            else:  # on the appliance's side: out (toward the service) arrives, in leaves
                toward = ("input", f'iifname "{bridge}" ip daddr {f.address}{port}')
                back = ("output", f'oifname "{bridge}" ip saddr {f.address}{sport}')
            for chain, match in [toward] if f.direction == "out" else [back] if f.direction == "in" else [toward, back]:
                rules[chain].append(f"{match} {verdict} {comment}")
        elif f.kind == "loss":
            assert f.percent is not None  # parse() sets it for every loss fault
            chains = {"out": ["output"], "in": ["input"], "both": ["output", "input"]}[f.direction]
            chance = "" if f.percent >= 100 else f"numgen random mod 1000 < {round(f.percent * 10)} "
            for chain in chains:
                rules[chain].append(f"{chance}drop {comment}")
    if not any(rules.values()):
        return head
    body = "".join(
        f"  chain {chain} {{\n    type filter hook {chain} priority 0; policy accept;\n"
        + "".join(f"    {r}\n" for r in lines)
        + "  }\n"
        for chain, lines in rules.items()
    )
    return head + f"table inet {table} {{\n{body}}}\n"


def tc_commands(device: str, fault: NetFault | None) -> list[list[str]]:
    """A tbf cap on ``device`` (or none)."""
    if fault is None:
        return [["tc", "qdisc", "del", "dev", device, "root"]]
    assert fault.rate is not None  # parse() sets it for every bandwidth fault
    return [
        [
            "tc",
            "qdisc",
            "replace",
            "dev",
            device,
            "root",
            "tbf",
            "rate",
            fault.rate,
            "burst",
            fault.burst,
            "latency",
            "400ms",
        ]
    ]


def dns_records(services: dict[str, str], faults: list[NetFault]) -> dict[str, str]:
    """The lab DNS's answers with ``faults`` applied (later faults win)."""
    records = dict(services)
    for f in faults:
        assert f.name is not None  # parse() sets it for every dns fault
        if f.to is None:
            records.pop(f.name, None)
        else:
            records[f.name] = f.to
    return records
