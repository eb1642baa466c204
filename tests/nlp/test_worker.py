"""The analysis worker against the SQLite store: results, failures, restart safety."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.clock import SimulatedClock
from core.store import open_store
from nlp.analyzer import Analyzer
from nlp.worker import AnalysisWorker
from tests.nlp.conftest import NOW, make_mention, nlp_settings

POSTS = {
    "en-angry": "I called five times, no answer. Retweet this and never buy from Digikala again! I'm furious.",
    "fa-angry": "گوشی خراب رسید و پشتیبانی دیجی‌کالا جواب نمیده، سه بار زنگ زدم. واقعا افتضاحه. همه بازنشر کنید، دیگه از اینا نخرید",
    "fa-happy": "از دیجی کالا خرید کردم، ارسال سریع بود و کیفیت عالیه. ممنونم",
    "en-happy": "Got my Digikala order in a day, love it, thank you!",
}


@pytest.fixture(scope="module")
def analyzer(encoder_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Analyzer:
    return Analyzer(nlp_settings(tmp_path_factory.mktemp("a"), encoder_path))


@pytest.fixture
def env(tmp_path: Path, encoder_path: Path):  # noqa: ANN201
    settings = nlp_settings(tmp_path, encoder_path)
    store = open_store(settings)
    clock = SimulatedClock(NOW + timedelta(minutes=5))
    mentions = [make_mention(key, text) for key, text in POSTS.items()]
    store.upsert_mentions(mentions)
    yield settings, store, clock, {key: m.id for key, m in zip(POSTS, mentions)}
    store.close()


def test_batch_is_analysed_patched_and_handed_to_risk(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, ids = env
    worker = AnalysisWorker(settings, store, clock, "nlp-a", analyzer=analyzer)
    assert worker.run_once() == 4
    assert worker.run_once() == 0
    got = {key: store.get_mention(mid) for key, mid in ids.items()}
    assert got["fa-angry"].lang == "fa" and got["en-angry"].lang == "en"
    assert got["fa-angry"].analysis.sentiment == "negative"
    assert got["en-angry"].analysis.sentiment == "negative"
    assert got["fa-happy"].analysis.sentiment == "positive"
    assert got["en-happy"].analysis.sentiment == "positive"
    fa_kinds = {c.kind for c in got["fa-angry"].analysis.cues}
    assert {"failed_support", "call_to_action", "boycott", "reason_product"} <= fa_kinds
    assert {"failed_support", "call_to_action", "boycott"} <= {c.kind for c in got["en-angry"].analysis.cues}
    assert got["en-angry"].analysis.anger > got["en-happy"].analysis.anger
    assert store.queue_depth("analyze", now=clock.now())["ready"] == 0
    risk = store.claim("risk", "risk-1", 10, 60, now=clock.now())
    assert sorted(i.mention_id for i in risk) == sorted(ids.values())


def test_crash_between_claim_and_ack_is_retried_after_lease_once(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, ids = env
    calls: list[int] = []

    class CountingAnalyzer:
        model_id = analyzer.model_id

        def analyze(self, mentions):  # noqa: ANN001, ANN201
            calls.append(len(mentions))
            return analyzer.analyze(mentions)

    # worker A claims and "crashes" (never acks)
    claimed = store.claim("analyze", "nlp-a", 10, 60, now=clock.now())
    assert len(claimed) == 4
    worker_b = AnalysisWorker(settings, store, clock, "nlp-b", analyzer=CountingAnalyzer(), lease_seconds=60)
    assert worker_b.run_once() == 0  # still leased to A
    clock.advance(timedelta(seconds=61))
    assert worker_b.run_once() == 4
    assert worker_b.run_once() == 0
    assert calls == [4]
    for key, mid in ids.items():
        mention = store.get_mention(mid)
        assert mention.analysis is not None and mention.analysis.model == analyzer.model_id, key
    assert store.queue_depth("analyze", now=clock.now()) == {"ready": 0, "leased": 0, "delayed": 0, "dead": 0}


def test_a_killed_worker_s_batch_comes_back_within_seconds_with_the_default_lease(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, ids = env
    dying = AnalysisWorker(settings, store, clock, "nlp-a", analyzer=analyzer)
    store.claim("analyze", dying.name, dying.claim_size(), dying.lease_seconds, now=clock.now())  # claims, then is killed
    survivor = AnalysisWorker(settings, store, clock, "nlp-b", analyzer=analyzer)
    assert survivor.run_once() == 0
    clock.advance(timedelta(seconds=21))  # not five minutes
    assert survivor.run_once() == 4
    assert all(store.get_mention(mid).analysis is not None for mid in ids.values())


def test_a_slow_worker_claims_only_what_it_can_analyse_in_half_a_lease(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, _ = env
    worker = AnalysisWorker(settings, store, clock, "nlp-a", analyzer=analyzer, lease_seconds=20, batch_size=64)
    assert worker.claim_size() == 64  # nothing measured yet
    worker.seconds_per_item = 0.5  # e.g. long reviews on a loaded 2-core machine
    assert worker.claim_size() == 20
    worker.seconds_per_item = 30.0  # slower than a lease per item: still one at a time, never zero
    assert worker.claim_size() == 1
    assert worker.run_once() == 1


def test_crash_after_patch_before_ack_does_not_analyse_twice(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, ids = env
    calls: list[int] = []

    class CrashAfterPatch:
        model_id = analyzer.model_id

        def analyze(self, mentions):  # noqa: ANN001, ANN201
            calls.append(len(mentions))
            return analyzer.analyze(mentions)

    worker = AnalysisWorker(settings, store, clock, "nlp-a", analyzer=CrashAfterPatch(), lease_seconds=60)
    original_ack = store.ack
    store.ack = lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt("killed"))  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        worker.run_once()
    store.ack = original_ack  # type: ignore[method-assign]
    clock.advance(timedelta(seconds=61))
    restarted = AnalysisWorker(settings, store, clock, "nlp-a2", analyzer=CrashAfterPatch(), lease_seconds=60)
    assert restarted.run_once() == 4
    assert calls == [4]  # the restart found the analyses already written and only acked
    assert restarted.run_once() == 0


def test_a_failing_mention_does_not_block_the_batch(env, analyzer) -> None:  # noqa: ANN001
    settings, store, clock, ids = env
    bad_id = ids["en-happy"]

    class PickyAnalyzer:
        model_id = analyzer.model_id

        def analyze(self, mentions):  # noqa: ANN001, ANN201
            if any(m.id == bad_id for m in mentions):
                if len(mentions) == 1:
                    raise ValueError("model exploded on this text")
                raise ValueError("batch contains a bad text")
            return analyzer.analyze(mentions)

    worker = AnalysisWorker(settings, store, clock, "nlp-a", analyzer=PickyAnalyzer())
    assert worker.run_once() == 4
    assert store.get_mention(bad_id).analysis is None
    for key in ("en-angry", "fa-angry", "fa-happy"):
        assert store.get_mention(ids[key]).analysis is not None
    assert store.queue_depth("analyze", now=clock.now())["delayed"] == 1  # waits to be retried
    clock.advance(timedelta(seconds=61))
    assert worker.run_once() == 1  # the retry fails alone again; the others are done
    assert store.get_mention(bad_id).analysis is None


def test_a_boycott_of_the_own_brand_by_name_is_a_boycott_the_sanctions_are_not(analyzer) -> None:  # noqa: ANN001
    calls, sanctions = analyzer.analyze([
        make_mention("b1", "تحریم دیجی‌کالا تا وقتی پول مردم رو پس نده"),  # boycott Digikala until it pays people back
        make_mention("b2", "تا تحریم‌ها برداشته نشه دیجی کالا هم گرون می‌مونه"),  # until the sanctions go, Digikala stays dear
    ])
    assert [c.evidence for c in calls.cues if c.kind == "boycott"] == ["تحریم دیجی‌کالا"]
    assert not [c for c in sanctions.cues if c.kind == "boycott"]
