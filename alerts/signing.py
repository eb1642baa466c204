"""Stripe-style webhook signatures: ``t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>``.

During secret rotation two secrets are active: the sender signs with both (one ``v1=`` per
secret in one header) and the receiver accepts a header if any ``v1`` matches any of its
secrets. Verification uses constant-time comparison and rejects timestamps outside the
tolerance (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "BrandGuard-Signature"
DELIVERY_HEADER = "BrandGuard-Delivery"


def _mac(body: bytes, secret: str, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The signature header value for ``body`` signed with one secret at ``timestamp``."""
    return f"t={int(timestamp)},v1={_mac(body, secret, int(timestamp))}"


def sign_payload_with_all(body: bytes, secrets: list[str], timestamp: int) -> str:
    """One header carrying a ``v1=`` per active secret (rotation): ``t=..,v1=..,v1=..``."""
    if not secrets:
        raise ValueError("no signing secret configured")
    return f"t={int(timestamp)}," + ",".join(f"v1={_mac(body, s, int(timestamp))}" for s in secrets)


def parse_signature_header(header: str) -> tuple[int | None, list[str]]:
    """(timestamp, v1 signatures) of a header; unknown schemes are ignored."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                return None, []
        elif key == "v1" and value:
            signatures.append(value)
    return timestamp, signatures


def verify_signature(
    body: bytes, header: str, secrets: list[str], tolerance_seconds: int = 300, now: int | None = None
) -> bool:
    """True when some ``v1`` in ``header`` is the HMAC of ``body`` under one of ``secrets`` and
    the timestamp is within ``tolerance_seconds`` of ``now``."""
    timestamp, signatures = parse_signature_header(header or "")
    if timestamp is None or not signatures or not secrets:
        return False
    current = int(time.time()) if now is None else int(now)
    if abs(current - timestamp) > tolerance_seconds:
        return False
    expected = [_mac(body, secret, timestamp) for secret in secrets if secret]
    return any(hmac.compare_digest(sig, exp) for sig in signatures for exp in expected)
