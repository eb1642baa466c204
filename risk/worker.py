"""The risk stage worker: link, thread, detect campaigns, score, flag, hand over to alerts.

Per claimed mention (from the store's ``risk`` queue, filled by the NLP stage and by
re-crawls that change engagement): link its author to a customer, put it in its thread,
find near-identical copies (campaign), score it, patch the mention (risk, customer_id,
campaign_id, thread_id), rebuild and score its thread and campaign, recompute the linked
customer's risk flag, enqueue it for ``alert`` and ack it. Mentions that newly joined a
campaign are queued for ``risk`` again so their own score reflects the campaign.

Every step is idempotent and its state lives in the store (links, threads and campaigns
are rebuilt from tagged mentions; flags from evidence), so a worker can be killed at any
point and restarted, and several can run side by side. A failing mention is ``fail``-ed
(retried later, dead-lettered after five attempts) without holding up the rest. At most
every ``decay_interval`` one worker (coordinated through a store checkpoint) runs the
flag decay pass.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.clock import Clock
from core.config import Settings
from core.domain import Customer, Mention
from core.store.port import MentionPatch, Store
from risk.campaigns import (
    CampaignConfig, CampaignIndex, build_campaign, campaign_members, choose_campaign_id,
)
from risk.flags import decay_pass, update_customer_flag
from risk.identity import NameIndex, link_author
from risk.scoring import score_group, score_mention
from risk.threads import build_thread, resolve_thread_id, thread_members
from risk.virality import group_virality, mention_virality, with_campaign

log = logging.getLogger(__name__)

STAGE = "risk"
NEXT_STAGE = "alert"
DECAY_CHECKPOINT = "risk:decay"


class RiskWorker:
    """``RiskWorker(settings, store, clock, name)``; ``run_once()`` handles one batch."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, name: str, *,
                 batch: int = 50, lease_seconds: float = 60, decay_interval: timedelta = timedelta(minutes=15),
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
        done: list[str] = []
        for item in items:
            mention = by_id.get(item.mention_id)
            if mention is None:
                done.append(item.mention_id)  # gone from the store: nothing to score
                continue
            try:
                self.process(mention, now)
            except Exception as exc:  # noqa: BLE001 - one bad mention must not stop the batch
                log.exception("risk %s: mention %s failed", self.name, mention.id)
                self.store.fail(STAGE, self.name, mention.id, f"{type(exc).__name__}: {exc}", now=now)
                continue
            done.append(mention.id)
        scored = [i for i in done if i in by_id]
        if scored:
            self.store.enqueue(NEXT_STAGE, scored, now=now)
        self.store.ack(STAGE, self.name, done)
        return handled + len(items)

    def process(self, mention: Mention, now: datetime) -> Mention:
        """Link, thread, campaign, score and flag one mention; returns it as stored."""
        linked = link_author(self.store, mention, now, names=self.names, actor=f"risk:{self.name}")
        thread_id = resolve_thread_id(self.store, mention)
        campaign_id, campaign_authors = self._campaign_of(mention, now)
        signals = with_campaign(mention_virality(mention, now), campaign_authors)
        risk = score_mention(mention, self.settings.risk, now, customer=linked.customer, signals=signals)
        patch = MentionPatch(id=mention.id, risk=risk.model_dump(mode="json"), thread_id=thread_id,
                             customer_id=linked.customer.crm_id if linked.customer else None,
                             campaign_id=campaign_id)
        report = self.store.patch_mentions([patch])
        if report.failed:
            raise RuntimeError(f"patching mention {mention.id} failed: {report.failed[0].error}")
        stored = mention.model_copy(update={
            "risk": risk, "thread_id": thread_id, "campaign_id": campaign_id or mention.campaign_id,
            "customer_id": patch.customer_id or mention.customer_id,
        })
        self._update_thread(thread_id, stored, now)
        if stored.campaign_id:
            self._update_campaign(stored.campaign_id, stored, now)
        if linked.customer is not None:
            self._update_flag(linked.customer, now)
        return stored

    def _campaign_of(self, mention: Mention, now: datetime) -> tuple[str | None, int]:
        """The campaign this mention belongs to (tagging copies found now) and its author count."""
        self.campaigns.add(mention)
        similar = self.store.get_mentions(self.campaigns.similar(mention))
        members = [mention, *similar]
        authors = {m.author.key or m.id for m in members}
        if len(authors) < self.campaigns.config.min_authors:
            return mention.campaign_id, 0
        campaign_id = choose_campaign_id(members)
        newly = [m.id for m in similar if m.campaign_id != campaign_id]
        if newly:
            self.store.patch_mentions([MentionPatch(id=i, campaign_id=campaign_id) for i in newly])
            self.store.enqueue(STAGE, newly, now=now)  # re-score them as campaign members
        return campaign_id, len(authors)

    def _with_fresh(self, members: list[Mention], fresh: Mention) -> list[Mention]:
        # The search index may lag behind our own patch: make sure the fresh copy is in.
        return [m for m in members if m.id != fresh.id] + [fresh]

    def _update_thread(self, thread_id: str, mention: Mention, now: datetime) -> None:
        members = self._with_fresh(thread_members(self.store, thread_id), mention)
        signals = group_virality(members, now)
        risk = score_group([m.risk for m in members if m.risk], signals, self.settings.risk, now)
        members.sort(key=lambda m: (m.published_at, m.id))
        self.store.upsert_thread(build_thread(thread_id, members, now, self.store.get_thread(thread_id), risk))

    def _update_campaign(self, campaign_id: str, mention: Mention, now: datetime) -> None:
        members = self._with_fresh(campaign_members(self.store, campaign_id), mention)
        authors = len({m.author.key or m.id for m in members})
        signals = group_virality(members, now, campaign_authors=authors)
        risk = score_group([m.risk for m in members if m.risk], signals, self.settings.risk, now)
        members.sort(key=lambda m: (m.published_at, m.id))
        previous = self.store.get_campaign(campaign_id)
        self.store.upsert_campaign(build_campaign(campaign_id, members, now, previous, risk))

    def _update_flag(self, customer: Customer, now: datetime) -> None:
        update_customer_flag(self.store, customer, self.settings.risk, now)

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
