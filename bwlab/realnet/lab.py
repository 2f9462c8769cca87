"""Build, inspect and tear down the real lab network (issue 15).

``build(plan)`` makes the bridge, the host addresses, every node's namespace and veth, each
namespace's ``/etc/netns/<ns>/`` (``resolv.conf`` naming the lab DNS, a ``hosts`` file with only
localhost) and starts the lab DNS; the plan is kept in ``/run/bwlab-net/<prefix>/plan.json``.
``teardown(prefix)`` removes everything of that prefix it finds on the machine — processes in the
lab's namespaces, namespaces, veths, the bridge, nft tables named for the prefix, the dnsmasq
processes named by its pid files and the files — whether or not a plan was kept (after a crash).
``leftovers(prefix)`` lists what would be removed; an empty result means nothing is left.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import dns.exception
import dns.resolver

from . import dnsmasq
from .faults import NS_TABLE, FaultError, NetFault, dns_records, nft_script, tc_commands
from .faults import parse as parse_fault
from .plan import Node, Plan, node_commands, owned_link, owned_netns, up_commands
from .runner import NetError, Runner, check_machine

RUN_DIR = Path(os.environ.get("BWLAB_NET_RUN_DIR", "/run/bwlab-net"))
NETNS_ETC = Path("/etc/netns")


def state_dir(prefix: str) -> Path:
    return RUN_DIR / prefix


def main_resolver(plan: Plan) -> dnsmasq.Resolver:
    return dnsmasq.Resolver("main", plan.gateway, state_dir(plan.prefix))


def load(prefix: str) -> Plan | None:
    path = state_dir(prefix) / "plan.json"
    try:
        return Plan.from_mapping(json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError) as exc:
        raise NetError(f"{path}: not a lab network plan ({exc}); run `bwlab net down --prefix {prefix}`") from None


def save(plan: Plan) -> None:
    d = state_dir(plan.prefix)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = d / "plan.json.tmp"
    tmp.write_text(json.dumps(plan.as_dict(), indent=2))
    tmp.replace(d / "plan.json")


def build(plan: Plan, runner: Runner | None = None) -> Plan:
    """Make the lab network of ``plan``; on failure, remove what was made and raise."""
    runner = runner or Runner()
    check_machine()
    if load(plan.prefix) is not None or leftovers(plan.prefix, runner):
        raise NetError(
            f"a lab network with prefix {plan.prefix!r} exists already; "
            f"`bwlab net down --prefix {plan.prefix}` removes it"
        )
    try:
        save(plan)
        for cmd in up_commands(plan):
            runner.run(cmd)
        for n in plan.nodes:
            write_netns_etc(n, plan.gateway)
        dnsmasq.start(main_resolver(plan), plan.services, runner)
    except BaseException:
        teardown(plan.prefix, runner)
        raise
    return plan


def add_nodes(plan: Plan, kind: str, names: list[str], runner: Runner | None = None) -> Plan:
    """More nodes on a running lab network."""
    runner = runner or Runner()
    grown = plan.with_nodes(kind, names)
    for n in grown.nodes[len(plan.nodes) :]:
        for cmd in node_commands(grown, n):
            runner.run(cmd)
        write_netns_etc(n, plan.gateway)
    save(grown)
    return grown


def write_netns_etc(n: Node, nameserver: str) -> None:
    """``ip netns exec`` mounts these over /etc: the lab DNS, and no host entries of the machine's."""
    d = NETNS_ETC / n.netns
    d.mkdir(parents=True, exist_ok=True)
    set_nameserver(n, nameserver)
    (d / "hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost\n")


def set_nameserver(n: Node, address: str) -> None:
    """Point a namespace at a resolver. Written in place: a process already inside the namespace
    has this very file mounted on its /etc/resolv.conf, and glibc re-reads it when it changes."""
    path = NETNS_ETC / n.netns / "resolv.conf"
    with open(path, "a+") as f:
        f.seek(0)
        f.truncate()
        f.write(f"# bwlab lab DNS\nnameserver {address}\noptions timeout:1 attempts:2\n")


