"""Mentions: idempotent bulk upsert with engagement history, reads and patches.

Re-crawl semantics (same as the SQLite adapter: ``merge_recrawl``) are applied with
**get-then-conditional-write**, not a painless ``scripted_upsert``:

1. ``_mget`` the batch's ids (realtime, with ``_seq_no``/``_primary_term``);
2. merge in Python (append an engagement point only when the counts changed, keep
   analysis/risk/customer/campaign links, union the brands) and skip unchanged ones;
3. one ``streaming_bulk``: ``create`` for new ids (fails with 409 if another crawler
   created it meanwhile) and ``index`` with ``if_seq_no``/``if_primary_term`` for
   existing ones (409 if it changed meanwhile);
4. ids that got 409 go round again from step 1 (up to ``MAX_ROUNDS``).

Every write of a round carries that round's write token (``bg_write``). A write the server
applied but answered too late is sent again by the client and gets 409 (or the request
fails after its retries): the stored document's token tells that the write that landed is
*ours*, so it counts as created/updated and is queued -- not "unchanged", not a conflict.

Why not a script: the merge rules (which counts changed, brand union, "unchanged"
detection, the derived search fields) would have to be written twice, in Python for
SQLite and in painless here, and drift apart; a script also cannot tell "unchanged"
from "updated" without more painless. The conditional write gives the same safety
against concurrent crawlers (no lost history point) with one implementation.

Every failed item (validation error, 400 mapping error, repeated conflicts) is in the
report with its id and reason; the good items of the batch are stored regardless.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from pydantic import ValidationError

from core.domain import EngagementPoint, Mention
from core.query import MatchText
from elasticsearch import ApiError, TransportError

from core.store.elastic.client import WRITE_TOKEN, BulkItem, mget_docs, new_write_token, now_utc, run_bulk, to_ms
from core.store.port import BulkReport, ItemError, MentionPatch, StoreError
from core.store.common import (
    bulk_item_id,
    coerce_mention,
    dominant_emotion,
    fts_body,
    merge_recrawl,
    patched_mention,
    same_mention,
)

CHUNK = 1000  # mentions per mget + bulk round
MAX_ROUNDS = 4  # conflict retries per mention before it is reported failed


def mention_source(m: Mention) -> dict[str, Any]:
    """The stored document: the mention's JSON plus derived search fields under ``bg``."""
    doc = m.model_dump(mode="json")
    analysis = m.analysis
    body = fts_body(m)
    prepared = MatchText.of(body)
    doc["bg"] = {
        "body": body,
        "lang": m.lang or (analysis.lang if analysis else None),
        "sentiment": analysis.sentiment if analysis else None,
        "emotion": dominant_emotion(analysis),
        "author": m.author.key,
        "risk": m.risk.score if m.risk else -1.0,
        "hashtags": sorted(prepared.hashtags),
        "handles": sorted(prepared.handles),
    }
    return doc


def mention_from_source(source: dict[str, Any]) -> Mention:
    """A stored document back as a Mention (derived fields dropped)."""
    return Mention.model_validate({k: v for k, v in source.items() if k not in ("bg", WRITE_TOKEN)})


def _counts(m: Mention) -> dict[str, int | None]:
    return m.engagement.model_dump()


def with_first_point(m: Mention) -> Mention:
    """A new mention's history starts with its first engagement counts."""
    if m.engagement_history or not any(v is not None for v in _counts(m).values()):
        return m
    return m.model_copy(update={"engagement_history": [EngagementPoint(at=m.crawled_at, **_counts(m))]})


