"""Input types shared by routes: RFC 3339 times only (no Unix numbers, no naive times)."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: Any) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a time needs a UTC offset, e.g. 2026-11-23T10:00:00Z")
        return value.astimezone(timezone.utc)
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("expected an RFC 3339 time with offset, e.g. 2026-11-23T10:00:00Z")
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError as exc:
        raise ValueError(f"not a valid time: {exc}") from None


Rfc3339 = Annotated[datetime, BeforeValidator(_rfc3339), WithJsonSchema({"type": "string", "format": "date-time"})]