def leftovers(prefix: str, runner: Runner | None = None) -> dict[str, list]:
    """Everything of ``prefix`` on the machine now (empty lists are dropped)."""
    runner = runner or Runner()
    found: dict[str, list] = {
        "netns": [ns for ns in _netns_names(runner) if owned_netns(prefix, ns)],
        "links": [
            link["ifname"]
            for link in runner.json(["ip", "-j", "link", "show"])
            if owned_link(prefix, link.get("ifname", ""))
        ],
        "nft_tables": [f"{t['family']} {t['name']}" for t in _nft_tables(runner) if t["name"].startswith(f"{prefix}_")],
        "dnsmasq": [pid for pid in _dnsmasq_pids(prefix)],
        "netns_etc": sorted(str(p) for p in NETNS_ETC.glob(f"{prefix}-*") if owned_netns(prefix, p.name)),
        "state": [str(state_dir(prefix))] if state_dir(prefix).exists() else [],
    }
    return {k: v for k, v in found.items() if v}


def teardown(prefix: str, runner: Runner | None = None) -> dict[str, list]:
    """Remove everything of ``prefix``; what was removed."""
    runner = runner or Runner()
    removed = leftovers(prefix, runner)
    for ns in removed.get("netns", []):
        _kill_netns_processes(ns, runner)
        runner.run(["ip", "netns", "del", ns], check=False)
    for pid in removed.get("dnsmasq", []):
        dnsmasq.stop_pid(pid)
    for link in removed.get("links", []):
        if link != f"{prefix}br":
            runner.run(["ip", "link", "del", link], check=False)  # usually gone with its namespace
    runner.run(["ip", "link", "del", f"{prefix}br"], check=False)
    for table in removed.get("nft_tables", []):
        runner.run(["nft", "delete", "table", *table.split()], check=False)
    for path in removed.get("netns_etc", []):
        shutil.rmtree(path, ignore_errors=True)
    shutil.rmtree(state_dir(prefix), ignore_errors=True)
    return removed


def _netns_names(runner: Runner) -> list[str]:
    out = runner.run(["ip", "netns", "list"]).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _nft_tables(runner: Runner) -> list[dict]:
    data = runner.json(["nft", "-j", "list", "tables"])
    return [item["table"] for item in (data.get("nftables", []) if isinstance(data, dict) else []) if "table" in item]


def _dnsmasq_pids(prefix: str) -> list[int]:
    """The dnsmasq processes running a conf file of this prefix (found in /proc, so also when the
    state directory is gone)."""
    mine = f"--conf-file={state_dir(prefix)}/".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and argv[0].endswith(b"dnsmasq") and any(a.startswith(mine) for a in argv):
            pids.append(int(proc.name))
    return sorted(pids)


def _kill_netns_processes(ns: str, runner: Runner) -> None:
    """The processes the lab started in its namespace (fleets, probes): TERM, then KILL."""

    def pids() -> list[int]:
        out = runner.run(["ip", "netns", "pids", ns], check=False).stdout
        return [int(p) for p in out.split() if p.isdigit() and dnsmasq.alive(int(p))]

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        for _ in range(100):
            if not pids():
                return
            time.sleep(0.05)


# ---------------------------------------------------------------- faults (faults.py says what)


def load_faults(prefix: str) -> tuple[list[NetFault], dict[str, int]]:
    path = state_dir(prefix) / "faults.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return [], {}
    return [NetFault.from_mapping(f) for f in data["faults"]], dict(data.get("resolvers") or {})


def _save_faults(prefix: str, faults: list[NetFault], resolvers: dict[str, int]) -> None:
    path = state_dir(prefix) / "faults.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"faults": [f.as_dict() for f in faults], "resolvers": resolvers}, indent=2))
    tmp.replace(path)


def resolve(plan: Plan, resolvers: dict[str, int], target: str, name: str) -> str | None:
    """``name`` as the lab DNS answers it for ``target`` now (its own resolver if it has one)."""
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [plan.resolver(resolvers[target]) if target in resolvers else plan.gateway]
    try:
        return str(r.resolve(name, "A", lifetime=3.0)[0])
    except dns.exception.DNSException:
        return None


