"""A real OpenStack Swift on loopback, for tests that need a standard content destination (issue 13).

``start_swift(root)`` builds a one-replica Swift in the directory ``root``:

* ``swift.conf`` (hash path prefix/suffix), three rings built with the real ``swift-ring-builder``
  (one device ``d1`` each, on 127.0.0.1 at ephemeral ports);
* account, container and object servers over a plain directory device (``mount_check = false``),
  each a ``swift-*-server`` subprocess with ``workers = 0`` (one process, no forking);
* a proxy with ``tempauth`` (account ``test``, user ``tester``, key ``testing``, group ``.admin``)
  and ``account_autocreate``, whose tokens live in Debian's ``memcached`` (on its own loopback port);

and waits (bounded) until ``GET /auth/v1.0`` answers with a token and the account answers ``HEAD``.
``SwiftCluster.stop()`` ends the five processes it started (SIGTERM, then SIGKILL after a bounded
wait). Servers' output goes to ``root/logs``; a failed start raises with the logs' tails.

Needs the PyPI ``swift`` package (its console scripts next to ``sys.executable`` or on PATH) and
``memcached`` (``.ci/run`` installs both).
"""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ACCOUNT = "test"
USER = "tester"
KEY = "testing"
START_TIMEOUT = 60.0  # a loaded 2-core machine has taken 17 s


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _script(name: str) -> str:
    """A console script of the installed ``swift`` package: next to this interpreter (a venv, or
    pyenv's real bin without its shim), else on PATH."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: pip install swift (see .ci/run)")
    return found


@dataclass
class SwiftCluster:
    root: Path
    proxy_port: int
    memcached_port: int
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict, repr=False)
    ports: dict[str, int] = field(default_factory=dict)
    account: str = ACCOUNT
    user: str = USER
    key: str = KEY
    start_seconds: float = 0.0

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/auth/v1.0"

    @property
    def auth_user(self) -> str:
        """The ``X-Auth-User`` (tempauth's ``account:user``)."""
        return f"{self.account}:{self.user}"

    @property
    def storage_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/v1/AUTH_{self.account}"

    def connection(self, **kwargs):
        """A python-swiftclient Connection as this cluster's test user."""
        from swiftclient.client import Connection

        return Connection(authurl=self.auth_url, user=self.auth_user, key=self.key, retries=0, timeout=10, **kwargs)

    def logs(self, lines: int = 20) -> str:
        out = []
        for path in sorted((self.root / "logs").glob("*.log")):
            tail = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(tail))
        return "\n".join(out)

    def stop(self, timeout: float = 10.0) -> None:
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.processes.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.processes.clear()

    def stop_server(self, name: str, timeout: float = 10.0) -> None:
        """Stop one server (``proxy``, ``account``, ``container``, ``object``, ``memcached``): an
        outage. ``start_server`` brings it back on the same port."""
        proc = self.processes.pop(name)
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def start_server(self, name: str, timeout: float = START_TIMEOUT) -> None:
        """Start a server stopped by ``stop_server`` again and wait until it listens."""
        if name in self.processes:
            raise RuntimeError(f"{name} is running")
        self._launch(name)
        _wait_port(self.ports[name], time.monotonic() + timeout, self.processes[name], name)

    def _launch(self, name: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with open(self.root / "logs" / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(
                self.commands[name],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )


_BACKEND = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
swift_dir = {swift_dir}
devices = {devices}
mount_check = false
log_name = {name}-server
log_level = {log_level}
disable_fallocate = true

[pipeline:main]
pipeline = {name}-server

[app:{name}-server]
use = egg:swift#{name}
"""

_PROXY = """\
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = {port}
workers = 0
swift_dir = {swift_dir}
log_name = proxy-server
log_level = {log_level}

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats tempauth copy dlo versioned_writes proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:tempauth]
use = egg:swift#tempauth
user_{account}_{user} = {key} .admin
token_life = {token_life}

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:{memcached_port}

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:copy]
use = egg:swift#copy

[filter:dlo]
use = egg:swift#dlo

