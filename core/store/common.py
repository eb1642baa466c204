"""Pure helpers both storage adapters share, so the two keep one set of rules.

What a re-crawl keeps and appends, what text is indexed and which emotion is a mention's
dominant one must not differ between SQLite and Elasticsearch: the contract suite
checks behaviour, these functions make it one implementation.
"""

from __future__ import annotations

from typing import Any, Sequence

from pydantic import ValidationError

from core.domain import Analysis, Customer, EngagementPoint, Mention, RiskScore, utcnow
from core.store.port import BulkReport, ItemError, MentionPatch, StoreError
from core.textnorm import normalize_for_match


def fts_body(mention: Mention) -> str:
    """The text indexed for search: title and text in their comparison form."""
    return normalize_for_match(f"{mention.title}\n{mention.text}" if mention.title else mention.text)


def dominant_emotion(analysis: Analysis | None) -> str | None:
    """The emotion label with the highest probability, if any."""
    if analysis is None or not analysis.emotions:
        return None
    return max(analysis.emotions.items(), key=lambda kv: (kv[1], kv[0]))[0]


def engagement_counts(m: Mention) -> dict[str, int | None]:
    """The mention's current engagement counts as a plain dict."""
    return dict(m.engagement.__dict__)


def has_engagement_counts(m: Mention) -> bool:
    """True when the platform showed at least one engagement count."""
    return any(v is not None for v in engagement_counts(m).values())


def merge_recrawl(old: Mention, new: Mention) -> Mention:
    """The stored form of ``new`` arriving for an existing ``old`` mention.

    Engagement is replaced and one history point appended when the counts changed;
    what later stages wrote (analysis, risk, links, campaign) is kept.
    """
    history = list(old.engagement_history)
    counts = engagement_counts(new)
    if has_engagement_counts(new) and (not history or counts != engagement_counts(old)):
        history.append(EngagementPoint(at=new.crawled_at, **counts))
    brands = list(dict.fromkeys([*old.brands, *new.brands]))
    return new.model_copy(update={
        "engagement_history": history,
        "brands": brands,
        "brand_owned": old.brand_owned or new.brand_owned,
        "lang": new.lang or old.lang,
        "thread_id": new.thread_id or old.thread_id,
        "analysis": old.analysis or new.analysis,
        "risk": old.risk or new.risk,
        "customer_id": old.customer_id or new.customer_id,
        "campaign_id": old.campaign_id or new.campaign_id,
    })


def same_mention(a: Mention, b: Mention) -> bool:
    """True when a re-crawl brought nothing new (the crawl time aside)."""
    return a.model_dump(exclude={"crawled_at"}) == b.model_dump(exclude={"crawled_at"})


def bulk_item_id(item: Any, index: int) -> str:
    """The id to name a bulk item by in an error report (its position when it has none)."""
    value = item.get("id") if isinstance(item, dict) else getattr(item, "id", None)
    return value if isinstance(value, str) else f"item #{index}"


def coerce_mention(item: Any) -> Mention:
    """A Mention from a Mention or its dict form; anything else is a TypeError naming the type."""
    if isinstance(item, Mention):
        return item
    if isinstance(item, dict):
        return Mention.model_validate(item)
    raise TypeError(f"expected a Mention, got {type(item).__name__}")


def erased_stub(customer: Customer) -> Customer:
    """The anonymous remains of an erased customer: tier, value and ticket counts only
    (ticket ids are personal data too: they become ``erased-1``, ``erased-2`` …)."""
    tickets = [t.model_copy(update={"id": f"erased-{i}", "subject": None}) for i, t in enumerate(customer.tickets, 1)]
    return customer.model_copy(update={
        "name": None, "emails": [], "phones": [], "handles": {}, "order_ids": [],
        "tickets": tickets, "erased": True, "updated_at": utcnow(),
    })


def patched_mention(old: Mention, patch: MentionPatch) -> Mention:
    """``old`` with the patch's non-None fields set (validated)."""
    update: dict[str, Any] = {}
    for name in ("lang", "customer_id", "campaign_id", "thread_id"):
        value = getattr(patch, name)
        if value is not None:
            update[name] = value
    if patch.analysis is not None:
        update["analysis"] = Analysis.model_validate(patch.analysis)
    if patch.risk is not None:
        update["risk"] = RiskScore.model_validate(patch.risk)
    return Mention.model_validate({**old.model_dump(), **update})


INT64_MAX = 2**63 - 1
_CURSOR_TYPES = {"int": (int,), "num": (int, float), "str": (str,)}


def check_cursor_parts(parts: Any, shape: Sequence[str], what: str) -> list[Any]:
    """``parts`` (decoded from a client's cursor) checked against ``shape``: one of
    ``int``/``num``/``str`` per part, ``?`` suffix for "or null"; integers must fit a
    signed 64-bit column. StoreError names the part otherwise (forged cursors -> 400)."""
    if not isinstance(parts, list) or len(parts) != len(shape):
        raise StoreError(f"invalid {what} cursor: expected {len(shape)} values")
    for index, (value, kind) in enumerate(zip(parts, shape)):
        if value is None and kind.endswith("?"):
            continue
        types = _CURSOR_TYPES[kind.rstrip("?")]
        if isinstance(value, bool) or not isinstance(value, types):
            raise StoreError(f"invalid {what} cursor: value {index} is not a {kind.rstrip('?')}")
        if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
            raise StoreError(f"invalid {what} cursor: value {index} is out of range")
        if isinstance(value, float) and value != value:  # NaN never compares; a forged cursor
            raise StoreError(f"invalid {what} cursor: value {index} is not a number")
        if isinstance(value, str) and len(value) > 500:
            raise StoreError(f"invalid {what} cursor: value {index} is too long")
    return parts


def feed_cursor_seq(cursor: str | None) -> int:
    """The last ``seq`` a risk-flag feed cursor says was served (0 for no cursor)."""
    if not cursor:
        return 0
    try:
        seq = int(cursor)
    except ValueError as exc:
        raise StoreError(f"invalid risk flag feed cursor {cursor[:40]!r}: expected a number") from exc
    if not 0 <= seq <= INT64_MAX:
        raise StoreError(f"invalid risk flag feed cursor {cursor[:40]!r}: out of range")
    return seq


def validated_customer(item: Any, index: int, report: BulkReport) -> Customer | None:
    """``item`` as a Customer, or None after recording why it is invalid in ``report``
    (named by its crm_id, or by its position when it has none)."""
    try:
        return item if isinstance(item, Customer) else Customer.model_validate(item)
    except ValidationError as exc:
        crm = item.get("crm_id") if isinstance(item, dict) else None
        report.failed.append(ItemError(id=str(crm or f"item #{index}"), error=str(exc)))
        return None