def add_fault(
    plan: Plan, kind: str, target: str | None, changes: dict, fault_id: str | None = None, runner: Runner | None = None
) -> NetFault:
    runner = runner or Runner()
    faults, resolvers = load_faults(plan.prefix)
    if fault_id is None:
        used = {f.id for f in faults}
        fault_id = next(f"net-{i}" for i in range(1, len(used) + 2) if f"net-{i}" not in used)
    elif any(f.id == fault_id for f in faults):
        raise FaultError(f"id: a fault named {fault_id!r} exists already")
    fault = parse_fault(fault_id, kind, target, changes, plan, lambda t, n: resolve(plan, resolvers, t, n))
    faults.append(fault)
    _apply_target(plan, fault.kind, fault.target, faults, resolvers, runner)
    _save_faults(plan.prefix, faults, resolvers)
    return fault


def clear_faults(plan: Plan, fault_id: str | None = None, runner: Runner | None = None) -> list[NetFault]:
    """Clear one fault (by id) or all; the cleared ones."""
    runner = runner or Runner()
    faults, resolvers = load_faults(plan.prefix)
    gone = [f for f in faults if fault_id is None or f.id == fault_id]
    if fault_id is not None and not gone:
        raise FaultError(f"id: no lab network fault {fault_id!r} (`bwlab net status` lists them)")
    kept = [f for f in faults if f not in gone]
    for kind, target in dict.fromkeys((f.kind, f.target) for f in gone):
        _apply_target(plan, kind, target, kept, resolvers, runner)
    _save_faults(plan.prefix, kept, resolvers)
    return gone


def _apply_target(
    plan: Plan, kind: str, target: str, faults: list[NetFault], resolvers: dict[str, int], runner: Runner
) -> None:
    """Make one target's rules of one kind match ``faults`` (commands for that target only)."""
    mine = [f for f in faults if f.target == target]
    if kind in ("firewall", "loss"):
        packet = [f for f in mine if f.kind in ("firewall", "loss")]
        if target == "bridge":
            runner.run(["nft", "-f", "-"], input=nft_script(f"{plan.prefix}_fault", packet, bridge=plan.bridge))
        else:
            runner.in_netns(plan.node(target).netns, ["nft", "-f", "-"], input=nft_script(NS_TABLE, packet))
    elif kind == "bandwidth":
        node = plan.node(target)
        caps = [f for f in mine if f.kind == "bandwidth"]
        for direction, (where, device) in {"out": (node.netns, "eth0"), "in": (None, node.veth)}.items():
            cap = next((f for f in reversed(caps) if f.direction == direction), None)
            for cmd in tc_commands(device, cap):
                if where is None:
                    runner.run(cmd, check=cap is not None)
                else:
                    runner.in_netns(where, cmd, check=cap is not None)
    elif kind == "dns":
        wrong = [f for f in mine if f.kind == "dns"]
        records = dns_records(plan.services, wrong)
        if target == "all":
            dnsmasq.update(main_resolver(plan), records)
            for name, index in resolvers.items():  # the namespaces' own resolvers follow the lab DNS
                own = [f for f in faults if f.kind == "dns" and f.target == name]
                dnsmasq.update(_node_resolver(plan, name, index), dns_records(records, own))
            return
        node = plan.node(target)
        base = dns_records(plan.services, [f for f in faults if f.kind == "dns" and f.target == "all"])
        if wrong and target not in resolvers:
            free = next(i for i in range(64) if i not in resolvers.values())
            resolvers[target] = free
            r = _node_resolver(plan, target, free)
            runner.run(["ip", "addr", "add", f"{r.address}/24", "dev", plan.bridge])
            dnsmasq.start(r, dns_records(base, wrong), runner)
            set_nameserver(node, r.address)
        elif wrong:
            dnsmasq.update(_node_resolver(plan, target, resolvers[target]), dns_records(base, wrong))
        elif target in resolvers:
            r = _node_resolver(plan, target, resolvers.pop(target))
            set_nameserver(node, plan.gateway)
            dnsmasq.stop(r.pid_file, r.conf)
            runner.run(["ip", "addr", "del", f"{r.address}/24", "dev", plan.bridge], check=False)


def _node_resolver(plan: Plan, name: str, index: int) -> dnsmasq.Resolver:
    return dnsmasq.Resolver(plan.node(name).veth, plan.resolver(index), state_dir(plan.prefix))
