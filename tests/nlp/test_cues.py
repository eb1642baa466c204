"""Sabotage cues and complaint reasons with evidence spans in the original text."""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st

from core.textnorm import normalize_for_match
from nlp.cues import (_B, _E, _PATTERNS, REASON_KINDS, Competitor, _compiled, _word_start_matches, complaint_reasons,
                      extract_cues)

GLOBEX = [Competitor("globex", 'globex OR "گلوبکس" OR @globex_help')]


def kinds(text: str, competitors=()) -> dict[str, list[str]]:  # noqa: ANN001
    found: dict[str, list[str]] = {}
    for cue in extract_cues(text, competitors):
        assert text[cue.start:cue.end] == cue.evidence  # spans always point into the original text
        found.setdefault(cue.kind, []).append(cue.evidence)
    return found


COMPLAINT_EVIDENCE = (*REASON_KINDS, "failed_support")


def assert_evidence(kind: str, cases: dict[str, str]) -> None:
    """Each text fires ``kind`` exactly once, with that evidence."""
    for text, evidence in cases.items():
        assert kinds(text).get(kind) == [evidence], text


def assert_silent(texts: tuple[str, ...], quiet: tuple[str, ...] = COMPLAINT_EVIDENCE) -> None:
    """None of the texts fires any of the ``quiet`` kinds."""
    for text in texts:
        assert not [k for k in kinds(text) if k in quiet], text


def test_english_saboteur_post() -> None:
    text = ("I called five times, no answer. Retweet this and never buy from @acme again! #acmefail "
            "Going to the press and my lawyer. Switching to Globex.")
    found = kinds(text, GLOBEX)
    assert found["failed_support"] == ["called five times, no answer"]
    assert "Retweet this" in found["call_to_action"] and "#acmefail" in found["call_to_action"]
    assert found["boycott"] == ["never buy from"]
    assert found["threat_public"] == ["Going to the press"]
    assert found["threat_legal"] == ["lawyer"]
    assert found["reason_switching"] == ["Switching to Globex"]
    assert found["tag_competitor"] == ["Globex"]


def test_persian_saboteur_post_with_arabic_letters_and_zwnj() -> None:
    text = ("پشتیبانی ديجي‌كالا جواب نمیده، سه بار زنگ زدم. همه بازنشر کنید! دیگه از دیجی کالا نخرید. "
            "شکایت می‌کنم. خیلی گرونه و گوشی خراب شد.")
    found = kinds(text)
    assert found["failed_support"] == ["پشتیبانی ديجي‌كالا جواب نمیده", "سه بار زنگ"]
    assert found["call_to_action"] == ["همه بازنشر کنید"]
    assert found["boycott"] == ["دیگه از دیجی کالا نخرید"]
    assert found["threat_legal"] == ["شکایت"]
    assert found["reason_price"] == ["گرونه"]
    assert found["reason_product"] == ["خراب"]


def test_persian_boycott_and_competitor_tag() -> None:
    text = "این شرکت رو تحریم کنید، من از این به بعد از گلوبکس خرید می‌کنم"
    found = kinds(text, GLOBEX)
    assert found["boycott"] == ["تحریم"]
    assert found["tag_competitor"] == ["گلوبکس"]
    assert "reason_switching" in found


def test_offsets_are_into_the_original_text() -> None:
    text = "سلام. پشتیبانی   جواب نمی‌ده!"
    cue = extract_cues(text)[0]
    assert cue.kind == "failed_support"
    assert (cue.start, cue.end) == (6, len(text) - 1)
    assert cue.evidence == "پشتیبانی   جواب نمی‌ده"


def test_complaint_reasons_listed_once_in_order() -> None:
    cues = extract_cues("The battery stopped working and it was way overpriced. Also stopped working again.")
    assert complaint_reasons(cues) == ["product", "price"]


