"""Run inside a namespace: resolve a host name through the system resolver (the lab DNS), open
TLS to it on port 443 naming it in SNI, verify against the lab CA, and print what was seen."""

import json
import socket
import ssl
import sys

name, ca_file = sys.argv[1], sys.argv[2]
address = socket.getaddrinfo(name, 443, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
ctx = ssl.create_default_context(cafile=ca_file)
with socket.create_connection((address, 443), timeout=5) as raw, ctx.wrap_socket(raw, server_hostname=name) as tls:
    cert = tls.getpeercert()
    tls.sendall(f"GET /healthz HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
    reply = b""
    while chunk := tls.recv(4096):
        reply += chunk
print(
    json.dumps(
        {
            "address": address,
            "subject": dict(x[0] for x in cert["subject"]),
            "issuer": dict(x[0] for x in cert["issuer"]),
            "san": [v for k, v in cert.get("subjectAltName", ())],
            "status": reply.split(b" ", 2)[1].decode(),
        }
    )
)
