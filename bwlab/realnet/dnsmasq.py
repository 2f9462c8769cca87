"""The lab DNS: Debian's dnsmasq answering the service's host names (SPEC T5; issue 15).

One dnsmasq listens on the bridge's host address and answers every T5 name with its service
address (``plan.services``). Answers come from a hosts file (re-read on SIGHUP, so a DNS fault
applies without a restart) with a one-second TTL; any other name under ``bwlab.test`` is
NXDOMAIN and nothing is forwarded anywhere (``no-resolv``). A DNS fault in one namespace gets a
resolver of its own on a further bridge address, which that namespace's ``resolv.conf`` names.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from .runner import NetError, Runner

DOMAIN = "bwlab.test"


@dataclass(frozen=True)
class Resolver:
    tag: str  # "main" or the namespace it serves
    address: str
    directory: Path

    @property
    def conf(self) -> Path:
        return self.directory / f"dnsmasq-{self.tag}.conf"

    @property
    def hosts(self) -> Path:
        return self.directory / f"dnsmasq-{self.tag}.hosts"

    @property
    def pid_file(self) -> Path:
        return self.directory / f"dnsmasq-{self.tag}.pid"


def conf_text(r: Resolver) -> str:
    return "\n".join(
        [
            "# bwlab lab DNS (issue 15): the service's host names (T5) on the lab bridge",
            "no-resolv",
            "no-hosts",
            "no-poll",
            f"addn-hosts={r.hosts}",
            f"local=/{DOMAIN}/",
            "domain-needed",
            f"listen-address={r.address}",
            "bind-interfaces",
            "port=53",
            "local-ttl=1",
            "cache-size=0",
            "user=root",
            f"pid-file={r.pid_file}",
            "",
        ]
    )


def hosts_text(records: dict[str, str]) -> str:
    """``address name`` lines; a name missing from ``records`` is NXDOMAIN."""
    return "".join(f"{addr}\t{name}\n" for name, addr in records.items())


def start(r: Resolver, records: dict[str, str], runner: Runner) -> int:
    r.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    r.hosts.write_text(hosts_text(records))
    r.conf.write_text(conf_text(r))
    runner.run(["dnsmasq", f"--conf-file={r.conf}"])  # forks; writes its pid file
    for _ in range(50):
        pid = pid_of(r)
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise NetError(f"dnsmasq for {r.tag} wrote no pid file {r.pid_file}")


def update(r: Resolver, records: dict[str, str]) -> None:
    """New answers, now: rewrite the hosts file and have dnsmasq re-read it."""
    r.hosts.write_text(hosts_text(records))
    pid = pid_of(r)
    if pid is None:
        raise NetError(f"the lab DNS for {r.tag} is not running (no live pid in {r.pid_file})")
    os.kill(pid, signal.SIGHUP)


def pid_of(r: Resolver) -> int | None:
    """dnsmasq's pid from its pid file, if that process is alive and is this resolver's dnsmasq."""
    return live_dnsmasq(r.pid_file, r.conf)


def live_dnsmasq(pid_file: Path, conf: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if cmdline and cmdline[0].endswith(b"dnsmasq") and f"--conf-file={conf}".encode() in cmdline:
        return pid
    return None


def stop(pid_file: Path, conf: Path) -> int | None:
    """Stop the dnsmasq a pid file names (only if it runs our conf); its pid, or None."""
    pid = live_dnsmasq(pid_file, conf)
    if pid is not None:
        stop_pid(pid)
    return pid


def stop_pid(pid: int) -> None:
    """TERM, then KILL if it lingers (a dnsmasq this lab started)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        if not alive(pid):
            break
        time.sleep(0.02)
    else:
        os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