def test_praise_and_neutral_posts_fire_nothing() -> None:
    for text in (
        "I shared a photo of my new phone, great price and it works perfectly.",
        "Customer service was quick and friendly, thanks!",
        "این گوشی عالیه، قیمتش هم مناسبه. پیشنهاد می‌کنم بخرید.",
        "ارسال سریع بود و بسته‌بندی عالی",
        "I am going to the store later.",
        "The court scene in the movie was great.",
    ):
        assert extract_cues(text, GLOBEX) == [], text


def test_competitor_needs_configured_brand() -> None:
    assert "tag_competitor" not in kinds("Switching to Globex")
    assert kinds("thanks @globex_help for nothing", GLOBEX)["tag_competitor"] == ["@globex_help"]


def test_persian_positive_verbs_do_not_fire_failed_support_or_product() -> None:
    assert kinds("پشتیبانی سریع جواب میده و گوشی عالی کار می‌کنه") == {}


def test_persian_late_or_lost_delivery_in_the_forms_people_write() -> None:
    late = {
        "سفارشم هنوز نرسیده": "سفارشم هنوز نرسیده",  # my order still hasn't arrived
        "بسته من دو هفته است نرسیده، پولمو پس بدید": "بسته من دو هفته است نرسیده",  # two weeks, give my money back
        "پیک هنوز نیومده و کسی جواب نمیده": "پیک هنوز نیومده",  # the courier still hasn't come
        "مرسوله‌ام گم شده": "مرسوله\u200cام گم شده",  # my parcel got lost (with a ZWNJ)
    }
    assert_evidence("reason_service", late)
    assert complaint_reasons(extract_cues("سفارشم هنوز نرسیده")) == ["service"]
    # arrived, or will arrive: no complaint
    assert_silent(("سفارشم رسید، ممنون از پیک", "سفارش دادم و فردا می‌رسه", "بسته رو تحویل گرفتم، عالی بود"), ("reason_service",))


def test_outages_slow_service_and_billing_are_complaint_reasons() -> None:
    product = {  # the service itself fails: telecom customers' commonest complaints
        "اینترنتم سه روزه قطعه و هیچکس جواب نمیده": "اینترنتم سه روزه قطعه",  # internet cut for three days
        "قطعی اینترنت دیگه شورشو درآورده": "قطعی اینترنت",  # the internet outages are beyond a joke
        "سرعت اینترنت خیلی پایینه، پول الکی میدیم": "سرعت اینترنت خیلی پایینه",  # internet speed is very low
        "توی خونه آنتن نمیده": "آنتن نمیده",  # no signal at home
        "شارژ کردم ولی بسته فعال نشد": "بسته فعال نشد",  # topped up but the plan never activated
        "my internet has been down for 3 days": "internet has been down",
        "@Comcast outage again, third time this week": "outage",
        "internet is out again and support hung up on me": "internet is out",
        "the wifi keeps dropping every evening": "wifi keeps dropping",
        "no signal at home since the upgrade": "no signal",
        "internet is so slow I can't even load email": "internet is so slow",
    }
    assert_evidence("reason_product", product)
    price = {
        "پول از حسابم کم شد ولی شارژ نشد": "پول از حسابم کم شد ولی",  # money left my account, no top-up
        "they cancelled my flight and no refund": "no refund",
        "refund still not processed after a month": "refund still not processed",
        "charged me but the service never activated": "charged me but the service never",
        # refunds that never come, in the forms people write
        "هنوز پولم برنگشته": "پولم برنگشته",  # my money still hasn't come back
        "کالا رو مرجوع کردم ولی هنوز پولم رو برنگردوندن": "پولم رو برنگردوندن",  # returned it, no refund yet
        "وجه سفارش لغو شده هنوز واریز نشده": "وجه سفارش لغو شده هنوز واریز نشده",  # the cancelled order's money
        "پول رو از حسابم کم کردن ولی سفارش ثبت نشد": "پول رو از حسابم کم کردن ولی",  # they took it, no order
        "مبلغ دو بار از حسابم کسر شد": "دو بار از حسابم کسر شد",  # charged twice
        "still haven't received my refund": "haven't received my refund",
        "I haven't got my money back": "haven't got my money back",
        "where is my refund??": "where is my refund",
        "two weeks and still no money back": "still no money back",
    }
    assert_evidence("reason_price", price)
    assert_silent(("تصمیم قطعی را فردا اعلام می‌کنیم", "اینترنت پرسرعت جدید راه افتاد", "سرعت اینترنت عالیه",
                   "the new app is out now!", "sign out of the website before you leave", "we are down to earth people",
                   "I love the fast internet here", "no problem, thanks for the refund",
                   "پولم برگشت، ممنون", "مبلغ به حسابم واریز شد", "پول رو واریز کردم و سفارش ثبت شد", "دو بار خریدم و راضی بودم",
                   "refund received, thanks", "there is no money back guarantee", "did you get your refund?",
                   "I have not seen a refund policy this generous"), REASON_KINDS)


