"""Each T5 host name gets its own certificate from the lab CA by SNI, on every listener (issue 15)."""

# covers: T5

import asyncio
import socket
import ssl

from bwlab.regions import SERVICE_HOSTS


def _peer_cert(port: int, ca_pem: str, server_hostname: str | None) -> dict:
    ctx = ssl.create_default_context(cadata=ca_pem)
    if server_hostname is None:
        ctx.check_hostname = False
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        cert = tls.getpeercert()
    return {"cn": dict(x[0] for x in cert["subject"])["commonName"], "san": [v for _, v in cert["subjectAltName"]]}


async def test_sni_chooses_the_names_own_certificate_and_no_sni_gets_the_server_certificate(appliance):
    for host in SERVICE_HOSTS:
        seen = await asyncio.to_thread(_peer_cert, appliance.port, appliance.ca_pem, host.name)
        assert seen == {"cn": host.name, "san": [host.name]}  # verified against the lab CA
    plain = await asyncio.to_thread(_peer_cert, appliance.port, appliance.ca_pem, "localhost")
    assert plain["cn"] == "localhost" and "devices.bwlab.test" in plain["san"]  # the server certificate
    keys = sorted((appliance.data_dir / "tls" / "names").glob("*.key"))
    assert len(keys) == len(SERVICE_HOSTS) and all(k.stat().st_mode & 0o777 == 0o600 for k in keys)
