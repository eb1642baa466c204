"""Per-customer risk flags: they rise with evidence, decay with time and resolved tickets, and every
change reaches the CRM's change feed exactly once."""

from __future__ import annotations

from datetime import timedelta

from core.config import RiskSettings, Settings
from core.domain import RiskLevel, TicketStatus
from risk.flags import compute_flag, decayed, level_for
from risk.worker import RiskWorker
from tests.risk.conftest import MINA_EN, MINA_FA, NOW, angry_analysis, drain, growth, make_mention, mina, seed


class CrmPoller:
    """What the CRM does: poll the change feed with the cursor it got last time."""

    def __init__(self, store) -> None:
        self.store, self.cursor, self.seen = store, None, []

    def poll(self) -> list:
        page = self.store.risk_flag_feed(self.cursor, limit=10)
        self.cursor = page.next_cursor
        self.seen += page.items
        return page.items


def _mina_fa():
    analysis = angry_analysis(MINA_FA, "fa", anger=0.91, cues=[("همه بازنشر کنید", "call_to_action"),
                                                               ("دارم میرم سراغ آریانت", "tag_competitor")],
                              reasons=["reason_service", "reason_switching"])
    return make_mention("p10100", MINA_FA, platform="forum", handle="mina_r", analysis=analysis,
                        published=NOW - timedelta(minutes=50))


def _mina_en(shares: list[int]):
    analysis = angry_analysis(MINA_EN, "en", cues=[("Boost this, everyone", "call_to_action"),
                                                   ("never buy from Sepehr Mobile", "boycott")])
    return make_mention("110", MINA_EN, handle="mina_r", analysis=analysis, published=NOW - timedelta(minutes=20),
                        history=growth(shares, NOW - timedelta(minutes=45)))


def test_flag_rises_then_decays_when_the_ticket_is_resolved_and_time_passes(store, settings: Settings, clock):
    crm = CrmPoller(store)
    worker = RiskWorker(settings, store, clock, "w1")
    seed(store, [_mina_fa()], customers=[mina()])
    drain(worker)
    [first] = crm.poll()
    assert first.crm_id == "C-1042" and first.level == RiskLevel.high
    assert "linked to C-1042, gold tier, ticket T-881 unresolved 9 days" in first.reasons
    assert first.evidence_ids == [_mina_fa().id]

    seed(store, [_mina_en([5, 40, 180, 500])])
    drain(worker)
    [second] = crm.poll()
    assert second.level == RiskLevel.critical and second.score > first.score
    assert set(second.evidence_ids) == {_mina_fa().id, _mina_en([5]).id}
    assert "2 risky posts" in second.reasons

    # Nothing new: re-running the worker and the decay pass adds nothing to the feed.
    assert drain(worker) == 0
    worker.maybe_decay(clock.now(), force=True)
    assert crm.poll() == []

    # Support resolves the ticket (CRM re-sync) and a day passes.
    assert store.upsert_customers([mina(TicketStatus.resolved)]).ok
    clock.advance(timedelta(days=1))
    worker.maybe_decay(clock.now(), force=True)
    [third] = crm.poll()
    assert third.score < second.score - 20 and third.level in (RiskLevel.watch, RiskLevel.high)
    assert not any("unresolved" in r for r in third.reasons)

    # Ten more days (over three half-lives): the flag has decayed away.
    clock.advance(timedelta(days=10))
    worker.maybe_decay(clock.now(), force=True)
    [fourth] = crm.poll()
    assert fourth.level == RiskLevel.none and fourth.score == 0 and fourth.evidence_ids == []
    worker.maybe_decay(clock.now() + timedelta(days=1), force=True)
    assert crm.poll() == []

    # Each change was delivered exactly once, in order.
    seqs = [f.seq for f in crm.seen]
    assert seqs == sorted(set(seqs)) and len(seqs) == 4
    assert [f.level for f in crm.seen] == [RiskLevel.high, RiskLevel.critical, third.level, RiskLevel.none]


def test_decay_pass_runs_once_per_interval_across_workers(store, settings: Settings, clock):
    seed(store, [_mina_fa()], customers=[mina()])
    a, b = RiskWorker(settings, store, clock, "a"), RiskWorker(settings, store, clock, "b")
    drain(a)
    assert store.upsert_customers([mina(TicketStatus.resolved)]).ok
    clock.advance(timedelta(hours=20))
    assert a.maybe_decay(clock.now()) == 1
    assert b.maybe_decay(clock.now()) == 0  # the checkpoint says it just ran


def test_levels_and_decay_follow_settings():
    risk = RiskSettings(levels={"watch": 30, "high": 50, "critical": 70}, decay_half_life_hours=10)
    assert [level_for(s, risk) for s in (10, 30, 55, 90)] == [RiskLevel.none, RiskLevel.watch, RiskLevel.high,
                                                                 RiskLevel.critical]
    assert decayed(80, NOW, NOW + timedelta(hours=10), 10) == 40
    assert decayed(80, NOW, NOW - timedelta(hours=1), 10) == 80


def test_flag_without_scored_evidence_is_none():
    flag = compute_flag(mina(), [make_mention("x", "hello")], RiskSettings(), NOW)
    assert flag.level == RiskLevel.none and flag.score == 0 and flag.reasons == []


class LaggingSearch:
    """The store as a worker sees it on Elasticsearch between refreshes: writes are readable by id
    at once, but searches see nothing written since ``visible`` was last set."""

    def __init__(self, store, visible: set[str]) -> None:
        self._store, self.visible = store, visible

    def __getattr__(self, name: str):
        return getattr(self._store, name)

    def search_mentions(self, query):
        page = self._store.search_mentions(query)
        page.items = [m for m in page.items if m.id in self.visible]
        return page


def test_a_lagging_search_index_never_lowers_a_flag(store, settings: Settings, clock):
    """The mention a worker just linked, and the evidence of the stored flag, count even when the
    search index has not caught up yet (two risk workers on Elasticsearch within one refresh)."""
    seed(store, [_mina_fa()], customers=[mina()])
    drain(RiskWorker(settings, LaggingSearch(store, visible=set()), clock, "w1"))
    first = store.get_risk_flag("C-1042")
    assert first.level == RiskLevel.high and first.evidence_ids == [_mina_fa().id]

    seed(store, [_mina_en([5, 40, 180, 500])])  # another worker links Mina's second post; still nothing searchable
    drain(RiskWorker(settings, LaggingSearch(store, visible=set()), clock, "w2"))
    second = store.get_risk_flag("C-1042")
    assert second.level == RiskLevel.critical and set(second.evidence_ids) == {_mina_fa().id, _mina_en([5]).id}


def test_the_decay_pass_corrects_a_flag_a_racing_worker_left_too_low(store, settings: Settings, clock):
    """Last write wins between two workers: a `none` written from a search that had not caught up is
    recomputed by the next decay pass (recent flags are rechecked whatever their level)."""
    from core.domain import RiskFlag

    seed(store, [_mina_fa()], customers=[mina()])
    worker = RiskWorker(settings, store, clock, "w1")
    drain(worker)
    assert store.get_risk_flag("C-1042").level == RiskLevel.high
    store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.none, score=0, updated_at=clock.now()))
    clock.advance(timedelta(minutes=15))
    worker.maybe_decay(clock.now(), force=True)
    assert store.get_risk_flag("C-1042").level == RiskLevel.high
