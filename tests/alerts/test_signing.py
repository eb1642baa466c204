"""Stripe-style webhook signatures, including two active secrets during rotation."""

from __future__ import annotations

import hashlib
import hmac

from alerts.signing import sign_payload, sign_payload_with_all, verify_signature

BODY = '{"alert_id":"al-1","brand":"سپهر موبایل"}'.encode()


def test_header_format_is_stripe_style() -> None:
    header = sign_payload(BODY, "whsec_a", 1_700_000_000)
    expected = hmac.new(b"whsec_a", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify_signature(BODY, header, ["whsec_a"], now=1_700_000_100)


def test_rejects_tampering_wrong_secret_and_replays() -> None:
    header = sign_payload(BODY, "whsec_a", 1_700_000_000)
    assert not verify_signature(BODY + b" ", header, ["whsec_a"], now=1_700_000_000)
    assert not verify_signature(BODY, header, ["whsec_b"], now=1_700_000_000)
    assert not verify_signature(BODY, header, ["whsec_a"], now=1_700_000_000 + 301)
    assert not verify_signature(BODY, "garbage", ["whsec_a"], now=1_700_000_000)
    assert not verify_signature(BODY, "t=abc,v1=00", ["whsec_a"], now=1_700_000_000)


def test_rotation_signs_with_both_and_either_receiver_secret_verifies() -> None:
    header = sign_payload_with_all(BODY, ["whsec_old", "whsec_new"], 1_700_000_000)
    assert header.count("v1=") == 2
    assert verify_signature(BODY, header, ["whsec_old"], now=1_700_000_000)  # receiver not rotated yet
    assert verify_signature(BODY, header, ["whsec_new"], now=1_700_000_000)  # receiver already rotated
    assert not verify_signature(BODY, header, ["whsec_other"], now=1_700_000_000)
