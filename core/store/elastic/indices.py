"""Index layout: versioned composable index templates behind aliases, and migrations.

Every record kind ``K`` lives in a concrete index ``<prefix>-K-v<N>`` created from the
composable template ``<prefix>-K`` (pattern ``<prefix>-K-v*``); the adapter only ever
talks to the alias ``<prefix>-K``. ``brandguard store migrate`` (``migrate_indices``) puts
every template and creates the index + alias where missing; opening the store only checks
(``check_indices``) that every alias points at the current version, so workers never race
to put templates. When a kind's schema version goes up, the migration creates ``-v<N+1>``
from the new template, starts a reindex **task** (``wait_for_completion=false``, polled
through the tasks API, so a big index never runs into a request timeout or a client
retry) and swaps the alias in one atomic ``_aliases`` call. The swap is idempotent: when
another process swapped first (404 ``aliases_not_found_exception``), the alias is read
again and the migration is done if it already points at the new index. Two processes may
migrate at once: index creation tolerates "already exists" and the reindex uses
``op_type=create`` with ``conflicts=proceed``. The old index is kept for rollback.

Mentions use a Persian-aware analyzer: Arabic ي/ك folded to Persian ی/ک, ZWNJ and ``_``
to spaces, the characters the standard tokenizer keeps *inside* a word (``'`` and ``’`` in
``acme's``, ``.`` in ``digikala.com``, ``,`` in ``1,000``, ``:`` ...; UAX #29 MidLetter,
MidNum, MidNumLet, Single_Quote) to spaces -- so words split where SQLite's ``unicode61``
and ``core.query`` split them and both backends match the same ids --, Persian/Arabic
digits to ASCII (char filters), then the built-in
``decimal_digit``, ``arabic_normalization``, ``persian_normalization`` and ``lowercase``
token filters. Index and query text go through the same chain, so ``ديجي كالا`` finds
``دیجی‌کالا``.
"""

from __future__ import annotations

import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch, NotFoundError
from elasticsearch.exceptions import GeneralAvailabilityWarning

from core.store.elastic.client import once
from core.store.port import StoreError

KW = {"type": "keyword"}
DATE = {"type": "date"}
LONG = {"type": "long"}
INT = {"type": "integer"}
FLOAT = {"type": "float"}
BOOL = {"type": "boolean"}
PERSIAN_TEXT = {"type": "text", "analyzer": "bg_persian"}
STORED_ONLY = {"type": "object", "enabled": False}

_PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
# Characters UAX #29 keeps between letters or digits (MidLetter, MidNum, MidNumLet, Single_Quote)
# plus the Arabic decimal separator (Numeric there, a separator for unicode61).
WORD_INNER_PUNCTUATION = (
    "'.:,;\u00b7\u0387\u055f\u05f4\u2027\ufe13\ufe55\uff1a\u037e\u0589\u060c\u060d\u066b\u066c"
    "\u07f8\u2044\ufe10\ufe14\ufe50\ufe54\uff0c\uff1b\u2018\u2019\u2024\ufe52\uff07\uff0e"
)
_ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

PERSIAN_ANALYSIS: dict[str, Any] = {
    "char_filter": {
        "bg_persian_letters": {
            "type": "mapping",
            "mappings": ["\\u064A=>\\u06CC", "\\u0649=>\\u06CC", "\\u0643=>\\u06A9", "\\u0629=>\\u0647"],
        },
        "bg_joiners": {
            "type": "mapping",
            # ZWNJ, ZWJ and '_' separate words (دیجی‌کالا -> دیجی کالا; acme_fail -> acme fail)
            "mappings": ["\\u200C=>\\u0020", "\\u200D=>\\u0020", "_=>\\u0020"],
        },
        "bg_word_inner": {
            "type": "mapping",
            "mappings": [f"\\u{ord(c):04X}=>\\u0020" for c in WORD_INNER_PUNCTUATION],
        },
        "bg_digits": {
            "type": "mapping",
            "mappings": [f"{p}=>{i}" for i, p in enumerate(_PERSIAN_DIGITS)]
            + [f"{a}=>{i}" for i, a in enumerate(_ARABIC_DIGITS)],
        },
    },
    "analyzer": {
        "bg_persian": {
            "type": "custom",
            "char_filter": ["bg_persian_letters", "bg_joiners", "bg_word_inner", "bg_digits"],
            "tokenizer": "standard",
            "filter": ["lowercase", "decimal_digit", "arabic_normalization", "persian_normalization"],
        }
    },
}

_MENTION_PROPERTIES: dict[str, Any] = {
    "id": KW, "platform": KW, "source": KW, "native_id": KW, "url": {"type": "keyword", "index": False},
    "thread_id": KW, "parent_id": KW, "title": PERSIAN_TEXT, "text": PERSIAN_TEXT, "lang": KW,
    "author": {"properties": {
        "platform": KW, "handle": KW, "followers": LONG,
        "name": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}},
    }},
    "published_at": DATE, "crawled_at": DATE, "rating": FLOAT, "brands": KW, "brand_owned": BOOL,
    "customer_id": KW, "campaign_id": KW,
    "analysis": {"properties": {"lang": KW, "sentiment": KW, "anger": FLOAT, "complaint_reasons": KW,
                                "model": KW, "analyzed_at": DATE, "cues": {"properties": {"kind": KW}}}},
    "risk": {"properties": {"score": FLOAT, "scored_at": DATE}},
    # Derived fields the adapter computes at write time (dropped on read).
    "bg": {"properties": {
        "body": PERSIAN_TEXT, "lang": KW, "sentiment": KW, "emotion": KW, "author": KW, "risk": FLOAT,
        "hashtags": KW, "handles": KW,
    }},
}


