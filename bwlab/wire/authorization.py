"""S3's last step on the wire: the authorization code and the controller's proof (issue 10).

The cloud issues an authorization code to the system controller that asks for one, bound to
that controller's device CA (by the SHA-256 of its public key), to the signed-in account and to
the organization; the code is single-use and expires. On *Finish* the controller sends the code
with a proof that it holds the device CA's private key: an ECDSA P-256/SHA-256 signature over
``PROOF_PREFIX || org_id || 0x00 || code``. So a code copied to another controller, or a device
CA registered by someone who does not hold its key, is refused.
"""

from __future__ import annotations

import base64
import binascii
import secrets

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

PROOF_PREFIX = b"bwlab-s3-authorization-v1\x00"


def new_code() -> str:
    """16 hex digits in four groups, as the Manager shows it: ``1A2B-3C4D-5E6F-7081``."""
    return "-".join(secrets.token_hex(2).upper() for _ in range(4))


def normalise(code: str) -> str:
    """What a person pastes (spaces around, lower case) compared as issued."""
    return code.strip().upper()


def key_fingerprint(ca: x509.Certificate) -> str:
    """SHA-256 of the CA's SubjectPublicKeyInfo, hex: one device CA key, one system."""
    spki = ca.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return digest.finalize().hex()


def _message(org_id: str, code: str) -> bytes:
    return PROOF_PREFIX + org_id.encode() + b"\x00" + normalise(code).encode()


def sign_proof(ca_key: ec.EllipticCurvePrivateKey, org_id: str, code: str) -> str:
    """The controller's proof for ``code`` (base64url, no padding)."""
    signature = ca_key.sign(_message(org_id, code), ec.ECDSA(hashes.SHA256()))
    return base64.urlsafe_b64encode(signature).decode().rstrip("=")


def verify_proof(ca: x509.Certificate, org_id: str, code: str, proof: str) -> bool:
    """Whether ``proof`` was made with the private key of ``ca`` for this organization and code."""
    key = ca.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return False
    try:
        signature = base64.urlsafe_b64decode(proof + "=" * (-len(proof) % 4))
        key.verify(signature, _message(org_id, code), ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True
