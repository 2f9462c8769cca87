"""Certificates: the lab CA, the HTTPS server certificate, system device CAs, camera certificates.

DESIGN "Trust and encryption"; SPEC D1 (a camera's certificate is renewed in the dock and is
valid six days), T2 (service error after six days undocked).

- The appliance makes a lab CA on first start and an HTTPS server certificate from it, for
  localhost, the loopback addresses, the machine's host name and the T5 host names.
- Each system controller has its own device CA, registered with the cloud when the system is
  connected (S3). Docking issues the camera a certificate from that CA, valid six days.
- Certificate validity is judged against the *lab* clock with ``cryptography``'s X.509
  verifier, not by OpenSSL during the TLS handshake (which only knows real time): the device hub
  authenticates a camera by its certificate chain plus a signature over a fresh challenge, so that
  time travel moves certificate expiry exactly like every other rule.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from bwlab.errors import Refused
from bwlab.private_files import write_private

DEVICE_CERT_VALIDITY = dt.timedelta(days=6)  # D1
_CA_VALIDITY = dt.timedelta(days=3650)
_SERVER_VALIDITY = dt.timedelta(days=825)


class CertificateRefused(Refused):
    """A certificate or proof of possession that the hub does not accept; str() says why.

    ``authentic`` is true when the camera is who it says it is (the chain and the proof verify)
    and only the time is wrong: the refusal may then be recorded against ``device``, the
    (issuer id, serial) the certificate names.
    """

    def __init__(
        self,
        message: str,
        *,
        authentic: bool = False,
        code: str = "certificate_refused",
        device: tuple[str, str] | None = None,
    ):
        super().__init__(message)
        self.authentic = authentic
        self.code = code
        self.device = device


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def load_key(pem: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("expected an EC private key")
    return key


def load_cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    """Signing only: certificates and CRLs for a CA, signatures for a leaf."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def make_ca(common_name: str, now: float, validity: dt.timedelta = _CA_VALIDITY) -> tuple[str, str]:
    """A self-signed CA; returns (key PEM, certificate PEM)."""
    key = new_key()
    name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, common_name), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bwlab")]
    )
    start = _utc(now) - dt.timedelta(days=1)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + validity)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key_pem(key), cert_pem(cert)


def _leaf_builder(
    ca_cert: x509.Certificate, subject: x509.Name, public_key, not_before: dt.datetime, not_after: dt.datetime
) -> x509.CertificateBuilder:
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )


