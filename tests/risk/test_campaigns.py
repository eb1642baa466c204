"""Coordinated campaigns: near-identical copies from many accounts form one campaign; genuine complaints do not."""

from __future__ import annotations

from datetime import timedelta

from core.config import Settings
from core.domain import Analysis, Mention
from risk.campaigns import CampaignConfig, CampaignIndex, hashtags, normalise_text
from risk.worker import RiskWorker
from tests.risk.conftest import COPY_EN, NOW, angry_analysis, drain, make_mention, praise_analysis, seed

ACCOUNTS = ["amir_h", "neda_88", "kaveh_t", "roya_m", "babak_sh", "leila_k", "farid_n", "shirin_p", "arash_d",
            "nazanin_z", "pouya_r", "mahsa_j", "behnam_g", "yasmin_a", "hamed_f", "taraneh_b", "saeed_v", "parisa_l",
            "omid_c", "golnaz_e"]
# How copy-paste campaigns really vary: punctuation, an emoji, a prefix, a dropped word, case.
VARIANTS = [
    lambda t: t, lambda t: t + "!", lambda t: "RT " + t, lambda t: t + " 😡", lambda t: t.replace("Boost this!", "Boost this!!"),
    lambda t: t.lower(), lambda t: t.replace("twice", "twice!"), lambda t: t + " #boycott",
    lambda t: t.replace("Never buy", "NEVER buy"), lambda t: t.replace(" and ignores her", ", ignores her"),
]
COPY_FA = "همه بازنشر کنید! سپهر موبایل گوشی مینا رو دو بار خراب کرد و جوابش رو نمیده. هیچوقت از سپهر موبایل خرید نکنید #سپهر_موبایل"
GENUINE = [
    "Ordered a case from Sepehr Mobile two weeks ago and it still hasn't shipped. Not happy.",
    "Sepehr Mobile charged me twice for the same screen protector, waiting on a refund.",
    "The phone I got from Sepehr Mobile overheats when charging. Anyone else?",
    "Sepehr Mobile support put me on hold for 40 minutes and then the call dropped.",
    "My Sepehr Mobile repair took three weeks instead of the promised five days.",
    "Why does Sepehr Mobile list phones as in stock when they are not?",
    "Sepehr Mobile's delivery guy left my parcel in the rain. The box was soaked.",
    "The warranty card from Sepehr Mobile had the wrong serial number on it.",
    "Prices at Sepehr Mobile went up 20% overnight, that's ridiculous.",
    "Sepehr Mobile sent me a refurbished phone labelled as new. Disappointed.",
    "سفارشم از سپهر موبایل ده روزه که هنوز نرسیده و کسی جواب نمیده.",
    "قیمت گوشی تو سپهر موبایل نسبت به هفته پیش خیلی گرون‌تر شده.",
    "گوشی که از سپهر موبایل خریدم بعد از یک هفته صفحه‌اش خط افتاد.",
    "پشتیبانی سپهر موبایل ایمیلم رو بعد از پنج روز هنوز جواب نداده.",
    "شارژری که سپهر موبایل فرستاد اصل نبود و داغ میکنه.",
    "برای تعویض گوشی معیوب سه بار رفتم شعبه سپهر موبایل و هر بار گفتن فردا.",
    "فاکتور خریدم از سپهر موبایل اشتباه صادر شده و درستش نمی‌کنن.",
    "پیک سپهر موبایل بدون هماهنگی اومد و وقتی خونه نبودم سفارش رو برگردوند.",
    "گارانتی سپهر موبایل برای باتری رو قبول نکردن با اینکه هنوز وقت داشت.",
    "اپلیکیشن سپهر موبایل موقع پرداخت خطا میده و پولم کم شده.",
]


def _copies(template: str, lang: str, platform: str = "mastodon") -> list[Mention]:
    cues = [("Boost this!", "call_to_action")] if lang == "en" else [("همه بازنشر کنید", "call_to_action")]
    out = []
    for i, handle in enumerate(ACCOUNTS):
        text = VARIANTS[i % len(VARIANTS)](template) if lang == "en" else template + ("" if i % 2 else " !!")
        out.append(make_mention(f"c{lang}{i}", text, platform=platform, handle=handle,
                                analysis=angry_analysis(text, lang, anger=0.8, cues=[c for c in cues if c[0] in text]),
                                published=NOW - timedelta(minutes=60 - 2 * i)))
    return out