class MentionsMixin:
    """Mention writes and reads (search lives in ``search``)."""

    def upsert_mentions(self, mentions: Iterable[Mention]) -> BulkReport:
        """Idempotent by id; see the module docstring for the re-crawl semantics."""
        report = BulkReport()
        batch: list[Mention] = []
        for index, item in enumerate(mentions):
            try:
                batch.append(coerce_mention(item))
            except (TypeError, ValidationError) as exc:
                report.failed.append(ItemError(id=bulk_item_id(item, index), error=str(exc)))
                continue
            if len(batch) >= CHUNK:
                self._upsert_chunk(batch, report)
                batch = []
        if batch:
            self._upsert_chunk(batch, report)
        return report

    def _upsert_chunk(self, batch: list[Mention], report: BulkReport) -> None:
        incoming: dict[str, list[Mention]] = {}
        for m in batch:
            incoming.setdefault(m.id, []).append(m)
        pending = list(incoming)
        analyze: list[str] = []
        risk: list[str] = []
        now = to_ms(now_utc(None))
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            token = new_write_token()
            actions, kinds = self._plan(pending, incoming, report, token)
            items = run_bulk(self._es, actions)
            ours = self._landed_writes([i.id for i in items if not i.ok], token)
            retry: list[str] = []
            for item in items:
                if item.ok or item.id in ours:
                    if kinds[item.id][0] == "create":
                        report.created += 1
                        analyze.append(item.id)
                    else:
                        report.updated += 1
                        if kinds[item.id][1]:
                            risk.append(item.id)
                elif item.conflict:
                    retry.append(item.id)
                else:
                    report.failed.append(ItemError(id=item.id, error=item.error or "rejected"))
            pending = retry
        for mid in pending:
            report.failed.append(ItemError(id=mid, error=f"conflict: changed concurrently {MAX_ROUNDS} times"))
        # Queue items are due from the crawl time (capped at now), as in the SQLite adapter,
        # so a simulated clock driving claims with an earlier ``now`` still sees them.
        due = {mid: min(now, to_ms(incoming[mid][-1].crawled_at)) for mid in analyze + risk}
        self._enqueue_due("analyze", {mid: due[mid] for mid in analyze})
        self._enqueue_due("risk", {mid: due[mid] for mid in risk})

    def _landed_writes(self, ids: list[str], token: str) -> set[str]:
        """Of ``ids`` whose write failed or conflicted, those whose stored document carries
        ``token``: an earlier attempt of this very write landed (answered late, retried)."""
        if not ids:
            return set()
        try:
            stored = mget_docs(self._es, self._names.alias("mentions"), ids)
        except (ApiError, TransportError):
            return set()  # unknown: reported failed; a re-sent crawl sees its token-less twin
        return {mid for mid, doc in stored.items() if doc.source.get(WRITE_TOKEN) == token}

    def _plan(
        self, ids: list[str], incoming: dict[str, list[Mention]], report: BulkReport, token: str
    ) -> tuple[list[dict[str, Any]], dict[str, tuple[str, bool]]]:
        """Bulk actions for ``ids`` against what is stored now; counts unchanged ones."""
        index = self._names.alias("mentions")
        stored = mget_docs(self._es, index, ids)
        actions: list[dict[str, Any]] = []
        kinds: dict[str, tuple[str, bool]] = {}
        for mid in ids:
            items = incoming[mid]
            doc = stored.get(mid)
            if doc is None:
                merged = with_first_point(items[0])
                for later in items[1:]:
                    merged = merge_recrawl(merged, later)
                actions.append({"_op_type": "create", "_index": index, "_id": mid,
                                "_source": {**mention_source(merged), WRITE_TOKEN: token}})
                kinds[mid] = ("create", False)
                continue
            try:
                old = mention_from_source(doc.source)
            except ValidationError as exc:
                report.failed.append(ItemError(id=mid, error=f"stored document does not validate: {exc}"))
                continue
            merged = old
            for later in items:
                merged = merge_recrawl(merged, later)
            if same_mention(merged, old):
                report.unchanged += 1
                continue
            actions.append({"_op_type": "index", "_index": index, "_id": mid,
                            "_source": {**mention_source(merged), WRITE_TOKEN: token}, **doc.token})
            kinds[mid] = ("update", merged.analysis is not None)
        return actions, kinds

    # ------------------------------------------------------------ reads

    def get_mention(self, mention_id: str) -> Mention | None:
        """The stored mention (realtime), or None."""
        found = mget_docs(self._es, self._names.alias("mentions"), [mention_id])
        return mention_from_source(found[mention_id].source) if mention_id in found else None

    def get_mentions(self, mention_ids: Sequence[str]) -> list[Mention]:
        """Mentions in the order asked; unknown ids are left out."""
        found = mget_docs(self._es, self._names.alias("mentions"), list(dict.fromkeys(mention_ids)))
        return [mention_from_source(found[i].source) for i in mention_ids if i in found]

    # ------------------------------------------------------------ patches

    def replace_mentions(self, mentions: Sequence[Mention]) -> int:
        """Overwrite stored mentions wholesale (erasure); visible to searches on return."""
        index = self._names.alias("mentions")
        stored = mget_docs(self._es, index, [m.id for m in mentions])
        actions = [{"_op_type": "index", "_index": index, "_id": m.id, "_source": mention_source(m)}
                   for m in mentions if m.id in stored]
        failed = [item for item in run_bulk(self._es, actions, refresh="wait_for") if item.error]
        if failed:
            raise StoreError(f"replacing {len(failed)} mention(s) failed: {failed[0].error}")
        return len(actions)

    def patch_mentions(self, patches: Iterable[MentionPatch]) -> BulkReport:
        """Set the given fields of stored mentions (conditional writes, retried on
        conflict); unknown ids are reported as failed."""
        report = BulkReport()
        valid: dict[str, list[MentionPatch]] = {}
        for index, patch in enumerate(patches):
            if not isinstance(patch, MentionPatch):
                report.failed.append(ItemError(id=bulk_item_id(patch, index),
                                               error=f"expected a MentionPatch, got {type(patch).__name__}"))
                continue
            valid.setdefault(patch.id, []).append(patch)
        pending = list(valid)
        index_name = self._names.alias("mentions")
        for _ in range(MAX_ROUNDS):
            if not pending:
                break
            token = new_write_token()
            stored = mget_docs(self._es, index_name, pending)
            actions: list[dict[str, Any]] = []
            for mid in pending:
                if mid not in stored:
                    report.failed.append(ItemError(id=mid, error="mention not found"))
                    continue
                old = mention_from_source(stored[mid].source)
                try:
                    new = old
                    for patch in valid[mid]:
                        new = patched_mention(new, patch)
                except ValidationError as exc:
                    report.failed.append(ItemError(id=mid, error=str(exc)))
                    continue
                if same_mention(new, old):
                    report.unchanged += 1
                    continue
                actions.append({"_op_type": "index", "_index": index_name, "_id": mid,
                                "_source": {**mention_source(new), WRITE_TOKEN: token}, **stored[mid].token})
            items = run_bulk(self._es, actions)
            pending = self._count_writes(items, report, self._landed_writes([i.id for i in items if not i.ok], token))
        for mid in pending:
            report.failed.append(ItemError(id=mid, error=f"conflict: changed concurrently {MAX_ROUNDS} times"))
        return report

    @staticmethod
    def _count_writes(items: list[BulkItem], report: BulkReport, ours: set[str]) -> list[str]:
        retry: list[str] = []
        for item in items:
            if item.ok or item.id in ours:
                report.updated += 1
            elif item.conflict:
                retry.append(item.id)
            else:
                report.failed.append(ItemError(id=item.id, error=item.error or "rejected"))
        return retry


