"""The alert stage worker: consumes the ``alert`` queue, evaluates rules, writes grouped alerts.

Per batch: claim scored mentions from the ``alert`` work queue, read what the rules look at
(the mention's risk, its thread and campaign, the linked customer and risk flag), evaluate
the per-mention rules, place each match in its situation (``alerts.situation``: a thread's
customer is its author's), combine the batch's matches per situation and publish each (grouped,
silenced/inhibited, alert + deliveries in one optimistic write). Then, at most every
``tick_seconds``: escalate overdue alerts, send reminders, wake alerts whose snooze ended,
announce situations that calmed down and send channel digests (``alerts.calm``); and every
``periodic_seconds``: evaluate the periodic rules (spike, surging term) for the window ending now.

Restart safety: queue items are acked only after their alerts are written; a replayed item is
a no-op (its mention is already on the alert). The periodic checkpoint records the last
evaluation, and a restart evaluates only the current window — never every missed one — so
there is no flood of old alerts; ``max_mention_age_hours`` keeps backfilled posts quiet.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from alerts.calm import calm_down, send_digests
from alerts.escalation import escalate_due, send_reminders, wake_snoozed
from alerts.grouping import combine_matches
from alerts.publish import publish_match
from alerts.rules import MentionContext, Rule, RuleMatch, load_rules, severity_rank
from alerts.rules.base import ThreadRoot
from alerts.silences import MuteChecker
from alerts.situation import assign_situation, thread_root
from core.clock import Clock
from core.config import Settings
from core.domain import Customer, Mention
from core.store.port import Store

log = logging.getLogger(__name__)

STAGE = "alert"
PERIODIC_CHECKPOINT = "alerts:periodic"


class AlertWorker:
    """``AlertWorker(settings, store, clock, name)``; ``run_once()`` handles one batch."""

    def __init__(self, settings: Settings, store: Store, clock: Clock, name: str, *,
                 batch: int = 128, lease_seconds: float = 60, tick_seconds: float = 5,
                 periodic_seconds: float = 60, rules: list[Rule] | None = None) -> None:
        self.settings, self.store, self.clock, self.name = settings, store, clock, name
        self.batch, self.lease_seconds = batch, lease_seconds
        self.tick_seconds, self.periodic_seconds = tick_seconds, periodic_seconds
        self.rules = load_rules(settings) if rules is None else rules
        self.mention_rules = [r for r in self.rules if not r.periodic]
        self.periodic_rules = [r for r in self.rules if r.periodic]
        self._last_tick: datetime | None = None
        self._last_sweep: datetime | None = None

    # ------------------------------------------------------------------ queue
    def run_once(self) -> int:
        """Process one claimed batch plus any due escalation/periodic work; returns items handled."""
        handled = self.process_queue()
        handled += self.tick()
        return handled

    def process_queue(self) -> int:
        """Claim one batch from the ``alert`` queue, publish its matches, ack what was written."""
        now = self.clock.now()
        items = self.store.claim(STAGE, self.name, self.batch, self.lease_seconds, now=now)
        if not items:
            return 0
        mentions = {m.id: m for m in self.store.get_mentions([i.mention_id for i in items])}
        failed: dict[str, str] = {}
        groups: dict[tuple[str, str], list[RuleMatch]] = {}
        rules_by_name: dict[str, Rule] = {r.name: r for r in self.mention_rules}
        customers: dict[str, Customer | None] = {}
        roots: dict[str, ThreadRoot] = {}
        for item in items:
            mention = mentions.get(item.mention_id)
            if mention is None:
                continue  # deleted/erased since it was queued: nothing to alert on
            try:
                ctx = self.context_for(mention, now, roots)
                for rule, match in self.evaluate(ctx):
                    groups.setdefault((rule.name, match.fingerprint), []).append(match)
                if ctx.customer is not None:
                    customers[ctx.customer.crm_id] = ctx.customer
            except Exception as exc:  # noqa: BLE001 - one bad mention must not block the batch
                log.exception("alert rules failed on mention %s", mention.id)
                failed[mention.id] = f"{type(exc).__name__}: {exc}"
        # One write per situation per batch: fifty replies to one thread are one alert update.
        muter = MuteChecker(self.store, now)
        ordered = sorted(groups.items(), key=lambda kv: -max(severity_rank(m.severity) for m in kv[1]))
        for (rule_name, _), matches in ordered:  # criticals first, so they inhibit this batch's warnings
            match = combine_matches(matches)
            try:
                customer_id = match.customer_id or ""
                if customer_id and customer_id not in customers:
                    customers[customer_id] = self.store.get_customer(customer_id)
                publish_match(self.store, self.settings, rules_by_name[rule_name], match, now,
                              customers.get(customer_id), muter)
            except Exception as exc:  # noqa: BLE001 - retry these mentions later; the rest go on
                log.exception("could not write alert %s", match.fingerprint)
                for mention_id in match.mention_ids:
                    failed.setdefault(mention_id, f"{type(exc).__name__}: {exc}")
        for mention_id, error in failed.items():
            self.store.fail(STAGE, self.name, mention_id, error, retry_in_seconds=30, now=now)
        self.store.ack(STAGE, self.name, [i.mention_id for i in items if i.mention_id not in failed])
        return len(items)

    def context_for(self, mention: Mention, now: datetime, roots: dict[str, ThreadRoot] | None = None) -> MentionContext:
        """What the rules look at for ``mention``: its thread (and who started it), campaign, customer
        and risk flag. ``roots`` caches thread roots across one batch."""
        store = self.store
        root = None
        if mention.thread_id:
            roots = {} if roots is None else roots
            if mention.thread_id not in roots:
                roots[mention.thread_id] = thread_root(store, mention.thread_id)
            root = roots[mention.thread_id]
        return MentionContext(
            thread_root=root,
            mention=mention, now=now,
            thread=store.get_thread(mention.thread_id) if mention.thread_id else None,
            campaign=store.get_campaign(mention.campaign_id) if mention.campaign_id else None,
            customer=store.get_customer(mention.customer_id) if mention.customer_id else None,
            risk_flag=store.get_risk_flag(mention.customer_id) if mention.customer_id else None,
        )

    def evaluate(self, ctx: MentionContext) -> list[tuple[Rule, RuleMatch]]:
        """Every per-mention rule's matches for one mention (nothing before it is scored)."""
        if ctx.mention.risk is None and ctx.mention.analysis is None:
            return []  # not analysed yet: the risk stage will queue it again
        shares = ctx.mention.engagement.shares
        out = []
        for rule in self.mention_rules:
            for match in rule.evaluate(ctx):
                assign_situation(match, ctx.mention, ctx.thread_root)
                if shares is not None and match.subject_kind != "campaign":
                    match.growth.setdefault("shares", float(shares))  # reach: its growth raises severity
                out.append((rule, match))
        return out

    def evaluate_mention(self, mention: Mention, now: datetime) -> int:
        """Evaluate and publish one mention on its own; returns alerts written."""
        ctx = self.context_for(mention, now)
        written = 0
        for rule, match in self.evaluate(ctx):
            customer = self.store.get_customer(match.customer_id) if match.customer_id else None
            if publish_match(self.store, self.settings, rule, match, now, customer) is not None:
                written += 1
        return written

    # ------------------------------------------------------------------ timed work
    def tick(self, force: bool = False) -> int:
        """Escalations and reminders every ``tick_seconds``; periodic rules when their checkpoint is due."""
        now = self.clock.now()
        if not force and self._last_tick is not None and (now - self._last_tick).total_seconds() < self.tick_seconds:
            return 0
        self._last_tick = now
        handled = escalate_due(self.store, self.settings, now)
        handled += send_reminders(self.store, self.settings, self.rules, now)
        handled += wake_snoozed(self.store, self.settings, self.rules, now)
        if force or self._last_sweep is None or (now - self._last_sweep).total_seconds() >= self.periodic_seconds:
            self._last_sweep = now  # calm-down and digest sweeps read many alerts: once a periodic interval
            handled += calm_down(self.store, self.settings, now)
            handled += send_digests(self.store, self.settings, now)
        handled += self.run_periodic(now, force=force)
        return handled

    def run_periodic(self, now: datetime, force: bool = False) -> int:
        """Evaluate periodic rules for the window ending ``now`` when the shared checkpoint is due."""
        if not self.periodic_rules:
            return 0
        last_raw = self.store.get_checkpoint(PERIODIC_CHECKPOINT)
        last = datetime.fromisoformat(last_raw) if last_raw else None
        if not force and last is not None and now - last < timedelta(seconds=self.periodic_seconds):
            return 0
        # Record first: a second worker arriving now skips, and a crash mid-run costs one window at most.
        self.store.set_checkpoint(PERIODIC_CHECKPOINT, now.isoformat())
        written = 0
        muter = MuteChecker(self.store, now)
        for rule in self.periodic_rules:
            try:
                matches = rule.evaluate_periodic(self.store, now)
            except Exception:  # noqa: BLE001 - one broken rule must not stop the others
                log.exception("periodic rule %s failed", rule.name)
                continue
            for match in matches:
                customer = self.store.get_customer(match.customer_id) if match.customer_id else None
                if publish_match(self.store, self.settings, rule, match, now, customer, muter) is not None:
                    written += 1
        return written
