"""Identity keys of a CRM customer, in the normalised forms the linker looks up.

Rules (shared by every adapter and by the identity linker):

- ``email:<address>``  lower case, surrounding space removed;
- ``phone:<digits>``   digits only, with the country code: ``+98 912 123 4567``,
  ``0098 912 123 4567`` and ``09121234567`` all become ``989121234567``. A leading
  ``00`` is the international prefix; a single leading ``0`` is the national trunk
  prefix and is replaced by the default country code (98, Iran); numbers of fewer
  than 7 digits are ignored;
- ``handle:<platform>:<handle>``  lower case, without ``@``;
- ``order:<id>`` for order ids and ``ticket:<id>`` for support ticket ids (the id as
  written, trimmed).

A key is written ``kind:value`` (``phone:989121234567``, ``handle:twitter:sara_k``).

Persian/Arabic digits are folded to ASCII before any of this.
"""

from __future__ import annotations

import re

from core.domain import Customer, IdentityKey
from core.textnorm import normalize_persian

DEFAULT_COUNTRY_CODE = "98"
_NON_DIGITS = re.compile(r"\D+")


def normalize_phone(raw: str, default_country: str = DEFAULT_COUNTRY_CODE) -> str | None:
    """Digits with country code (see the module rules), or None if too short."""
    text = normalize_persian(raw).strip()
    digits = _NON_DIGITS.sub("", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = default_country + digits[1:]
    return digits if len(digits) >= 7 else None


def normalize_email(raw: str) -> str | None:
    """Lower-case e-mail address, or None when it has no '@'."""
    value = normalize_persian(raw).strip().lower()
    return value if "@" in value else None


def normalize_handle(platform: str, handle: str) -> str | None:
    """``platform:handle`` in lower case without '@'."""
    value = handle.strip().lstrip("@").lower()
    return f"{platform.strip().lower()}:{value}" if value and platform.strip() else None


def customer_identity_keys(customer: Customer) -> list[IdentityKey]:
    """Every identity key of ``customer`` (none for an erased customer)."""
    if customer.erased:
        return []
    values: list[tuple[str, str | None]] = []
    values += [("email", normalize_email(e)) for e in customer.emails]
    values += [("phone", normalize_phone(p)) for p in customer.phones]
    values += [
        ("handle", normalize_handle(platform, h))
        for platform, handles in customer.handles.items() for h in handles
    ]
    values += [("order", o.strip() or None) for o in customer.order_ids]
    values += [("ticket", t.id.strip() or None) for t in customer.tickets]
    seen = dict.fromkeys((k, v) for k, v in values if v)
    return [IdentityKey(kind=k, value=v) for k, v in seen]


def normalize_key(key: IdentityKey) -> IdentityKey | None:
    """``key`` in its normalised form (by the rules above), or None when unusable."""
    kind, raw = key.kind.strip().lower(), key.value
    value: str | None
    if kind == "email":
        value = normalize_email(raw)
    elif kind == "phone":
        value = normalize_phone(raw)
    elif kind == "handle":
        platform, _, handle = raw.partition(":")
        value = normalize_handle(platform, handle) if handle else None
    else:
        value = raw.strip() or None
    return IdentityKey(kind=kind, value=value) if value else None
