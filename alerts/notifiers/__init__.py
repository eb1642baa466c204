"""Notifiers, one module per channel type, chosen by the channel's ``type`` in settings.

``build_notifier(name, settings)`` returns the notifier for ``settings.alerts.channels[name]``.
"""

from __future__ import annotations

import os
from typing import Mapping

from alerts.notifiers.base import DeliveryError, Notifier, NotifierConfigError
from alerts.notifiers.email import EmailNotifier
from alerts.notifiers.log import LogNotifier
from alerts.notifiers.slack import SlackNotifier
from alerts.notifiers.telegram import TelegramNotifier
from alerts.notifiers.webhook import WebhookNotifier
from core.config import Settings

NOTIFIER_TYPES: dict[str, type[Notifier]] = {
    cls.type_name: cls for cls in (SlackNotifier, WebhookNotifier, EmailNotifier, TelegramNotifier, LogNotifier)
}


def build_notifier(name: str, settings: Settings, env: Mapping[str, str] | None = None) -> Notifier:
    """The notifier of channel ``name``; NotifierConfigError when it is not configured."""
    channel = settings.alerts.channels.get(name)
    if channel is None:
        raise NotifierConfigError(f"channel {name!r} is not configured under alerts.channels")
    return NOTIFIER_TYPES[channel.type](name, channel, settings, env)


def check_channels(settings: Settings, env: Mapping[str, str] | None = None) -> list[str]:
    """``alerts.channels.<name>.<field>: message`` for every channel that could not send as configured."""
    env = os.environ if env is None else env
    problems: list[str] = []
    for name, channel in settings.alerts.channels.items():
        found = NOTIFIER_TYPES[channel.type].config_problems(channel, env)
        for option in ("backoff_base_seconds", "backoff_cap_seconds"):
            value = channel.options.get(option)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                found.append(f"options.{option}: must be a positive number of seconds, got {value!r}")
        problems += [f"alerts.channels.{name}.{problem}" for problem in found]
    return problems


__all__ = ["NOTIFIER_TYPES", "DeliveryError", "Notifier", "NotifierConfigError", "build_notifier", "check_channels"]