@dataclass(frozen=True)
class IndexSpec:
    """One record kind: its schema version, mapped fields and index settings."""

    kind: str
    version: int
    properties: dict[str, Any]
    analysis: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def template_body(self, prefix: str) -> dict[str, Any]:
        """The composable index template for ``prefix`` (what ``put_index_template`` gets)."""
        index_settings: dict[str, Any] = {
            "number_of_shards": 1,
            "auto_expand_replicas": "0-1",  # 0 on a single node (green), 1 once a second node joins
            **self.settings,
        }
        if self.analysis:
            index_settings["analysis"] = self.analysis
        return {
            "index_patterns": [f"{prefix}-{self.kind}-v*"],
            "priority": 200,
            "version": self.version,
            "meta": {"managed_by": "brandguard", "kind": self.kind, "schema_version": self.version},
            "template": {
                "settings": {"index": index_settings},
                # dynamic: false keeps free-form dicts (payloads, timelines) in _source unmapped
                "mappings": {"dynamic": False, "properties": self.properties},
            },
        }


SPECS: tuple[IndexSpec, ...] = (
    IndexSpec("mentions", 1, _MENTION_PROPERTIES, PERSIAN_ANALYSIS, {"refresh_interval": "1s"}),
    IndexSpec("queue", 1, {
        "stage": KW, "mention_id": KW, "enqueued_ms": LONG, "due_ms": LONG, "attempts": INT,
        "lease_owner": KW, "rerun_ms": LONG, "dead": BOOL, "last_error": {"type": "text", "index": False},
    }),
    IndexSpec("meta", 1, {"kind": KW, "name": KW, "alert_id": KW, "value": LONG}),
    IndexSpec("customers", 1, {
        "crm_id": KW, "erased": BOOL, "tier": KW, "segment": KW, "updated_at": DATE, "identity_keys": KW,
        "lifetime_value": FLOAT,
    }),
    IndexSpec("links", 1, {
        "author_key": KW, "crm_id": KW, "status": KW, "method": KW, "confidence": FLOAT,
        "mention_id": KW, "created_at": DATE,
    }),
    IndexSpec("audit", 1, {"at": DATE, "actor": KW, "action": KW, "subject": KW, "logged_ns": LONG}),
    IndexSpec("threads", 1, {
        "id": KW, "platform": KW, "brands": KW, "first_at": DATE, "last_at": DATE, "updated_at": DATE,
        "title": PERSIAN_TEXT,
    }, PERSIAN_ANALYSIS),
    IndexSpec("campaigns", 1, {
        "id": KW, "brands": KW, "hashtags": KW, "first_at": DATE, "last_at": DATE, "updated_at": DATE,
    }),
    IndexSpec("alerts", 1, {
        "id": KW, "fingerprint": KW, "rule": KW, "brand": KW, "severity": KW, "state": KW,
        "subject_kind": KW, "subject_id": KW, "customer_id": KW, "assignee": KW, "teams": KW,
        "escalated": BOOL, "ack_deadline": DATE, "created_at": DATE, "updated_at": DATE, "version": INT,
        "score": FLOAT, "bg_outbox_pending": BOOL, "bg_outbox": STORED_ONLY,
    }),
    IndexSpec("silences", 1, {"id": KW, "starts_at": DATE, "ends_at": DATE, "created_by": KW}),
    IndexSpec("deliveries", 1, {
        "id": KW, "alert_id": KW, "channel": KW, "kind": KW, "status": KW, "attempts": INT,
        "next_attempt_at": DATE, "lease_owner": KW, "lease_until": DATE, "created_at": DATE, "sent_at": DATE,
    }),
    IndexSpec("riskflags", 1, {"crm_id": KW, "level": KW, "score": FLOAT, "seq": LONG, "updated_at": DATE}),
    IndexSpec("apikeys", 1, {"id": KW, "name": KW, "scopes": KW, "created_at": DATE, "revoked_at": DATE}),
)

_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,100}$")


class IndexNames:
    """Alias, template and concrete index names of one prefix."""

    def __init__(self, prefix: str) -> None:
        if not _PREFIX_RE.match(prefix):
            raise StoreError(
                f"store.es_index_prefix {prefix!r} is not a valid index prefix: use lower-case letters,"
                " digits, '-', '_' or '.', starting with a letter or digit"
            )
        self.prefix = prefix

    def alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def template(self, kind: str) -> str:
        return f"{self.prefix}-{kind}"

    def concrete(self, kind: str, version: int) -> str:
        return f"{self.prefix}-{kind}-v{version}"

    def all_aliases(self) -> list[str]:
        return [self.alias(spec.kind) for spec in SPECS]


