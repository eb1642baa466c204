"""The risk stage worker: link, thread, detect campaigns, score, flag, hand over to alerts.

Per claimed mention (from the store's ``risk`` queue, filled by the NLP stage and by
re-crawls that change engagement): link its author to a customer, find its thread, find
near-identical copies (campaign), and score it. Then, once per batch: patch the mentions
(risk, customer_id, campaign_id, thread_id) in one write, rebuild and score each touched
thread and campaign once, recompute each linked customer's risk flag once, enqueue the
mentions for ``alert`` and ack them. Mentions that newly joined a campaign are queued for
``risk`` again so their own score reflects the campaign. A new campaign only forms around a
hostile post (negative, or with a sabotage cue): syndicated news is near-identical too.

Every step is idempotent and its state lives in the store (links; threads and campaigns
are rebuilt from tagged mentions; flags from evidence), so a worker can be killed at any
point and restarted, and several can run side by side. A failing mention is ``fail``-ed
(retried later, dead-lettered after five attempts) without holding up the rest. At most
every ``decay_interval`` one worker (coordinated through a store checkpoint) runs the
flag decay pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.clock import Clock
from core.config import Settings
from core.domain import Customer, Mention
from core.store.port import MentionPatch, Store
from risk.campaigns import CampaignConfig, CampaignIndex, build_campaign, choose_campaign_id
from risk.flags import decay_pass, update_customer_flag
from risk.identity import NameIndex, link_author
from risk.scoring import SABOTAGE_WEIGHTS, score_group, score_mention
from risk.threads import build_thread, resolve_thread_id, tagged_mentions
from risk.virality import group_virality, mention_virality, with_campaign

log = logging.getLogger(__name__)

STAGE = "risk"
NEXT_STAGE = "alert"
DECAY_CHECKPOINT = "risk:decay"


@dataclass
class _Batch:
    """What one batch changed, so threads, campaigns and flags are rebuilt once each."""

    scored: dict[str, Mention] = field(default_factory=dict)
    threads: set[str] = field(default_factory=set)
    campaigns: set[str] = field(default_factory=set)
    customers: dict[str, Customer] = field(default_factory=dict)


def _hostile(mention: Mention) -> bool:
    """Negative, or carrying a sabotage cue: what a coordinated campaign against a brand looks like."""
    analysis = mention.analysis
    return analysis is not None and (
        analysis.sentiment == "negative" or any(c.kind in SABOTAGE_WEIGHTS for c in analysis.cues))


class RiskWorker:
    """``RiskWorker(settings, store, clock, name)``; ``run_once()`` handles one batch."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, name: str, *,
                 batch: int = 128, lease_seconds: float = 60, decay_interval: timedelta = timedelta(minutes=15),
                 campaign_config: CampaignConfig | None = None) -> None:
        self.settings, self.store, self.clock, self.name = settings, store, clock, name
        self.batch, self.lease_seconds, self.decay_interval = batch, lease_seconds, decay_interval
        self.campaigns = CampaignIndex(campaign_config)
        self.names = NameIndex(store)

    def run_once(self) -> int:
        """Process one claimed batch (and the decay pass when due); returns items handled."""
        now = self.clock.now()
        handled = self.maybe_decay(now)
        items = self.store.claim(STAGE, self.name, self.batch, self.lease_seconds, now=now)
        if not items:
            return handled
        self.campaigns.refresh(self.store, now)
        by_id = {m.id: m for m in self.store.get_mentions([i.mention_id for i in items])}
        batch = _Batch()
        for item in items:
            mention = by_id.get(item.mention_id)
            if mention is None:
                continue  # gone from the store: nothing to score, just ack
            try:
                batch.scored[mention.id] = self.score(mention, now, batch)
            except Exception as exc:  # noqa: BLE001 - one bad mention must not stop the batch
                log.exception("risk %s: mention %s failed", self.name, mention.id)
                self.store.fail(STAGE, self.name, mention.id, f"{type(exc).__name__}: {exc}", now=now)
        failed = self._write(batch, now)
        done = [i.mention_id for i in items if i.mention_id not in failed and
                (i.mention_id in batch.scored or i.mention_id not in by_id)]
        if batch.scored:
            self.store.enqueue(NEXT_STAGE, [i for i in batch.scored if i not in failed], now=now)
        self.store.ack(STAGE, self.name, done)
        return handled + len(items)

    def score(self, mention: Mention, now: datetime, batch: _Batch) -> Mention:
        """Link, thread, campaign and score one mention; returns it as it will be stored."""
        linked = link_author(self.store, mention, now, names=self.names, actor=f"risk:{self.name}")
        thread_id = resolve_thread_id(self.store, mention)
        campaign_id, campaign_authors = self._campaign_of(mention, now)
        signals = with_campaign(mention_virality(mention, now), campaign_authors)
        risk = score_mention(mention, self.settings.risk, now, customer=linked.customer, signals=signals)
        batch.threads.add(thread_id)
        if campaign_id:
            batch.campaigns.add(campaign_id)
        if linked.customer is not None:
            batch.customers[linked.customer.crm_id] = linked.customer
        return mention.model_copy(update={
            "risk": risk, "thread_id": thread_id, "campaign_id": campaign_id,
            "customer_id": linked.customer.crm_id if linked.customer else mention.customer_id,
        })

    def _campaign_of(self, mention: Mention, now: datetime) -> tuple[str | None, int]:
        """The campaign this mention belongs to (tagging copies found now) and its author count."""
        self.campaigns.add(mention)
        members = {i: self.campaigns.entry(i) for i in [mention.id, *self.campaigns.similar(mention)]}
        members = {i: e for i, e in members.items() if e is not None}
        authors = {e.author for e in members.values()}
        if len(authors) < self.campaigns.config.min_authors:
            if mention.campaign_id:  # tagged earlier; its copies may have aged out of the index since
                campaign = self.store.get_campaign(mention.campaign_id)
                return mention.campaign_id, len(set(campaign.authors)) if campaign else 0
            return None, 0
        if not any(e.campaign_id for e in members.values()) and not _hostile(mention):
            return None, 0  # syndicated news or copied praise is no campaign; an attack starts hostile
        campaign_id = choose_campaign_id(members)
        maybe_new = [i for i, e in members.items() if i != mention.id and e.campaign_id != campaign_id]
        # The index may be stale about other workers' tags: check the few candidates in the store.
        stale = [m.id for m in self.store.get_mentions(maybe_new) if m.campaign_id != campaign_id]
        if stale:
            self.store.patch_mentions([MentionPatch(id=i, campaign_id=campaign_id) for i in stale])
            self.store.enqueue(STAGE, stale, now=now)  # re-score them as campaign members
        self.campaigns.set_campaign(list(members), campaign_id)
        return campaign_id, len(authors)

    def _write(self, batch: _Batch, now: datetime) -> set[str]:
        """Patch the scored mentions, then rebuild touched threads, campaigns and flags; returns failed ids."""
        patches = [MentionPatch(id=m.id, risk=m.risk.model_dump(mode="json"), thread_id=m.thread_id,
                                customer_id=m.customer_id, campaign_id=m.campaign_id) for m in batch.scored.values()]
        report = self.store.patch_mentions(patches)
        failed = {f.id for f in report.failed}
        for item in report.failed:
            self.store.fail(STAGE, self.name, item.id, f"patch failed: {item.error}", now=now)
        fresh = [m for m in batch.scored.values() if m.id not in failed]
        for thread_id in sorted(batch.threads):
            self._update_thread(thread_id, [m for m in fresh if m.thread_id == thread_id], now)
        for campaign_id in sorted(batch.campaigns):
            self._update_campaign(campaign_id, [m for m in fresh if m.campaign_id == campaign_id], now)
        for customer in batch.customers.values():
            update_customer_flag(self.store, customer, self.settings.risk, now,
                                 fresh=[m for m in fresh if m.customer_id == customer.crm_id])
        return failed

    @staticmethod
    def _merge(stored: list[Mention], fresh: list[Mention]) -> list[Mention]:
        # The search index may lag behind our own patch: make sure the fresh copies are in.
        by_id = {m.id: m for m in stored}
        by_id.update({m.id: m for m in fresh})
        return sorted(by_id.values(), key=lambda m: (m.published_at, m.id))

    def _update_thread(self, thread_id: str, fresh: list[Mention], now: datetime) -> None:
        members = self._merge(tagged_mentions(self.store, thread_id=thread_id), fresh)
        if not members:
            return
        risk = score_group([m.risk for m in members if m.risk], group_virality(members, now), self.settings.risk, now)
        self.store.upsert_thread(build_thread(thread_id, members, now, self.store.get_thread(thread_id), risk))

    def _update_campaign(self, campaign_id: str, fresh: list[Mention], now: datetime) -> None:
        members = self._merge(tagged_mentions(self.store, campaign_id=campaign_id), fresh)
        if not members:
            return
        authors = len({m.author.key or m.id for m in members})
        signals = group_virality(members, now, campaign_authors=authors)
        risk = score_group([m.risk for m in members if m.risk], signals, self.settings.risk, now)
        previous = self.store.get_campaign(campaign_id)
        self.store.upsert_campaign(build_campaign(campaign_id, members, now, previous, risk))

    def maybe_decay(self, now: datetime, force: bool = False) -> int:
        """Run the flag decay pass if no worker ran it within ``decay_interval``; returns flags changed."""
        last = self.store.get_checkpoint(DECAY_CHECKPOINT)
        if not force and last is not None and timedelta(0) <= now - datetime.fromisoformat(last) < self.decay_interval:
            return 0
        self.store.set_checkpoint(DECAY_CHECKPOINT, now.isoformat())
        changed = decay_pass(self.store, self.settings.risk, now)
        if changed:
            log.info("risk %s: decay pass changed %d flag(s)", self.name, changed)
        return changed