def test_delivery_mistakes_and_dying_batteries_are_complaint_reasons() -> None:
    service = {  # delivered on paper only, the wrong thing, or spoiled on the way
        "package marked as delivered but nothing at my door": "marked as delivered but",
        "tracking says delivered but I never got it": "says delivered but",
        "they sent me the wrong item": "sent me the wrong item",
        "wrong order again": "wrong order again",
        "my food arrived cold and missing the drink": "food arrived cold",
        "my food arrived missing the fries": "arrived missing the fries",
        "غذا سرد رسید": "غذا سرد رسید",  # the food arrived cold
        "سفارشم ناقص رسید": "سفارشم ناقص رسید",  # my order arrived incomplete
        "کالا رو اشتباه فرستادن": "اشتباه فرستادن",  # they sent the wrong goods
        "زده تحویل داده شده ولی به دستم نرسیده": "تحویل داده شده ولی به دستم نرسیده",  # says delivered, never reached me
    }
    assert_evidence("reason_service", service)
    product = {
        "my iPhone battery drains in 3 hours since the update": "battery drains",
        "battery dies by noon every day": "battery dies",
        "باتری گوشی زود خالی میشه": "باتری گوشی زود خالی",  # the phone's battery empties fast
    }
    assert_evidence("reason_product", product)
    assert_silent(("food arrived hot and fast, thanks", "the battery lasts two days", "my battery lasts all day",
                   "package was delivered, thanks!", "I placed the wrong order, my bad", "the new drink is missing from the menu?",
                   "سفارش کامل و سالم رسید", "غذا گرم و خوشمزه رسید", "بسته سالم تحویل شد"), REASON_KINDS)


def test_broken_things_are_product_reasons_but_records_bones_hearts_and_money_are_not() -> None:
    product = {  # a thing that broke, arrived broken, or is broken
        "@sepehrmobile broke my phone twice": "broke my phone",
        "this is the third charger that broke in two months": "charger that broke",
        "the TV's were broke on the whole flight": "TV's were broke",
        "my seat/armrest broken and no one came": "seat/armrest broken",
        "my PS4 controller came broken in the mail": "PS4 controller came broken",
        "Safari is broken again, please fix it": "is broken",
        "iPhone fell 2 ft and the screen shattered": "screen shattered",
        "got a cracked screen out of the box": "cracked screen",
        "گوشیم بعد از یک هفته شکست": "گوشیم بعد از یک هفته شکست",  # my phone broke after a week
        "کالا شکسته رسید": "کالا شکسته",  # the goods arrived broken
        "my car won't start since the recall fix": "won't start",
    }
    assert_evidence("reason_product", product)
    assert_silent(("Katy broke the record again!", "he broke his leg in the second half", "I'm broke until Friday lol",
                   "Cena wrestled with a broken nose", "my heart is broken, sold out again", "that video cracked me up",
                   "the record was broken by Bolt", "the law was broken", "the ice is broken",
                   "Kim may have broken the internet", "she broke the law", "news broke on Friday about the scandal",
                   "Kane didn't start tonight", "brainwashing doesn't work out well for them",
                   "political correctness has damaged everything", "going back to Milan tomorrow",
                   "the meeting changed to September", "nobody cares about the fight on Saturday",
                   "ما کرونا رو شکست میدیم",  # we will defeat corona
                   "بسته شکست کرونا رو فعال کنید",  # turn on the "defeat corona" bundle
                   "این مدل کمی گران‌تر از قبلی است",  # this model is a little more expensive than the last (a review)
                   "لنزهای گران قیمت لازم نیست",  # no need for expensive lenses
                   "سرعت بالا، کمتر از سه ساعت رسید",  # fast: it came in under three hours
                   "با اطمینان می‌خرم"))  # I buy it with confidence
    rises = {"قیمت گوشی خیلی گرون‌تر شده": "گرون‌تر شده", "so expensive now": "so expensive"}  # prices went up
    assert_evidence("reason_price", rises)
    assert kinds("switched to T-Mobile and never looked back").get("reason_switching") == ["switched to T"]
    assert kinds("went back to using Android").get("reason_switching") == ["went back to using Android"]


