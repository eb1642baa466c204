"""A JSON Lines file channel: the demo's local inbox (one line per delivery, with its id).

The path is ``options.path`` (relative to the data dir) or ``<data_dir>/alerts.jsonl``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from alerts.message import text_lines
from alerts.notifiers.base import DeliveryError, Notifier
from core.domain import Delivery


class LogNotifier(Notifier):
    type_name = "log"

    @property
    def path(self) -> Path:
        configured = self.channel.options.get("path") or self.channel.url
        path = Path(configured) if configured else Path("alerts.jsonl")
        return path if path.is_absolute() else Path(self.settings.data_dir) / path

    def send(self, delivery: Delivery) -> None:
        record = {"delivery_id": delivery.id, "channel": self.name, "kind": delivery.kind,
                  "text": "\n".join(text_lines(delivery.payload)), **delivery.payload}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One O_APPEND write per line: concurrent dispatchers never interleave a record.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
        except OSError as exc:
            raise DeliveryError(f"channel {self.name!r}: cannot write {self.path}: {exc.strerror}", retryable=True) from None