[filter:versioned_writes]
use = egg:swift#versioned_writes
"""


def _wait_port(port: int, deadline: float, proc: subprocess.Popen, name: str) -> None:
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not listen on 127.0.0.1:{port} in time") from None
            time.sleep(0.05)


def _request(port: int, method: str, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        return resp
    finally:
        conn.close()


def start_swift(
    root: Path, *, token_life: int = 86400, log_level: str = "INFO", timeout: float = START_TIMEOUT
) -> SwiftCluster:
    """Build and start a Swift under ``root`` (created if needed); see the module docstring."""
    started = time.monotonic()
    deadline = started + timeout
    root.mkdir(parents=True, exist_ok=True)
    swift_dir, devices, logs = root / "etc", root / "srv", root / "logs"
    for d in (swift_dir, devices / "d1", logs):
        d.mkdir(parents=True, exist_ok=True)
    (swift_dir / "swift.conf").write_text(
        "[swift-hash]\n"
        f"swift_hash_path_prefix = {secrets.token_hex(8)}\n"
        f"swift_hash_path_suffix = {secrets.token_hex(8)}\n\n"
        "[storage-policy:0]\nname = Policy-0\ndefault = yes\n"
    )
    ports = {name: _free_port() for name in ("account", "container", "object", "proxy", "memcached")}
    cluster = SwiftCluster(root=root, proxy_port=ports["proxy"], memcached_port=ports["memcached"], ports=ports)
    try:
        memcached_cmd = [
            shutil.which("memcached") or "/usr/bin/memcached",
            "-l",
            "127.0.0.1",
            "-p",
            str(ports["memcached"]),
            "-U",
            "0",
            "-m",
            "16",
            "-t",
            "1",
        ]
        if os.geteuid() == 0:
            memcached_cmd += ["-u", "root"]
        confs = {
            name: _BACKEND.format(
                port=ports[name], swift_dir=swift_dir, devices=devices, name=name, log_level=log_level
            )
            for name in ("account", "container", "object")
        }
        confs["proxy"] = _PROXY.format(
            port=ports["proxy"],
            swift_dir=swift_dir,
            account=ACCOUNT,
            user=USER,
            key=KEY,
            token_life=token_life,
            memcached_port=ports["memcached"],
            log_level=log_level,
        )
        cluster.commands["memcached"] = memcached_cmd
        for name, text in confs.items():
            path = swift_dir / f"{name}-server.conf"
            path.write_text(text)
            cluster.commands[name] = [_script(f"swift-{name}-server"), str(path), "--verbose"]

        # memcached and the storage servers need no ring to start: they start while the rings are built
        for name in ("memcached", "account", "container", "object"):
            cluster._launch(name)

        # rings, the three built in parallel with the real swift-ring-builder
        builder = _script("swift-ring-builder")
        steps = {
            name: [
                [builder, str(swift_dir / f"{name}.builder"), "create", "4", "1", "1"],
                [builder, str(swift_dir / f"{name}.builder"), "add", f"r1z1-127.0.0.1:{ports[name]}/d1", "100"],
                [builder, str(swift_dir / f"{name}.builder"), "rebalance"],
            ]
            for name in ("account", "container", "object")
        }
        for i in range(3):
            running = [
                (name, subprocess.Popen(cmds[i], stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
                for name, cmds in steps.items()
            ]
            for name, proc in running:
                out, _ = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
                if proc.returncode != 0:
                    raise RuntimeError(
                        f"swift-ring-builder {' '.join(steps[name][i][2:])} for {name}: "
                        f"status {proc.returncode}: {out.decode(errors='replace')}"
                    )
        for name in ("account", "container", "object"):
            if not (swift_dir / f"{name}.ring.gz").exists():
                raise RuntimeError(f"swift-ring-builder wrote no {name}.ring.gz")
        cluster._launch("proxy")
        for name, proc in cluster.processes.items():
            _wait_port(ports[name], deadline, proc, name)

        # ready when tempauth hands out a token and the account answers through the proxy
        while True:
            try:
                resp = _request(
                    ports["proxy"], "GET", "/auth/v1.0", {"X-Auth-User": cluster.auth_user, "X-Auth-Key": KEY}
                )
                if resp.status == 200:
                    token = resp.getheader("X-Auth-Token")
                    head = _request(ports["proxy"], "HEAD", f"/v1/AUTH_{ACCOUNT}", {"X-Auth-Token": token})
                    if head.status in (200, 204):
                        break
            except OSError:
                pass
            for name, proc in cluster.processes.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("Swift did not answer GET /auth/v1.0 and HEAD on the account in time")
            time.sleep(0.1)
    except BaseException as exc:
        logs_text = cluster.logs()
        cluster.stop()
        if isinstance(exc, Exception):
            raise RuntimeError(f"Swift did not start: {exc}\n{logs_text}") from exc
        raise
    cluster.start_seconds = time.monotonic() - started
    return cluster