def test_persian_threats_and_boycotts_need_the_call_not_the_word() -> None:
    sabotage = ("boycott", "threat_public", "threat_legal")
    calls = {  # a boycott call or campaign, a threat to go public or to court
        "دیجی‌کالا رو تحریم کنید": ("boycott", "تحریم"),
        "همه تحریمش کنیم": ("boycott", "تحریمش"),
        "#تحریم_دیجی_کالا": ("boycott", "#تحریم_دیجی_کالا"),
        "کمپین تحریم اسنپ راه افتاده": ("boycott", "کمپین تحریم"),
        "اگه پولمو ندید رسانه‌ای می‌کنم": ("threat_public", "رسانه‌ای می‌کنم"),  # I'll make it public
        "به خبرنگارها می‌گم": ("threat_public", "به خبرنگارها می‌گم"),  # I'll tell the journalists
        "وکیل گرفتم": ("threat_legal", "وکیل گرفتم"),  # I've hired a lawyer
        "با وکیلم صحبت کردم": ("threat_legal", "با وکیلم"),
        "میرم دادگاه": ("threat_legal", "میرم دادگاه"),  # I'm going to court
        "ازتون شکایت می‌کنم": ("threat_legal", "شکایت"),
    }
    for text, (kind, evidence) in calls.items():
        assert_evidence(kind, {text: evidence})
    assert_silent(("آمریکا باید تحریم‌ها رو برداره",  # the sanctions should be lifted
                   "تلگرام رو رفع تحریم کن",  # lift the ban on Telegram
                   "این سایت برای ایران تحریمه",  # this site is sanctioned for Iran
                   "خدا وکیلی نت مخابرات خیلی کنده",  # honestly, the internet is slow
                   "همه رسانه‌ها میگن در خانه بمانیم",  # all the media say stay home
                   "روزنامه‌نگار حوزه نفت نوشته",  # an oil-industry journalist wrote
                   "صدای آقای افشار را دوست داشتم",  # a newsreader's name
                   "ما همیشه از سرعت شاکی بودیم",  # we were always upset about the speed
                   "دادگاه عالی اسپانیا رای داد"), sabotage)  # Spain's supreme court ruled


def test_english_legal_threats_are_the_authors_own_not_the_news() -> None:
    threats = {
        "fix it or I'm going to sue": "I'm going to sue",
        "I will sue you for this": "I will sue",
        "my lawyer will be in touch": "lawyer",
        "we're suing": "we're suing",
        "time to lawyer up": "lawyer up",
        "joining the class action": "class action",
        "I just filed a lawsuit": "I just filed a lawsuit",
        "expect a lawsuit @acme": "expect a lawsuit",
        "lawsuit incoming": "lawsuit incoming",
    }
    assert_evidence("threat_legal", threats)
    assert_silent(("Good morning Sue, see you Tuesday!", "Sue and I watched Gone Girl",
                   "Following the news of Kesha's lawsuit against her producer", "Lawyers argue the plea was his first",
                   "frat brothers sue the magazine", "Ace Attorney is out on Switch", "the city sued the company in May"),
                  ("threat_legal",))


