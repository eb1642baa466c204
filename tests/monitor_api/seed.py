"""The demo story's data for API and dashboard tests: Mina Rahimi's Persian forum post and
English Mastodon post (growing shares), campaign copies, praise, her CRM record, the alert,
a risk flag and a dead delivery — written through the store like the pipeline would."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.domain import (
    Alert, AlertEvent, Analysis, Author, Campaign, Cue, Customer, Delivery, DeliveryStatus, Engagement,
    EngagementPoint, IdentityLink, LinkStatus, Mention, RiskFlag, RiskLevel, RiskScore, Severity, SupportTicket,
    Thread, TicketStatus, mention_id,
)
from core.store.port import MentionPatch, Store
from tests.story import BRAND, COPY_EN, MINA_EN, MINA_FA, NOW, PRAISE_FA  # noqa: F401 (re-exported to the tests)

PRAISE_EN = "Got my new phone from Sepehr Mobile in one day, great service."
ALERT_ID = "al-mina-escalation"


def _analysis(lang: str, sentiment: str, text: str, cue_words: tuple[str, ...] = ()) -> Analysis:
    cues = [Cue(kind="call_to_action", evidence=w, start=text.find(w), end=text.find(w) + len(w))
            for w in cue_words if w in text]
    scores = {"negative": 0.93, "neutral": 0.05, "positive": 0.02} if sentiment == "negative" else \
        {"negative": 0.02, "neutral": 0.08, "positive": 0.9}
    anger = 0.88 if sentiment == "negative" else 0.02
    return Analysis(lang=lang, sentiment=sentiment, sentiment_scores=scores, emotions={"anger": anger, "joy": 1 - anger},
                    anger=anger, cues=cues, model="seed", analyzed_at=NOW)


def _mention(platform: str, native: str, handle: str, text: str, lang: str, at: datetime, *, shares: int = 0,
             history: list[EngagementPoint] | None = None, campaign: str | None = None) -> Mention:
    return Mention(
        id=mention_id(platform, native), platform=platform, source=f"demo-{platform}", native_id=native,
        url=f"https://{platform}.example/@{handle}/{native}", thread_id=f"{platform}:{native}", text=text, lang=lang,
        author=Author(platform=platform, handle=handle, name=handle.replace("_", " ").title(), followers=250),
        published_at=at, crawled_at=at, brands=[BRAND] + (["Arianet"] if "آریانت" in text else []),
        engagement=Engagement(shares=shares, likes=shares * 2, replies=shares // 5), engagement_history=history or [],
        campaign_id=campaign,
    )


def seed_story(store: Store) -> dict[str, object]:
    """Write the story into ``store`` and return the ids tests refer to."""
    history = [EngagementPoint(at=NOW - timedelta(minutes=15 * (3 - i)), shares=s, likes=s * 2, replies=s // 5)
               for i, s in enumerate((5, 40, 180, 500))]
    mina_fa = _mention("forum", "t1-p1", "mina_r", MINA_FA, "fa", NOW - timedelta(hours=2))
    mina_en = _mention("mastodon", "1001", "mina_r", MINA_EN, "en", NOW - timedelta(hours=1), shares=500, history=history)
    copies = [_mention("mastodon", f"20{i:02d}", f"angry_{i}", COPY_EN, "en", NOW - timedelta(minutes=40 - i),
                       shares=3, campaign="camp-sepehrfail") for i in range(5)]
    praise_fa = _mention("forum", "t2-p1", "happy_buyer", PRAISE_FA, "fa", NOW - timedelta(hours=5))
    praise_en = _mention("mastodon", "3001", "reza_k", PRAISE_EN, "en", NOW - timedelta(hours=6))
    everything = [mina_fa, mina_en, *copies, praise_fa, praise_en]
    report = store.upsert_mentions(everything)
    assert report.ok, report.failed
    patches = []
    for m in everything:
        negative = m not in (praise_fa, praise_en)
        analysis = _analysis(m.lang or "en", "negative" if negative else "positive", m.text,
                             ("همه بازنشر کنید", "Boost this", "never buy from Sepehr Mobile"))
        risk = RiskScore(score=86 if m.author.handle == "mina_r" else (55 if negative else 5),
                         reasons=["angry customer", "call to share"] if negative else [], scored_at=NOW)
        patches.append(MentionPatch(id=m.id, lang=m.lang, analysis=analysis.model_dump(mode="json"),
                                    risk=risk.model_dump(mode="json"),
                                    customer_id="C-1042" if m.author.handle == "mina_r" else None,
                                    campaign_id=m.campaign_id))
    assert store.patch_mentions(patches).ok
    store.upsert_customers([
        Customer(crm_id="C-1042", name="Mina Rahimi", emails=["mina.rahimi@example.com"], phones=["+989121234567"],
                 handles={"mastodon": ["mina_r"], "forum": ["mina_r"]}, tier="gold", lifetime_value=4800,
                 tickets=[SupportTicket(id="T-881", status=TicketStatus.reopened, opened_at=NOW - timedelta(days=9),
                                        last_contact_at=NOW - timedelta(days=6), channel="phone",
                                        subject="screen replacement failed twice")]),
        Customer(crm_id="C-2001", name="Reza Karimi", handles={"mastodon": ["reza_k"]}, tier="silver"),
    ])
    store.save_link(IdentityLink(author_key="mastodon:mina_r", crm_id="C-1042", method="handle", confidence=1.0,
                                 evidence="CRM handle mastodon:mina_r", status=LinkStatus.confirmed))
    store.save_link(IdentityLink(author_key="mastodon:reza_k", crm_id="C-2001", method="name", confidence=0.7,
                                 evidence="display name similar to Reza Karimi", status=LinkStatus.suggested))
    store.upsert_thread(Thread(id="mastodon:1001", platform="mastodon", url=mina_en.url, brands=[BRAND],
                               mention_ids=[mina_en.id], authors=["mastodon:mina_r"], first_at=mina_en.published_at,
                               last_at=NOW))
    store.upsert_campaign(Campaign(id="camp-sepehrfail", brands=[BRAND], mention_ids=[c.id for c in copies],
                                   authors=[c.author.key or "" for c in copies], hashtags=["sepehrfail"],
                                   sample_text=COPY_EN, first_at=copies[0].published_at, last_at=copies[-1].published_at,
                                   size_history=[(NOW - timedelta(minutes=30), 2), (NOW, 5)]))
    alert = Alert(
        id=ALERT_ID, fingerprint="sabotage|Sepehr Mobile|thread:mastodon:1001", rule="sabotage", brand=BRAND,
        severity=Severity.critical, subject_kind="thread", subject_id="mastodon:1001",
        title="Mina Rahimi (gold, C-1042) is calling to share against Sepehr Mobile",
        reasons=["customer C-1042 Mina Rahimi, gold tier", "ticket T-881 reopened and unresolved for 9 days",
                 "calls to share: 'Boost this', 'همه بازنشر کنید'", "shares 5 → 500 in 45 minutes",
                 "campaign: 5 near-identical copies by different authors"],
        mention_ids=[mina_en.id, mina_fa.id, *[c.id for c in copies]], customer_id="C-1042", score=86,
        channels=["inbox"], created_at=NOW - timedelta(minutes=50), updated_at=NOW - timedelta(minutes=5),
        timeline=[AlertEvent(at=NOW - timedelta(minutes=50), kind="created"),
                  AlertEvent(at=NOW - timedelta(minutes=5), kind="evidence", data={"mentions": 7})],
    )
    dead = Delivery(id="dl-mina-1", alert_id=ALERT_ID, channel="inbox", payload={"title": alert.title},
                    status=DeliveryStatus.pending, created_at=NOW - timedelta(minutes=50),
                    next_attempt_at=NOW - timedelta(minutes=50))
    store.create_alert(alert, [dead])
    claimed = store.claim_due_deliveries("seed", 10, 60, now=NOW)
    assert claimed, "the seeded delivery should be claimable"
    store.mark_delivery_failed("dl-mina-1", "seed", "connection refused by 127.0.0.1:9", None, dead=True)
    other = alert.model_copy(update={"id": "al-spike", "fingerprint": "spike|Sepehr Mobile", "rule": "spike",
                                     "severity": Severity.warning, "subject_kind": "brand", "subject_id": BRAND,
                                     "title": "Negative mentions of Sepehr Mobile 4x above baseline", "customer_id": None,
                                     "mention_ids": [c.id for c in copies], "updated_at": NOW - timedelta(hours=1),
                                     "timeline": [], "version": 0})
    store.create_alert(other)
    store.upsert_risk_flag(RiskFlag(crm_id="C-1042", level=RiskLevel.critical, score=86,
                                    reasons=["calls to share", "reopened ticket T-881"],
                                    evidence_ids=[mina_en.id, mina_fa.id], updated_at=NOW))
    return {"mina_fa": mina_fa.id, "mina_en": mina_en.id, "copies": [c.id for c in copies], "praise_fa": praise_fa.id,
            "praise_en": praise_en.id, "alert": ALERT_ID, "spike": "al-spike", "delivery": "dl-mina-1"}


def analysis_unavailable() -> str | None:
    """Why the demo cannot raise its alert here (the analysis stage cannot start), or None."""
    try:
        from core.config import Settings
        from nlp.analyzer import Analyzer
    except ModuleNotFoundError as exc:
        return f"the analysis stage is not written yet ({exc.name} missing): the demo cannot raise its alert"
    try:
        Analyzer(Settings(), encoder=object())  # loads the trained heads only
    except Exception as exc:  # noqa: BLE001 - any reason the stage cannot start
        return f"the analysis stage cannot start ({exc}): the demo cannot raise its alert"
    return None


PERSIAN_BRAND = "دیجی‌کالا"
PERSIAN_TAG = "#دیجی_کالا_پاسخگو_نیست"
PERSIAN_COMPLAINT = f"سفارشم دو هفته است نرسیده و پشتیبانی دیجی‌کالا جواب نمی‌دهد {PERSIAN_TAG}"


def seed_persian_brand(store: Store, count: int = 4) -> list[str]:
    """``count`` angry Persian forum posts by different accounts about a Persian-named brand,
    one per hour before NOW, each its own thread, with growing follower counts."""
    items = [
        Mention(id=mention_id("forum", f"dk-{i}"), platform="forum", source="digikala-forum", native_id=f"dk-{i}",
                text=PERSIAN_COMPLAINT, lang="fa", thread_id=f"forum:dk-{i}", url=f"https://forum.example/dk-{i}",
                author=Author(platform="forum", handle=f"kharidar_{i}", name=f"خریدار {i}", followers=100 * (i + 1)),
                published_at=NOW - timedelta(hours=i + 1), crawled_at=NOW, engagement=Engagement(replies=i),
                brands=[PERSIAN_BRAND], analysis=Analysis(lang="fa", sentiment="negative", model="seed"))
        for i in range(count)
    ]
    report = store.upsert_mentions(items)
    assert report.ok, report.failed
    return [m.id for m in items]