def _version_of(index_name: str) -> int:
    match = re.search(r"-v(\d+)$", index_name)
    return int(match.group(1)) if match else 0


def migrate_indices(es: Elasticsearch, names: IndexNames, poll_s: float = 0.5) -> list[str]:
    """Put every template and make sure each alias points at the current version.

    Idempotent and safe to run from several processes at once. Returns what it did
    (``created <index>``, ``migrated <old> -> <new>``), empty when all was in place.
    """
    done: list[str] = []
    for spec in SPECS:
        es.indices.put_index_template(name=names.template(spec.kind), **spec.template_body(names.prefix))
        alias, target = names.alias(spec.kind), names.concrete(spec.kind, spec.version)
        current = _alias_targets(es, alias)
        if not current:
            _create_index(es, target, {alias: {"is_write_index": True}})
            done.append(f"created {target}")
        elif all(_version_of(name) < spec.version for name in current):
            done.append(migrate_index(es, alias, current, target, poll_s))
    return done


def check_indices(es: Elasticsearch, names: IndexNames) -> None:
    """Raise a StoreError naming ``brandguard store migrate`` unless every alias points at
    its current schema version (opening the store puts nothing)."""
    problems = []
    for spec in SPECS:
        current = _alias_targets(es, names.alias(spec.kind))
        if not current:
            problems.append(f"{names.alias(spec.kind)} is missing")
        elif all(_version_of(name) < spec.version for name in current):
            problems.append(f"{names.alias(spec.kind)} points at {','.join(current)}, schema v{spec.version} is needed")
    if problems:
        raise StoreError(f"the Elasticsearch indices of prefix {names.prefix!r} are not ready ({'; '.join(problems[:3])}):"
                         " run `brandguard store migrate` once")


def _alias_targets(es: Elasticsearch, alias: str) -> list[str]:
    body = es.options(ignore_status=404).indices.get_alias(name=alias).body
    return sorted(name for name in body if name not in ("error", "status"))


def _create_index(es: Elasticsearch, index: str, aliases: dict[str, Any] | None) -> None:
    try:
        es.indices.create(index=index, aliases=aliases or {})
    except BadRequestError as exc:
        # Another process created it first: that is the state we wanted.
        if "resource_already_exists_exception" not in str(exc):
            raise


def migrate_index(es: Elasticsearch, alias: str, old_indices: list[str], target: str, poll_s: float = 0.5) -> str:
    """Create ``target`` (from its template), copy the alias's documents into it with a
    reindex task and swap the alias atomically. Documents keep their ``_id``s."""
    _create_index(es, target, None)
    es.indices.refresh(index=alias)  # the reindex reads through a search: make every write visible first
    task = once(es).reindex(source={"index": alias}, dest={"index": target, "op_type": "create"},
                            conflicts="proceed", wait_for_completion=False).body["task"]
    result = wait_for_task(es, task, poll_s)
    if result.get("failures"):
        raise StoreError(f"reindex {alias} -> {target} failed: {result['failures'][:3]}")
    es.indices.refresh(index=target)
    actions: list[dict[str, Any]] = [{"remove": {"index": old, "alias": alias}} for old in old_indices]
    actions.append({"add": {"index": target, "alias": alias, "is_write_index": True}})
    try:
        es.indices.update_aliases(actions=actions)
    except NotFoundError:
        if _alias_targets(es, alias) != [target]:  # not swapped by someone else: a real problem
            raise
    return f"migrated {','.join(old_indices)} -> {target}"


def wait_for_task(es: Elasticsearch, task_id: str, poll_s: float = 0.5, timeout_s: float = 24 * 3600) -> dict[str, Any]:
    """Poll the tasks API until the task completes; its ``response``."""
    deadline = time.monotonic() + timeout_s
    while True:
        with warnings.catch_warnings():  # the client marks the tasks API "technical preview"; reindex tasks are GA
            warnings.simplefilter("ignore", GeneralAvailabilityWarning)
            status = es.tasks.get(task_id=task_id).body
        if status.get("completed"):
            if status.get("error"):
                raise StoreError(f"task {task_id} failed: {status['error']}")
            return status.get("response", {})
        if time.monotonic() > deadline:
            raise StoreError(f"task {task_id} did not complete within {timeout_s:.0f} s")
        time.sleep(poll_s)


def drop_indices(es: Elasticsearch, names: IndexNames) -> None:
    """Delete this prefix's indices and templates (tests only).

    Concrete names are resolved first: wildcard deletes are refused by default
    (``action.destructive_requires_name``)."""
    for spec in SPECS:
        pattern = f"{names.prefix}-{spec.kind}-v*"
        found = list(es.options(ignore_status=404).indices.get(index=pattern, expand_wildcards="all").body.keys())
        concrete = [n for n in found if n.startswith(f"{names.prefix}-{spec.kind}-v")]
        if concrete:
            es.options(ignore_status=404).indices.delete(index=",".join(concrete))
        es.options(ignore_status=404).indices.delete_index_template(name=names.template(spec.kind))
