"""The camera's side of device authentication (DESIGN "Trust and encryption"; D1).

A camera makes its own P-256 key, sends a certificate signing request to the dock, and proves
possession to the device hub by signing ``b"bwlab-hub-v1" || nonce`` (messages.Hello).
The hub's side of the check is ``appliance.pki.verify_device``.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .messages import CHALLENGE_PREFIX


def new_device_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def make_csr(key: ec.EllipticCurvePrivateKey, serial: str) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, serial)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def answer_challenge(key: ec.EllipticCurvePrivateKey, nonce_b64: str) -> str:
    """The base64url signature a Hello carries for the hub's challenge nonce."""
    nonce = base64.urlsafe_b64decode(nonce_b64 + "=" * (-len(nonce_b64) % 4))
    signature = key.sign(CHALLENGE_PREFIX + nonce, ec.ECDSA(hashes.SHA256()))
    return base64.urlsafe_b64encode(signature).decode().rstrip("=")