def test_twenty_near_identical_posts_from_twenty_accounts_form_one_campaign(store, settings: Settings, clock):
    copies = _copies(COPY_EN, "en")
    seed(store, copies)
    worker = RiskWorker(settings, store, clock, "w1")
    drain(worker)
    stored = store.get_mentions([m.id for m in copies])
    campaign_ids = {m.campaign_id for m in stored}
    assert len(campaign_ids) == 1 and None not in campaign_ids
    campaign = store.get_campaign(campaign_ids.pop())
    assert len(campaign.mention_ids) == 20 and len(set(campaign.authors)) == 20
    assert "sepehrfail" in campaign.hashtags
    assert campaign.size_history[-1][1] == 20
    assert campaign.negative_share == 1.0
    assert campaign.risk is not None and "coordinated campaign of 20 accounts" in campaign.risk.reasons
    # Every member was re-scored knowing it is part of the campaign.
    assert all(m.risk.components["virality"] > 0.5 for m in stored)
    assert store.queue_depth("alert")["ready"] == 20


def test_persian_copies_form_one_campaign_too(store, settings: Settings, clock):
    copies = _copies(COPY_FA, "fa", platform="telegram")
    seed(store, copies)
    drain(RiskWorker(settings, store, clock, "w1"))
    ids = {m.campaign_id for m in store.get_mentions([m.id for m in copies])}
    assert len(ids) == 1 and None not in ids


def test_twenty_different_genuine_complaints_are_no_campaign(store, settings: Settings, clock):
    posts = [make_mention(f"g{i}", text, handle=ACCOUNTS[i], analysis=angry_analysis(text, "fa" if i >= 10 else "en", anger=0.6),
                          published=NOW - timedelta(minutes=3 * i))
             for i, text in enumerate(GENUINE)]
    seed(store, posts)
    drain(RiskWorker(settings, store, clock, "w1"))
    assert {m.campaign_id for m in store.get_mentions([m.id for m in posts])} == {None}
    assert store.list_campaigns() == []


def test_one_account_repeating_itself_is_no_campaign(store, settings: Settings, clock):
    posts = [make_mention(f"s{i}", COPY_EN + "!" * i, handle="angry_bot", analysis=angry_analysis(COPY_EN, "en"),
                          published=NOW - timedelta(minutes=i)) for i in range(10)]
    seed(store, posts)
    drain(RiskWorker(settings, store, clock, "w1"))
    assert store.list_campaigns() == []


def test_campaign_grows_over_time_and_survives_a_worker_restart(store, settings: Settings, clock):
    copies = _copies(COPY_EN, "en")
    seed(store, copies[:5])
    drain(RiskWorker(settings, store, clock, "w1"))
    [campaign] = store.list_campaigns()
    assert campaign.size_history == [(NOW, 5)]
    clock.advance(timedelta(minutes=15))
    seed(store, copies[5:])
    drain(RiskWorker(settings, store, clock, "w2"))  # a fresh worker: its LSH is rebuilt from the store
    [grown] = store.list_campaigns()
    assert grown.id == campaign.id and len(grown.mention_ids) == 20
    assert grown.size_history == [(NOW, 5), (NOW + timedelta(minutes=15), 20)]  # growth over time


def test_copies_outside_the_time_window_do_not_join():
    index = CampaignIndex(CampaignConfig(window=timedelta(hours=2)))
    copies = _copies(COPY_EN, "en")
    old = copies[0].model_copy(update={"published_at": NOW - timedelta(days=2)})
    index.add(old)
    assert index.similar(copies[1]) == []
    index.add(copies[2])
    assert index.similar(copies[1]) == [copies[2].id]


def test_normalisation_ignores_links_case_and_punctuation():
    assert normalise_text("Boost THIS!! https://t.co/x1 #SepehrFail") == "boost this #sepehrfail"
    assert hashtags("خراب شد #سپهر_موبایل #SepehrFail") == ["سپهر_موبایل", "sepehrfail"]


