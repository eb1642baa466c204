"""A synthetic but realistic day of mentions for three brands, with three planted incidents.

Used by ``bench/bench_noise.py``. Everything is generated from one seed, so a run is
repeatable. A post is what the crawler would store after the NLP stage: text (English and
Persian), author and reach, brands from the real brand-query matcher (``BrandMatcher``:
homonyms that do not match are dropped, as the crawler drops them), an analysis with
sentiment (with realistic model mistakes) and the real sabotage-cue extractor, and
engagement observed at each (re-)crawl.

Background: steady chatter following a day/night rhythm (mostly neutral or positive, a
quarter mildly negative, each grumble about something else), viral compliments, a
competitor's outage (angry, with calls to boycott — about the competitor), off-brand
homonyms ("my friend Sepehr", "the kavir desert air"), and each brand's own channel posting
notices that get grumpy replies. Incidents (the day's real work for support):

1. ``key-customer``  a gold-tier customer with a reopened ticket complains (forum, Persian;
   Mastodon, English) about Sepehr Mobile;
2. ``viral-thread``  a non-customer's sabotage post about Kavir Air ("boost this, boycott")
   whose shares grow 5 → 18,000 over three hours, with angry replies;
3. ``copy-campaign`` 25 accounts post near-identical text against Nima Bank within 25 minutes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.config import Settings
from core.domain import Analysis, Author, Customer, Engagement, Mention, SupportTicket, TicketStatus, mention_id
from crawlers.brandmatch import BrandMatcher
from nlp.cues import complaint_reasons, extract_cues

BRANDS = [
    {"name": "Sepehr Mobile", "query": '"sepehr mobile" OR sepehrmobile OR #sepehrfail OR "سپهر موبایل" OR سپهرموبایل',
     "handles": {"telegram": ["sepehrmobile"]}},
    {"name": "Kavir Air", "query": '"kavir air" OR kavirair OR #kavirairfail OR "کویر ایر"', "handles": {"telegram": ["kavirair"]}},
    {"name": "Nima Bank", "query": '"nima bank" OR nimabank OR #nimabankscam OR "بانک نیما"', "handles": {"telegram": ["nimabank"]}},
    {"name": "Arianet", "query": "arianet OR آریانت", "competitor": True},
]
FA_NAME = {"Sepehr Mobile": "سپهر موبایل", "Kavir Air": "کویر ایر", "Nima Bank": "بانک نیما"}
THINGS = {
    "Sepehr Mobile": ["phone", "charger", "screen repair", "order", "headphones", "warranty claim", "SIM card"],
    "Kavir Air": ["flight", "seat", "boarding", "check-in", "meal", "baggage drop", "app booking"],
    "Nima Bank": ["card", "transfer", "app login", "branch visit", "loan form", "statement", "ATM"],
}
FA_THINGS = {
    "Sepehr Mobile": ["گوشی", "شارژر", "تعمیر صفحه", "سفارش", "هدفون"],
    "Kavir Air": ["پرواز", "صندلی", "سوار شدن", "غذای پرواز", "پذیرش"],
    "Nima Bank": ["کارت", "انتقال وجه", "ورود به برنامه", "شعبه", "خودپرداز"],
}
PLACES = ["Tehran", "Shiraz", "Tabriz", "Isfahan", "Mashhad", "Rasht", "Yazd", "Kerman", "Karaj", "Qom"]
DAYS = ["Saturday", "Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
FA_PRAISES = ["عالی بود", "خیلی سریع بود", "بی‌دردسر بود", "بهتر از انتظارم بود", "راضی‌ام کرد", "ارزان‌تر از بقیه بود",
              "کارمندها خیلی مهربان بودند", "روزم را ساخت"]
# People write differently: openers, asides and endings make two grumbles about the same thing
# different texts (copy-paste is what a campaign looks like, and ordinary chatter is not one).
OPENERS = ["", "Ugh,", "Honestly,", "Well,", "So", "Not gonna lie,", "PSA:", "Quick rant:", "Hmm,", "Today:", "FYI",
           "Again?", "Meh.", "Wow,", "Okay so", "Small thing but", "Funny story:", "Update:", "Real talk:", "Sigh,"]
ASIDES = ["my cousin says the same", "it was raining too", "the queue was long", "first time this happened to me",
          "I had a meeting right after", "the staff tried their best though", "no big deal really", "kind of expected it",
          "my partner laughed at me", "the music in there was loud", "I was with my kids", "on my lunch break",
          "after work, tired", "my neighbour had better luck", "still cheaper than the rest", "not the end of the world",
          "will see how it goes", "the manager apologised", "even the coffee was lukewarm", "the seats were cramped"]
ENDINGS = ["", "🙄", "😕", "sigh", "oh well", "lol", "…", "anyway", "whatever", "we'll see", "#mondays", "hmm"]
FA_ASIDES = ["هوا هم بارانی بود", "صف طولانی بود", "اولین بار بود", "کارمندها سعی‌شان را کردند", "چیز مهمی نیست",
             "با بچه‌ها بودم", "وقت ناهار بود", "همسایه‌مان شانس بهتری داشت", "باز هم ارزان‌تر است", "ببینیم چه می‌شود",
             "بعد از کار خسته بودم", "دوستم هم همین را گفت", "مدیرشان عذرخواهی کرد", "موسیقی آنجا بلند بود",
             "قهوه‌شان هم سرد بود", "صندلی‌ها تنگ بود", "پارکینگ پیدا نکردم", "دفعه قبل بهتر بود", "عجله داشتم",
             "خواهرم هم شاکی بود", "سر راه دانشگاه رفتم", "تلفنی هم پرسیدم", "آخر هفته بود", "هنوز منتظرم"]
FA_ENDINGS = ["", "😕", "خسته شدم", "ای بابا", "خب", "باشه"]
COMPLAINTS = ["took forever", "was a letdown", "kept failing", "got cancelled", "was overpriced", "broke after a week",
              "was handled rudely", "never got a call back", "lost my paperwork", "was out of stock", "made me wait",
              "changed without notice", "gave me the wrong answer", "had a wrong receipt", "felt rushed", "was confusing",
              "was slower than usual", "did not work at first", "needed three tries", "was not as advertised"]
HEDGES = ["a bit", "kind of", "slightly", "rather", "really", "so", "honestly", "totally", "somewhat", ""]
WHEN = ["in {place}", "on {day}", "after {n} minutes", "this morning", "again tonight", "last week", "at the {place} branch",
        "since {day}", "for the {n}th time", "at lunch", "before my trip", "yesterday evening"]
FA_COMPLAINTS = ["خیلی طول کشید", "ناامیدم کرد", "باز خراب شد", "گران‌تر شده", "جواب درستی نداد", "موجود نبود",
                 "منتظرم گذاشت", "بدون اطلاع عوض شد", "اشتباه حساب کرد", "عجله‌ای انجام شد", "کار نکرد", "گیج‌کننده بود"]
FA_WHEN = ["در {place}", "روز {day}", "بعد از {n} دقیقه", "امروز صبح", "دیشب", "هفته پیش", "سر ظهر", "دوباره"]
HOMONYMS = ["My friend Sepehr finally bought a new mobile in {place}", "سپهر آبی امروز خیلی زیبا بود",
            "The kavir desert air in {place} is so dry on {day}", "Nima banked the winning shot on {day}"]
COMPETITOR = ["Arianet outage for the {n}th hour in {place}. Boycott Arianet!", "آریانت در {place} باز هم قطع شد",
              "Switched from Arianet to {brand} after the outage, much better"]
NOTICE = "{brand} notice: scheduled maintenance tonight from 1 to 3, the {thing} service will be unavailable"
KEY_CUSTOMER = "C-0042"
INCIDENT_TEXTS = {
    "key_fa": "گوشیم رو برای بار دوم دادم تعمیر سپهر موبایل و باز خراب برگردوندن. پنج بار به پشتیبانی زنگ زدم "
              "و هیچکس جواب نداد، تیکت T-881. همه بازنشر کنید! دارم میرم سراغ آریانت.",
    "key_en": "@sepehrmobile broke my phone twice and support ignores me (ticket T-881). Boost this, everyone — "
              "never buy from Sepehr Mobile! #sepehrfail",
    "viral": "@kavirair lost my luggage with my insulin and the desk laughed at me. Boost this, everyone — boycott "
             "Kavir Air! #kavirairfail",
    "reply": "Same with Kavir Air last {day}, they never answered my claim. Share this!",
    "campaign": "Nima Bank froze my account without any reason. Withdraw your money from Nima Bank now! #nimabankscam",
}


@dataclass
class Post:
    """One post: the mention as first crawled, when, and its later re-crawls (time, shares)."""

    mention: Mention
    crawl_at: datetime
    recrawls: list[tuple[datetime, int]] = field(default_factory=list)
    incident: str | None = None


def _fill(template: str, brand: str, rng: random.Random, fa: bool = False) -> str:
    things = FA_THINGS[brand] if fa else THINGS[brand]
    return template.format(brand=FA_NAME[brand] if fa else brand, thing=rng.choice(things), place=rng.choice(PLACES),
                           day=rng.choice(DAYS), n=rng.randrange(5, 95))


PRAISES = ["was great", "was quick", "just worked", "was a pleasure", "beat my expectations", "was spot on",
           "went smoothly", "was friendly", "saved my day", "was cheaper than I feared", "was painless", "impressed me"]
QUESTIONS = ["Does anyone know if the", "Quick question: is the", "How long does the", "Has anyone tried the",
             "Is it normal that the", "Where can I find the", "Any tips on the", "What do you think of the"]


def _chat(brand: str, rng: random.Random, positive: bool, fa: bool = False) -> str:
    """A compliment or a question, worded the way one person would."""
    if fa:
        text = f"{rng.choice(FA_THINGS[brand])} {FA_NAME[brand]} {rng.choice(FA_WHEN)} {rng.choice(FA_PRAISES)}"
        return _personal(text.format(place=rng.choice(PLACES), day=rng.choice(DAYS), n=rng.randrange(5, 95)), rng, True)
    when = rng.choice(WHEN).format(place=rng.choice(PLACES), day=rng.choice(DAYS), n=rng.randrange(5, 95))
    if positive:
        text = f"the {brand} {rng.choice(THINGS[brand])} {rng.choice(HEDGES)} {rng.choice(PRAISES)} {when}"
    else:
        text = f"{rng.choice(QUESTIONS)} {brand} {rng.choice(THINGS[brand])} work {when}?"
    return _personal(" ".join(text.split()), rng)


def _grumble(brand: str, rng: random.Random, fa: bool) -> str:
    """A mild complaint about one thing, worded the way one person would."""
    if fa:
        text = f"{rng.choice(FA_THINGS[brand])} {FA_NAME[brand]} {rng.choice(FA_WHEN)} {rng.choice(FA_COMPLAINTS)}"
    else:
        text = (f"the {brand} {rng.choice(THINGS[brand])} {rng.choice(HEDGES)} {rng.choice(COMPLAINTS)} "
                f"{rng.choice(WHEN)}").replace("  ", " ")
    return _personal(text.format(place=rng.choice(PLACES), day=rng.choice(DAYS), n=rng.randrange(5, 95)), rng, fa)


def _personal(text: str, rng: random.Random, fa: bool = False) -> str:
    """``text`` as one person would post it: with their own opener, aside and ending."""
    if fa:
        first, second = rng.sample(FA_ASIDES, 2)
        return " ".join(p for p in (first + "،", text + "،", second, rng.choice(FA_ENDINGS)) if p)
    first, second = rng.sample(ASIDES, 2)
    return " ".join(p for p in (rng.choice(OPENERS), first + ",", text + ";", second, rng.choice(ENDINGS)) if p)


def _analysis(text: str, lang: str, sentiment: str, rng: random.Random) -> Analysis:
    cues = extract_cues(text)
    negative = sentiment == "negative"
    return Analysis(lang=lang, sentiment=sentiment, sentiment_scores={sentiment: 0.9},
                    emotions={"anger": 0.85 if negative else 0.05}, anger=0.85 if negative else rng.uniform(0, 0.1),
                    cues=cues, complaint_reasons=complaint_reasons(cues), model="bench-synthetic")


class DayBuilder:
    """Builds the day's posts; ``matcher`` sets brands the way the crawler does."""

    def __init__(self, settings: Settings, start: datetime, rng: random.Random) -> None:
        self.start, self.rng = start, rng
        self.matcher = BrandMatcher(settings)
        self.posts: list[Post] = []
        self.dropped = 0  # homonyms and anything else the brand queries reject
        self._n = 0

    def add(self, text: str, when: datetime, *, handle: str, sentiment: str, lang: str = "en", platform: str = "mastodon",
            followers: int | None = None, shares: int = 0, thread_of: Mention | None = None, brand_owned: bool = False,
            incident: str | None = None, recrawls: list[tuple[datetime, int]] | None = None) -> Mention | None:
        """Store a post as the crawler would (dropped when no brand matches and it is not brand-owned)."""
        brands = self.matcher.match(text)
        if not brands and not brand_owned:
            self.dropped += 1
            return None
        self._n += 1
        native = f"{self.start:%Y%m%d}-p{self._n}"  # unique across days: the history day is stored beside this one
        if sentiment != "negative" and self.rng.random() < (0.05 if sentiment == "neutral" else 0.02):
            sentiment = "negative"  # the model's mistakes: sarcasm, terse questions
        followers = followers if followers is not None else int(self.rng.lognormvariate(5, 1.4))
        crawl_at = when + timedelta(minutes=self.rng.uniform(1, 4))  # sources are polled every few minutes
        m = Mention(
            id=mention_id(platform, native), platform=platform, source=f"{platform}-bench", native_id=native,
            url=f"https://{platform}.example/@{handle}/{native}", text=text, lang=lang,
            author=Author(platform=platform, handle=handle, followers=followers),
            published_at=when, crawled_at=crawl_at, brands=brands, brand_owned=brand_owned,
            thread_id=thread_of.thread_id if thread_of else f"{platform}:t:{native}",
            parent_id=thread_of.id if thread_of else None,
            engagement=Engagement(shares=shares, likes=shares * 2, replies=shares // 10),
            analysis=_analysis(text, lang, sentiment, self.rng),
        )
        self.posts.append(Post(m, crawl_at, recrawls or [], incident))
        return m

    def background(self, total: int, hours: float) -> None:
        """Chatter with a day/night rhythm (quiet at 4 am, busiest early evening)."""
        own = [b["name"] for b in BRANDS if not b.get("competitor")]
        rng = self.rng
        for _ in range(total):
            # Rejection-sample the hour so volume follows the rhythm (peak about 1.8x the mean).
            while True:
                minute = rng.uniform(0, hours * 60)
                if rng.random() < 0.55 + 0.45 * math.sin((minute / 60 - 10) / 24 * 2 * math.pi):
                    break
            when = self.start + timedelta(minutes=minute)
            brand, roll, fa = rng.choice(own), rng.random(), rng.random() < 0.35
            handle = f"user{rng.randrange(40_000)}"
            if roll < 0.40:
                text = _chat(brand, rng, True, fa)
                self.add(text, when, handle=handle, sentiment="positive", lang="fa" if fa else "en")
            elif roll < 0.68:
                self.add(_chat(brand, rng, False), when, handle=handle, sentiment="neutral")
            elif roll < 0.93:
                text = _grumble(brand, rng, fa)
                self.add(text, when, handle=handle, sentiment="negative", lang="fa" if fa else "en")
            elif roll < 0.96:
                self.add(_fill(rng.choice(HOMONYMS), brand, rng), when, handle=handle, sentiment="neutral")
            else:
                text = _fill(rng.choice(COMPETITOR), brand, rng)
                text = _personal(text, rng, fa="آریانت" in text)
                sentiment = "positive" if "Switched" in text else "negative"
                self.add(text, when, handle=handle, sentiment=sentiment, lang="fa" if "آریانت" in text else "en")

    def _growth(self, when: datetime, peak: int, hours: float, every: int = 10) -> list[tuple[datetime, int]]:
        """Re-crawls every ``every`` minutes of a post whose shares follow an S-curve to ``peak``."""
        steps = int(hours * 60 / every)
        return [(when + timedelta(minutes=every * (i + 1)), int(peak / (1 + math.exp(-(i - steps / 2) / (steps / 8)))))
                for i in range(steps)]

    def viral_compliments(self, count: int) -> None:
        own = [b["name"] for b in BRANDS if not b.get("competitor")]
        for i in range(count):
            when = self.start + timedelta(hours=self.rng.uniform(7, 21))
            brand = own[i % len(own)]
            text = f"{brand} went above and beyond today: they drove my forgotten {THINGS[brand][0]} to my door. Legends!"
            self.add(text, when, handle=f"happy{i}", sentiment="positive", followers=25_000,
                     recrawls=self._growth(when, 12_000, 4))

    def competitor_meltdown(self, count: int) -> None:
        start = self.start + timedelta(hours=11)
        for i in range(count):
            text = f"Arianet is down again ({i % 17 + 2} hours now). Boycott Arianet, share this everywhere!"
            self.add(text, start + timedelta(minutes=i * 1.5), handle=f"angry_arianet{i}", sentiment="negative",
                     recrawls=self._growth(start, 3_000, 3) if i == 0 else None)

    def brand_channels(self) -> None:
        for brand in FA_NAME:
            when = self.start + timedelta(hours=17)
            notice = self.add(_fill(NOTICE, brand, self.rng), when, handle=brand.lower().replace(" ", ""), platform="telegram",
                              sentiment="neutral", brand_owned=True, followers=90_000)
            for j in range(25):
                grumble = _grumble(brand, self.rng, self.rng.random() < 0.35)
                self.add(grumble,
                         when + timedelta(minutes=3 + j * 2), handle=f"tg_user{self.rng.randrange(9999)}",
                         platform="telegram", sentiment="negative", thread_of=notice)

    def incidents(self) -> dict[str, datetime]:
        """Plant the three incidents; returns each one's first post time."""
        first: dict[str, datetime] = {}
        t1 = self.start + timedelta(hours=10, minutes=12)
        self.add(INCIDENT_TEXTS["key_fa"], t1, handle="mina_r", platform="forum", lang="fa", sentiment="negative",
                 incident="key-customer")
        self.add(INCIDENT_TEXTS["key_en"], t1 + timedelta(minutes=20), handle="mina_r", sentiment="negative",
                 followers=1_240, incident="key-customer", recrawls=self._growth(t1 + timedelta(minutes=20), 300, 2))
        first["key-customer"] = t1
        t2 = self.start + timedelta(hours=14, minutes=5)
        root = self.add(INCIDENT_TEXTS["viral"], t2, handle="traveller_x", sentiment="negative", followers=3_100,
                        shares=5, incident="viral-thread", recrawls=self._growth(t2, 18_000, 3))
        for j in range(40):
            self.add(_fill(INCIDENT_TEXTS["reply"], "Kavir Air", self.rng), t2 + timedelta(minutes=12 + 4 * j),
                     handle=f"flyer{j}", sentiment="negative", thread_of=root, incident="viral-thread")
        first["viral-thread"] = t2
        t3 = self.start + timedelta(hours=19, minutes=30)
        for j in range(25):
            self.add(INCIDENT_TEXTS["campaign"] + "!" * (j % 3), t3 + timedelta(minutes=j), handle=f"acct_{j:02d}",
                     sentiment="negative", followers=150, incident="copy-campaign")
        first["copy-campaign"] = t3
        return first


def crm(rng: random.Random, start: datetime) -> list[Customer]:
    """A small CRM: the key customer (gold, reopened ticket) and 2,000 others, some of them posting."""
    tiers = ["bronze"] * 5 + ["silver"] * 3 + ["gold", "platinum"]
    out = [Customer(crm_id=KEY_CUSTOMER, name="Mina Rahimi", handles={"mastodon": ["mina_r"], "forum": ["mina_r"]},
                    tier="gold", lifetime_value=4800,
                    tickets=[SupportTicket(id="T-881", status=TicketStatus.reopened, opened_at=start - timedelta(days=9),
                                           channel="phone", subject="screen replacement failed twice")])]
    for i in range(2_000):
        out.append(Customer(crm_id=f"C-{1000 + i}", name=f"Customer {i}", handles={"mastodon": [f"user{i * 20}"]},
                            tier=rng.choice(tiers), lifetime_value=round(rng.uniform(50, 9000), 2)))
    return out
