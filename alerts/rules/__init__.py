"""Alert rule types, chosen by short name in ``settings.alerts.rules`` (a list of dicts with ``type``).

``load_rules(settings)`` validates every rule and raises :class:`RuleConfigError` listing each
problem as ``alerts.rules[<index>] (<type>): <field>: <message>``; ``check_rules`` returns the
same lines without raising (for ``brandguard config check``).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from alerts.rules.base import CommonOptions, MentionContext, Rule, RuleMatch, severity_rank
from alerts.rules.campaign_detected import CampaignDetectedRule
from alerts.rules.key_customer import KeyCustomerNegativeRule
from alerts.rules.negative_spike import NegativeSpikeRule
from alerts.rules.risk_threshold import RiskThresholdRule
from alerts.rules.surging_term import SurgingTermRule
from alerts.rules.thread_velocity import ThreadVelocityRule
from core.config import Settings

RULE_TYPES: dict[str, type[Rule]] = {
    cls.type_name: cls
    for cls in (
        RiskThresholdRule, ThreadVelocityRule, NegativeSpikeRule,
        KeyCustomerNegativeRule, CampaignDetectedRule, SurgingTermRule,
    )
}


class RuleConfigError(ValueError):
    """One or more alert rules are invalid; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid alert rules:\n  " + "\n  ".join(problems))
        self.problems = problems


def _errors(where: str, exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "<rule>"
        lines.append(f"{where}: {field}: {err['msg']}")
    return lines


def build_rule(index: int, raw: Any, settings: Settings) -> Rule:
    """Validate and build one rule; raises RuleConfigError naming ``alerts.rules[index]``."""
    where = f"alerts.rules[{index}]"
    if not isinstance(raw, dict):
        raise RuleConfigError([f"{where}: a rule must be a mapping with a 'type', got {type(raw).__name__}"])
    rule_type = raw.get("type")
    if rule_type not in RULE_TYPES:
        known = ", ".join(sorted(RULE_TYPES))
        raise RuleConfigError([f"{where}: type: unknown rule type {rule_type!r} (known: {known})"])
    cls = RULE_TYPES[rule_type]
    where = f"{where} ({rule_type})"
    common_keys = set(CommonOptions.model_fields)
    problems: list[str] = []
    common = options = None
    try:
        common = CommonOptions.model_validate({k: v for k, v in raw.items() if k in common_keys})
    except ValidationError as exc:
        problems += _errors(where, exc)
    try:
        options = cls.Options.model_validate({k: v for k, v in raw.items() if k not in common_keys})
    except ValidationError as exc:
        problems += _errors(where, exc)
    # Checked on the raw values too, so one bad field does not hide another.
    for key, known, what in (("channels", settings.alerts.channels, "channel"), ("brands", None, "brand")):
        values = raw.get(key) or []
        for value in values if isinstance(values, list) else []:
            missing = value not in known if known is not None else settings.brand(str(value)) is None
            if missing:
                hint = " (configure it under alerts.channels)" if key == "channels" else ""
                problems.append(f"{where}: {key}: unknown {what} {value!r}{hint}")
    if problems:
        raise RuleConfigError(problems)
    assert common is not None and options is not None
    if common.name is None:
        common.name = f"{rule_type}-{index}"
    own_brands = [b.name for b in settings.brands if not b.competitor]
    rule = cls(common, options, own_brands)
    rule.learning_hours = settings.alerts.learning_hours
    return rule


def check_rules(settings: Settings) -> list[str]:
    """Every problem of every rule (and duplicate rule names), as lines; empty when valid."""
    problems: list[str] = []
    names: dict[str, int] = {}
    for index, raw in enumerate(settings.alerts.rules):
        try:
            rule = build_rule(index, raw, settings)
        except RuleConfigError as exc:
            problems += exc.problems
            continue
        if rule.name in names:
            problems.append(f"alerts.rules[{index}]: name: duplicate rule name {rule.name!r} (also rules[{names[rule.name]}])")
        names[rule.name] = index
    for channel in settings.alerts.escalation_channels:
        if channel not in settings.alerts.channels:
            problems.append(f"alerts.escalation_channels: unknown channel {channel!r}")
    return problems


def load_rules(settings: Settings) -> list[Rule]:
    """The enabled rules of ``settings``; raises RuleConfigError naming every bad rule and field."""
    problems = check_rules(settings)
    if problems:
        raise RuleConfigError(problems)
    rules = [build_rule(i, raw, settings) for i, raw in enumerate(settings.alerts.rules)]
    return [r for r in rules if r.common.enabled]


__all__ = [
    "RULE_TYPES", "MentionContext", "Rule", "RuleConfigError", "RuleMatch",
    "build_rule", "check_rules", "load_rules", "severity_rank",
]
