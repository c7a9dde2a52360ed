"""Signing: ECDSA over SHA-256, DER, always low-S, verifiable with the certificate's key."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from client.gateway import Signer
from client.gateway.signing import CURVE_ORDERS, to_low_s

N = CURVE_ORDERS["secp256r1"]


def test_curve_order_table_matches_cryptography_for_p256():
    # n is the order of the group: n * G is the point at infinity, so (n - 1) * G = -G.
    key = ec.derive_private_key(N - 1, ec.SECP256R1())
    generator = ec.derive_private_key(1, ec.SECP256R1()).public_key().public_numbers()
    minus_g = key.public_key().public_numbers()
    assert minus_g.x == generator.x and minus_g.y != generator.y


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (1, 1),
        (N // 2, N // 2),  # the largest low value stays
        (N // 2 + 1, N - (N // 2 + 1)),  # the smallest high value flips
        (N - 1, 1),
    ],
)
def test_to_low_s_moves_s_to_lower_half(s, expected):
    signature = encode_dss_signature(12345, s)
    r, low = decode_dss_signature(to_low_s(signature, N))
    assert (r, low) == (12345, expected)


def test_high_s_signature_is_normalised_and_still_verifies():
    key = ec.generate_private_key(ec.SECP256R1())
    message = b"proposal bytes"
    # Build a high-S signature: (r, n - s) is valid whenever (r, s) is.
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    high = encode_dss_signature(r, s if s > N // 2 else N - s)
    key.public_key().verify(high, message, ec.ECDSA(hashes.SHA256()))
    low = to_low_s(high, N)
    assert decode_dss_signature(low)[1] <= N // 2
    key.public_key().verify(low, message, ec.ECDSA(hashes.SHA256()))


def test_signer_signatures_are_low_s_and_verify():
    key = ec.generate_private_key(ec.SECP256R1())
    signer = Signer(key)
    # ~half of raw ECDSA signatures are high-S, so 64 signatures all being low-S would happen
    # by chance with probability 2**-64.
    for i in range(64):
        message = f"message {i}".encode()
        signature = signer.sign(message)
        assert decode_dss_signature(signature)[1] <= N // 2
        key.public_key().verify(signature, message, ec.ECDSA(hashes.SHA256()))


def test_signature_does_not_verify_other_message():
    signer = Signer(ec.generate_private_key(ec.SECP256R1()))
    signature = signer.sign(b"one")
    with pytest.raises(InvalidSignature):
        signer.public_key().verify(signature, b"two", ec.ECDSA(hashes.SHA256()))


def test_p384_key_is_supported():
    key = ec.generate_private_key(ec.SECP384R1())
    signature = Signer(key).sign(b"x")
    assert decode_dss_signature(signature)[1] <= CURVE_ORDERS["secp384r1"] // 2
    key.public_key().verify(signature, b"x", ec.ECDSA(hashes.SHA256()))


def test_from_pem_round_trip(gateway_kit):
    key = ec.generate_private_key(ec.SECP256R1())
    signer = Signer.from_pem(gateway_kit.key_pem(key))
    key.public_key().verify(signer.sign(b"m"), b"m", ec.ECDSA(hashes.SHA256()))


@pytest.mark.parametrize(
    ("make_key", "error", "message"),
    [
        (lambda: ec.generate_private_key(ec.SECP521R1()), ValueError, "unsupported curve"),
        (
            lambda: rsa.generate_private_key(public_exponent=65537, key_size=1024),
            TypeError,
            "EC private key",
        ),
    ],
)
def test_unsuitable_keys_are_refused(make_key, error, message):
    with pytest.raises(error, match=message):
        Signer(make_key())


def test_from_pem_refuses_rsa(gateway_kit):
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="EC private key"):
        Signer.from_pem(gateway_kit.key_pem(key))


def test_from_pem_refuses_garbage():
    with pytest.raises(ValueError):
        Signer.from_pem(b"-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