def test_long_holds_strandings_and_lost_bags_in_the_words_customers_use() -> None:
    support = {
        "I've been on hold on the reservations line for an hour and 45 minutes": "been on hold on the reservations line for an",
        "I've been on a music hold for over a hour": "been on a music hold for over a",
        "spent 4 hours on hold in 24 hours": "4 hours on hold",
        "I did. Still haven't heard a thing.": "Still haven't heard a thing",
    }
    assert_evidence("failed_support", support)
    service = {
        "kids stranded in Orlando till Wednesday": "stranded in Orlando",
        "Day 2 stuck in the Taipei airport": "stuck in the Taipei airport",
        "been stuck in Dallas 2 days, will my flight leave?": "stuck in Dallas 2 days",
        "still sitting on the tarmac in Philadelphia": "sitting on the tarmac",
        "they lost my luggage from ATL to Denver": "lost my luggage",
        "my connection got delayed again": "delayed again",
        "one of the agents has been very rude": "agents has been very rude",
    }
    assert_evidence("reason_service", service)
    assert kinds("it'll be the last dollar you ever get from me").get("reason_switching") == ["the last dollar you ever get"]
    assert_silent(("that song has been stuck in my head all week", "stuck at work on a Saturday night", "stuck in traffic again",
                   "hold on, I'll call you back", "my luggage arrived right on time, thanks!", "on hold music is great",
                   "the last time I flew was 2019", "we leave for Orlando on Friday"))


def test_cutting_out_and_demands_to_fix_it_are_product_reasons() -> None:
    product = {
        "مخابرات مشهد دائما قطع و وصل میشه": "قطع و وصل میشه",  # it keeps cutting in and out
        "هر شب ساعت ده قطع میشه": "قطع میشه",  # it cuts out every night at ten
        "اینترنت همراه اصلا سرعت نداره": "سرعت نداره",  # the mobile internet has no speed at all
        "تورو خدا این وضع اینترنت رو درست کنید": "رو درست کنید",  # for God's sake fix this internet
        "@apple fix your apps": "fix your apps",
        "please fix the update, my phone is hot all day": "please fix the update",
    }
    assert_evidence("reason_product", product)
    assert_silent(("همه چیز درست شد، ممنون", "اینترنت وصل شد و سرعتش عالیه", "fix your hair before the party",
                   "they fixed the app, thanks"))


def test_persian_calls_to_share_are_calls_not_every_as_far_as_or_hand_out() -> None:
    calls = {
        "همه بازنشر کنید": "همه بازنشر کنید",  # everyone repost
        "لطفا این پست رو پخش کنید": "لطفا این پست رو پخش کنید",  # please spread this post
        "این ویدیو رو منتشر کنید تا همه ببینن": "این ویدیو رو منتشر کنید",  # publish this video so all see it
        "تا می‌تونید پخش کنید": "تا می‌تونید پخش",  # spread it as much as you can
    }
    assert_evidence("call_to_action", calls)
    assert_silent(("تا جایی که یادمه همیشه مشکل زانو داشتم",  # as far as I remember
                   "تا جایی که به فوکوس خودکار مربوط می‌شود",  # as far as autofocus goes
                   "اگه خواستید نذری پخش کنید بگید",  # if you want to hand out votive food, say so
                   "فیلم‌ها را روی تلویزیون پخش کنید",  # play the films on the TV
                   "عطر همه پسند پخش بوی خوبی داره"),  # a crowd-pleasing perfume (پخش: its sillage)
                  ("call_to_action",))


def test_persian_nobody_answers_in_its_everyday_forms() -> None:
    assert_evidence("failed_support", {
        "هیچکس جواب نداد": "هیچکس جواب نداد",  # nobody answered
        "هیشکی رسیدگی نمی‌کنه": "هیشکی رسیدگی نمی‌کنه",  # nobody looks into it
        "آقای وزیر چرا جواب نمیدید؟": "جواب نمیدید",  # minister, why don't you answer?
        "مخابرات اصلا جواب نمیدن": "جواب نمیدن",  # the telecom doesn't answer at all
    })
    assert_silent(("جواب دادن و مشکل حل شد", "همه جواب دادن، ممنون", "پشتیبانی سریع پاسخ داد"), ("failed_support",))


