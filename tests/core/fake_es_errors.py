"""The error every part of the fake Elasticsearch raises: an HTTP status and an ES error body."""

from __future__ import annotations

from typing import Any


class EsError(Exception):
    """An Elasticsearch error response: ``status`` and ``{"error": {"type", "reason"}, "status"}``."""

    def __init__(self, status: int, etype: str, reason: str, **extra: Any) -> None:
        super().__init__(reason)
        error = {"root_cause": [{"type": etype, "reason": reason}], "type": etype, "reason": reason, **extra}
        self.status, self.body = status, {"error": error, "status": status}