def test_syndicated_neutral_news_is_no_campaign(store, settings: Settings, clock):
    release = ("Sepehr Mobile opens its third store in Tehran on Valiasr Street, with a repair desk and "
               "same-day screen replacement, the company said on Monday.")
    neutral = Analysis(lang="en", sentiment="neutral", sentiment_scores={"neutral": 0.9}, model="test", analyzed_at=NOW)
    posts = [make_mention(f"n{i}", release, platform="rss", handle=f"newsdesk{i}", source=f"news-{i}",
                          analysis=neutral, url=f"https://news{i}.example/sepehr-store") for i in range(6)]
    seed(store, posts)
    drain(RiskWorker(settings, store, clock, "w1"))
    assert store.list_campaigns() == []
    assert {m.campaign_id for m in store.get_mentions([p.id for p in posts])} == {None}


def test_copied_praise_is_a_campaign_that_reads_positive(store, settings: Settings, clock):
    """Copied praise starts no campaign; when a misread entry starts one, its negative share stays low
    (and ``campaign_detected`` stays quiet below ``min_negative_share``)."""
    entry = "I love Sepehr Mobile! Entering the #sepehrgiveaway to win the new phone, fingers crossed"
    fa_entry = "عاشق سپهر موبایل هستم! در مسابقه #سپهر_هدیه شرکت می‌کنم، امیدوارم گوشی جدید رو ببرم"
    posts = [make_mention(f"g{i}", (entry if i % 2 else fa_entry) + " !" * (i % 3), handle=handle,
                          analysis=praise_analysis("en" if i % 2 else "fa"),
                          published=NOW - timedelta(minutes=40 - i))
             for i, handle in enumerate(ACCOUNTS)]
    posts[0] = posts[0].model_copy(update={"analysis": angry_analysis(posts[0].text, "fa")})  # one misread
    seed(store, posts)
    drain(RiskWorker(settings, store, clock, "w1"))
    [campaign] = store.list_campaigns()  # the Persian entries, started by the misread one
    assert len(campaign.mention_ids) == 10 and campaign.sample_text.startswith("عاشق سپهر موبایل")
    assert campaign.negative_share == 0.1


def test_chained_near_copies_settle_on_one_campaign(store, settings: Settings, clock):
    """Near-identity is not transitive (A~B, B~C, A and C differ): campaigns that meet through a
    bridge post merge into one and the workers go idle, instead of re-tagging each other's members."""
    words = ("boycott sepehr mobile now they broke my phone twice and support never answers the phone "
             "tickets vanish refunds never come the shop in tehran lies and the warranty is a joke share this "
             "everywhere before they fool you too").split()
    texts = [" ".join(words[3 * k: 3 * k + 20]) for k in range(6)]  # neighbours share 17 of 20 words
    posts = []
    for k, text in enumerate(texts):
        for j in range(3):
            minutes = 5 * ((k * 7 + j * 3) % 11)  # the dates interleave across the chain
            posts.append(make_mention(f"ch{k}-{j}", text, handle=f"chain_{k}_{j}",
                                      analysis=angry_analysis(text, "en"), published=NOW - timedelta(minutes=60 - minutes)))
    for order in (posts[::2], posts[1::2]):  # two waves, so campaigns exist before their bridges arrive
        seed(store, order)
        handled = drain(RiskWorker(settings, store, clock, "w1"), limit=50)
        assert handled <= 6 * len(posts)
    tags = {m.campaign_id for m in store.get_mentions([p.id for p in posts])}
    assert len(tags) == 1 and None not in tags


def test_signatures_share_one_draw_of_permutations_and_equal_a_fresh_minhash() -> None:
    """The permutations are drawn once per process; the hash values are what a fresh MinHash gives."""
    import zlib

    import numpy as np
    from datasketch import MinHash

    from risk.campaigns import signature

    config = CampaignConfig()
    texts = [COPY_EN, "سه روزه اینترنتم قطعه، هر چی به پشتیبانی زنگ میزنم جواب نمیدن", "ok"]
    sigs = [signature(text, config) for text in texts]
    assert sigs[0].permutations is sigs[1].permutations
    for text, sig in zip(texts, sigs):
        norm = normalise_text(text)
        fresh = MinHash(num_perm=config.num_perm, seed=7, hashfunc=zlib.crc32)
        fresh.update_batch([norm[i:i + config.shingle].encode() for i in range(max(len(norm) - config.shingle + 1, 1))])
        assert np.array_equal(sig.hashvalues, fresh.hashvalues)
