"""The hub's certificate check names the system whose device CA *verifies* a camera's chain
(issue 10: a camera is (system, serial)); pure, no sockets."""

# covers: D1, S3

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from appliance import pki
from bwlab.wire.device_auth import make_csr, new_device_key
from bwlab.wire.messages import CHALLENGE_PREFIX

NOW = 1_790_000_000.0


def _camera(ca: tuple[str, str], serial: str, at: float = NOW):
    key = new_device_key()
    cert = pki.issue_device_cert(ca[0], ca[1], make_csr(key, serial), serial, at)
    challenge = CHALLENGE_PREFIX + os.urandom(32)
    return cert, challenge, key.sign(challenge, ec.ECDSA(hashes.SHA256()))


def test_the_issuer_is_the_ca_that_verifies_not_the_one_with_the_same_name():
    real = pki.make_ca("bwlab device CA Main station", NOW)
    lookalike = pki.make_ca("bwlab device CA Main station", NOW)  # the same name, another key
    trusted = {"sys_lookalike": lookalike[1], "sys_real": real[1]}
    cert, challenge, signature = _camera(real, "B8A44F000101")
    verified = pki.verify_device(cert, trusted, challenge, signature, NOW + 60)
    assert (verified.issuer_id, verified.serial) == ("sys_real", "B8A44F000101")
    cert, challenge, signature = _camera(lookalike, "B8A44F000101")
    assert pki.verify_device(cert, trusted, challenge, signature, NOW + 60).issuer_id == "sys_lookalike"


def test_a_ca_registered_by_two_systems_names_no_system():
    ca = pki.make_ca("shared", NOW)
    cert, challenge, signature = _camera(ca, "B8A44F000101")
    with pytest.raises(pki.CertificateRefused, match="more than one system") as refused:
        pki.verify_device(cert, {"sys_a": ca[1], "sys_b": ca[1]}, challenge, signature, NOW + 60)
    assert not refused.value.authentic


def test_an_expired_certificate_is_refused_against_its_own_system_and_serial():
    ca = pki.make_ca("main", NOW)
    cert, challenge, signature = _camera(ca, "B8A44F000102")
    with pytest.raises(pki.CertificateRefused) as refused:
        pki.verify_device(cert, {"sys_main": ca[1]}, challenge, signature, NOW + 7 * 86400)
    assert refused.value.code == "certificate_expired" and refused.value.authentic
    assert refused.value.device == ("sys_main", "B8A44F000102")


def test_a_stranger_ca_and_a_wrong_proof_are_refused():
    ca, other = pki.make_ca("main", NOW), pki.make_ca("other", NOW)
    cert, challenge, signature = _camera(other, "B8A44F000103")
    with pytest.raises(pki.CertificateRefused, match="not issued by a connected system"):
        pki.verify_device(cert, {"sys_main": ca[1]}, challenge, signature, NOW + 60)
    cert, challenge, signature = _camera(ca, "B8A44F000103")
    with pytest.raises(pki.CertificateRefused, match="proof of possession"):
        pki.verify_device(cert, {"sys_main": ca[1]}, challenge + b"x", signature, NOW + 60)
