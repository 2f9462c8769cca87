"""One certificate per service host name, chosen by SNI (SPEC T5; issue 15).

On a real lab network each T5 host name resolves to its own address on the lab bridge and the
appliance answers all of them on port 443. A client that names the host in its TLS ClientHello
(SNI) gets that name's own certificate from the lab CA (subject and SAN the one name); a client
that names no host, or another one, gets the server certificate (``pki.ensure_lab_tls``).
Certificates live in ``<data>/tls/names/<name>.pem`` (keys 0600) and are made once.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Callable, Iterable
from pathlib import Path

from bwlab.private_files import write_private

from .pki import make_server_cert

log = logging.getLogger(__name__)


def ensure_name_certs(data_dir: Path, now: float, names: Iterable[str]) -> dict[str, tuple[Path, Path]]:
    """name → (certificate path, key path), each issued by the lab CA for that one name."""
    tls_dir = data_dir / "tls"
    out_dir = tls_dir / "names"
    out_dir.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = (tls_dir / "lab-ca.key").read_text(), (tls_dir / "lab-ca.pem").read_text()
    made: dict[str, tuple[Path, Path]] = {}
    for name in names:
        cert_path, key_path = out_dir / f"{name}.pem", out_dir / f"{name}.key"
        if not cert_path.exists() or not key_path.exists():
            key, cert = make_server_cert(ca_key, ca_cert, [name], now)
            write_private(key_path, key)
            cert_path.write_text(cert)
        made[name] = (cert_path, key_path)
    return made


def sni_callback(certs: dict[str, tuple[Path, Path]]) -> Callable[[ssl.SSLObject, str | None, ssl.SSLContext], None]:
    """An ``SSLContext.sni_callback`` that switches to the named host's own certificate."""
    contexts: dict[str, ssl.SSLContext] = {}
    for name, (cert_path, key_path) in certs.items():
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert_path, key_path)
        contexts[name.lower()] = ctx

    def choose(sock: ssl.SSLObject, server_name: str | None, _default: ssl.SSLContext) -> None:
        ctx = contexts.get((server_name or "").lower().rstrip("."))
        if ctx is not None:
            sock.context = ctx

    return choose