def make_server_cert(ca_key_pem: str, ca_cert_pem: str, names: list[str], now: float) -> tuple[str, str]:
    """An HTTPS server certificate for ``names`` (DNS names or IP addresses)."""
    ca_key, ca_cert = load_key(ca_key_pem), load_cert(ca_cert_pem)
    key = new_key()
    sans: list[x509.GeneralName] = []
    for n in dict.fromkeys(names):
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    start = _utc(now) - dt.timedelta(days=1)
    cert = (
        _leaf_builder(
            ca_cert,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]),
            key.public_key(),
            start,
            start + _SERVER_VALIDITY,
        )
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_key_usage(ca=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return key_pem(key), cert_pem(cert)


def device_name(serial: str) -> str:
    """The SAN a camera certificate carries, so the verifier can name the camera."""
    return f"{serial.lower()}.cameras.bwlab.invalid"


def issue_device_cert(ca_key_pem: str, ca_cert_pem: str, csr_pem: str, serial: str, now: float) -> str:
    """Sign a camera's CSR with the system's device CA, valid six days from ``now`` (D1)."""
    ca_key, ca_cert = load_key(ca_key_pem), load_cert(ca_cert_pem)
    csr = x509.load_pem_x509_csr(csr_pem.encode())
    if not csr.is_signature_valid:
        raise ValueError("the certificate signing request's signature is not valid")
    if not isinstance(csr.public_key(), ec.EllipticCurvePublicKey):
        raise ValueError("the certificate signing request must carry an EC P-256 key")
    start = _utc(now)
    cert = (
        _leaf_builder(
            ca_cert,
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, serial)]),
            csr.public_key(),
            start - dt.timedelta(minutes=5),
            start + DEVICE_CERT_VALIDITY,
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(device_name(serial))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(_key_usage(ca=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    return cert_pem(cert)


@dataclass(frozen=True)
class VerifiedDevice:
    serial: str
    not_after: float
    issuer_id: str  # the key of the trusted CA that signed the certificate (a cloud system id)


def verify_device(
    cert_pem_text: str, trusted: Mapping[str, str], challenge: bytes, signature: bytes, now: float
) -> VerifiedDevice:
    """Check a camera's certificate against the connected systems' CAs (``trusted``: system id →
    CA PEM) at lab time ``now``, and its signature over the hub's fresh ``challenge`` (proof of
    possession: a copied certificate without its key, or a replayed signature, is refused).

    The issuing system is the one whose CA *verifies* the chain, not one whose CA merely has the
    issuer's name (anyone can make a CA with any name); a chain that verifies under two systems'
    CAs names no system and is refused (issue 10: device identity is (system, serial))."""
    try:
        cert = load_cert(cert_pem_text)
    except ValueError:
        raise CertificateRefused("the certificate is not a PEM X.509 certificate") from None
    if not trusted:
        raise CertificateRefused("no connected system: no device CA is trusted")
    candidates = [
        (issuer_id, ca)
        for issuer_id, ca in ((i, load_cert(p)) for i, p in trusted.items())
        if ca.subject == cert.issuer
    ]
    if not candidates:
        raise CertificateRefused("the certificate was not issued by a connected system's device CA")
    not_after = cert.not_valid_after_utc.timestamp()
    expired = now > not_after
    # An expired certificate is still checked in full, at its last valid second, so that the
    # refusal can be told apart from a forgery and recorded against the real camera.
    at = min(now, not_after - 1)
    issuers, failure = [], ""
    for issuer_id, ca in candidates:
        verifier = PolicyBuilder().store(Store([ca])).time(_utc(at)).build_client_verifier()
        try:
            verifier.verify(cert, [])
        except VerificationError as exc:
            failure = str(exc)
            continue
        issuers.append(issuer_id)
    if not issuers:
        raise CertificateRefused(f"the certificate does not verify: {failure}")
    if len(issuers) > 1:
        raise CertificateRefused("the certificate's device CA is registered by more than one system")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateRefused("the certificate does not carry an EC key")
    try:
        key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise CertificateRefused("the proof of possession does not verify for this certificate") from None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise CertificateRefused("the certificate names no camera (no common name)")
    serial = str(names[0].value)
    if expired:
        raise CertificateRefused(
            "the certificate expired: the camera has not been docked for more than six days (D1)",
            authentic=True,
            code="certificate_expired",
            device=(issuers[0], serial),
        )
    return VerifiedDevice(serial=serial, not_after=not_after, issuer_id=issuers[0])


def fingerprint_sha256(pem: str) -> str:
    return load_cert(pem).fingerprint(hashes.SHA256()).hex(":").upper()


@dataclass(frozen=True)
class LabTLS:
    """The lab CA and the server certificate on disk in the data directory."""

    ca_cert_path: Path
    server_cert_path: Path
    server_key_path: Path

    @property
    def ca_pem(self) -> str:
        return self.ca_cert_path.read_text()


def server_names(extra: Iterable[str] = ()) -> list[str]:
    names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    return names + [n for n in extra if n]


def ensure_lab_tls(data_dir: Path, now: float, extra_names: Iterable[str] = ()) -> LabTLS:
    """Create the lab CA (once) and a server certificate covering the current names."""
    tls_dir = data_dir / "tls"
    tls_dir.mkdir(parents=True, exist_ok=True)
    ca_key_path, ca_cert_path = tls_dir / "lab-ca.key", tls_dir / "lab-ca.pem"
    if not ca_cert_path.exists():
        ca_key, ca_cert = make_ca("bwlab lab CA", now)
        write_private(ca_key_path, ca_key)
        ca_cert_path.write_text(ca_cert)
    names = server_names(list(extra_names))
    key_path, cert_path = tls_dir / "server.key", tls_dir / "server.pem"
    names_path = tls_dir / "server.names"
    if not cert_path.exists() or not names_path.exists() or names_path.read_text() != "\n".join(names):
        key, cert = make_server_cert(ca_key_path.read_text(), ca_cert_path.read_text(), names, now)
        write_private(key_path, key)
        cert_path.write_text(cert)
        names_path.write_text("\n".join(names))
    return LabTLS(ca_cert_path, cert_path, key_path)