def test_the_boycott_word_before_an_own_brand_is_a_boycott() -> None:
    digikala = [Competitor("digikala", 'digikala OR "دیجی کالا" OR دیجیکالا')]

    def boycotts(text: str) -> list[str]:
        return [c.evidence for c in extract_cues(text, (), digikala) if c.kind == "boycott"]

    assert boycotts("تحریم دیجی‌کالا تا وقتی پول مردم رو پس نده") == ["تحریم دیجی‌کالا"]
    assert boycotts("تحریم کالاهای دیجیکالا") == ["تحریم کالاهای دیجیکالا"]  # one word between
    assert boycotts("دیجی‌کالا رو تحریم کنید") == ["تحریم"]  # the call: one cue, not two
    assert boycotts("آمریکا تحریم رو برداره، دیجی کالا هم گرونه") == []  # the sanctions, the brand far off
    assert boycotts("تحریم اسنپ") == []  # not one of the brands given


def test_calls_to_make_it_trend() -> None:
    assert_evidence("call_to_action", {
        "let's get #DigikalaScam trending": "let's get #DigikalaScam trending",
        "همه با هشتگ دیجی_کالا_پاسخگو_باش ترندش کنید": "هشتگ دیجی_کالا_پاسخگو_باش ترندش کنید",  # everyone make it trend with the hashtag
        "یه هشتگ براش بزنیم": "هشتگ براش بزنیم",  # let's start a hashtag for it
    })
    assert_silent(("this song is trending everywhere", "the trend is up this quarter", "هشتگ جالبی بود"), ("call_to_action",))


def test_calls_to_delete_the_app_are_boycotts() -> None:
    assert_evidence("boycott", {
        "#DeleteDigikala trending for a reason": "#DeleteDigikala",
        "everyone delete their app today": "delete their app",
        "همه اپلیکیشنش رو پاک کنید": "اپلیکیشنش رو پاک کنید",  # everyone delete its app
    })
    assert_silent(("how do I delete the cache?", "I deleted a photo by mistake", "اپ جدید رو نصب کنید"), ("boycott",))


def test_telling_everyone_is_a_threat_only_about_the_bad_experience() -> None:
    assert_evidence("threat_public", {
        "I will make sure to tell everyone I know about this horrible experience": "tell everyone I know about this",
        "will be telling everyone never to use you": "telling everyone never to",
        "warning all my friends": "warning all my friends",
    })
    assert_silent(("tell everyone I say hi!", "I always tell everyone to fly with you, congrats!",
                   "tell everyone that wants to join we start Sunday"), ("threat_public",))


# Words and pieces that start, end or sit inside the cue patterns, so generated texts hit word starts,
# mid-word starts ("unbroken", "xsue", "_broke") and overlaps between patterns.
PIECES = st.sampled_from(["broke", "un", "my", "phone", "is", "broken", "sue", "x", "_", "I'll", "on hold for", "2 hours",
                          "تحریم", "ش", "کنید", "گوشی", "شکست", "قطع", "میشه", "رو", "درست", "کن", " ", "  ", "!", "#",
                          "fail", "retweet this", "never buy from", "۱۲", "went back to using", "android", "stuck in",
                          "the airport", "جواب", "نمیدن", "هیچکس", "نداد"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=14).map(" ".join), st.lists(PIECES, min_size=1, max_size=14).map("".join))
def test_word_start_search_finds_what_a_word_start_lookbehind_finds(spaced: str, glued: str) -> None:
    for text in (normalize_for_match(spaced), normalize_for_match(glued)):
        for kind, pattern in _compiled().items():
            reference = re.compile("|".join(f"{_B}(?:{p}){_E}" for p in _PATTERNS[kind]))
            assert [m.span() for m in _word_start_matches(pattern, text)] == [m.span() for m in reference.finditer(text)], (kind, text)
