"""The demo story's content (docs/demo-story.md), as data that depends on the step.

Step 0 is the DemoWeb's ``now``; every step is 15 simulated minutes later. Posts have a
creation offset (minutes before step 0, or the step they appear at) and engagement that
grows with the step. Renderers in this package turn it into each platform's format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

STEP = timedelta(minutes=15)


def grow(values: list[int]) -> Callable[[int], int]:
    """Engagement by step: the list's value, then the last value growing 30% a step."""
    def at(step: int) -> int:
        if step < len(values):
            return values[step]
        return int(values[-1] * (1.3 ** (step - len(values) + 1)))
    return at


def flat(value: int) -> Callable[[int], int]:
    return lambda step: value


@dataclass(frozen=True)
class Post:
    id: str
    author: str  # handle
    body: str  # HTML for forums/reviews/mastodon, text for telegram
    minutes_before: int = 0  # age at step 0 (ignored when appears_at > 0)
    appears_at: int = 0  # first step the post exists
    likes: Callable[[int], int] = flat(0)
    shares: Callable[[int], int] = flat(0)
    replies: Callable[[int], int] = flat(0)
    rating: int | None = None  # review stars
    display_time: str | None = None  # fixed shown time (the Jalali review)
    malformed: bool = False  # rendered without its body

    def created(self, now0: datetime) -> datetime:
        if self.appears_at > 0:
            return now0 + self.appears_at * STEP - timedelta(minutes=3 + int(self.id[-2:] or 0) % 10)
        return now0 - timedelta(minutes=self.minutes_before)


@dataclass(frozen=True)
class Thread:
    id: int
    title: str
    lang: str
    posts: tuple[Post, ...] = field(default_factory=tuple)
    private: bool = False

    def visible_posts(self, step: int) -> list[Post]:
        return [p for p in self.posts if p.appears_at <= step]


MINA_FA = (
    "<p>گوشیم رو برای تعویض صفحه دادم به تعمیرات <b>سپهر موبایل</b> و دوباره خراب تحویلم دادن. "
    "این دومین باره! پنج بار به پشتیبانی زنگ زدم و هیچ‌کس جواب نداد. شماره تیکت T-881 هنوز باز مونده.</p>"
    "<p>همه بازنشر کنید تا بقیه گول نخورن. دیگه از سپهر موبایل خرید نمی‌کنم و میرم سراغ آریانت. #سپهر_موبایل</p>"
)
_ANGRY_FA = [
    "منم همین مشکل رو با تعمیرات داشتم، واقعا افتضاحه!",
    "بازنشر کردم. این رفتار با مشتری قابل قبول نیست.",
    "پشتیبانیشون هیچ وقت جواب نمیده، حق با توئه.",
    "منم دیگه ازشون خرید نمی‌کنم. همه باید بدونن.",
    "تیکت منم سه هفته بی جواب موند. خجالت بکشن!",
    "لطفا به همه بگید، این بار دوم نیست که اتفاق میفته.",
    "من برای خانواده‌ام هم اینو فرستادم. بازنشر!",
    "چرا هیچ مسئولی جواب نمیده؟ واقعا عصبانی‌ام.",
    "باید شکایت کنیم، این درست نیست.",
]
_REPLY_STEPS = [0, 1, 1, 2, 2, 2, 3, 3, 3]

FORUM_THREADS: tuple[Thread, ...] = (
    Thread(101, "سپهر موبایل گوشیم رو دوبار خراب کرد — همه بازنشر کنید", "fa", (
        Post("p10100", "mina_r", MINA_FA, minutes_before=50, likes=grow([4, 15, 42, 96])),
        *(Post(f"p101{i + 1:02d}", f"user{i + 11}", f"<p>{text}</p>", minutes_before=40 - i * 5 if _REPLY_STEPS[i] == 0 else 0,
               appears_at=_REPLY_STEPS[i], likes=grow([i % 3, i % 3 + 2])) for i, text in enumerate(_ANGRY_FA)),
    )),
    Thread(102, "Great experience with Sepehr Mobile", "en", (
        Post("p10200", "pixel_fan", "<p>Bought a Galaxy from <b>Sepehr Mobile</b> last week. Delivery was next day and "
             "the phone was sealed. Very happy, would recommend.</p>", minutes_before=300, likes=flat(7)),
        Post("p10201", "techdad", "<p>Same here, good prices and friendly staff.</p>", minutes_before=240, likes=flat(2)),
    )),
    Thread(103, "Birthday gift ideas for my friend Sepehr?", "en", (
        Post("p10300", "gift_guru", "<p>My friend Sepehr turns 30 next week. He loves astronomy and the sky. "
             "Any gift ideas under $50?</p>", minutes_before=200),
        Post("p10301", "starry", "<p>A small telescope! Sepehr will love it.</p>", minutes_before=150),
    )),
    Thread(104, "باتری گوشی خریداری‌شده از سپهر موبایل", "fa", (
        Post("p10400", "sara_a", "<p>دو هفته پیش از سپهر موبایل گوشی خریدم و باتری‌اش زود خالی میشه. "
             "تیکت زدم، امیدوارم پیگیری کنند.</p>", minutes_before=1500, likes=flat(3)),
    )),
    Thread(105, "تجربه خوب از سپهرموبایل", "fa", (
        Post("p10500", "ali_t", "<p>از سپهرموبایل لپ‌تاپ خریدم، ارسال سریع بود و بسته‌بندی عالی. ممنون.</p>",
             minutes_before=700, likes=flat(5)),
    )),
    Thread(106, "Sepehr Mobile store hours?", "en", (
        Post("p10600", "newbie42", "<p>Does anyone know when the Sepehr Mobile store on Valiasr opens on Fridays?</p>",
             minutes_before=400),
        Post("p10601", "broken_client", "", minutes_before=380, malformed=True),
        Post("p10602", "local_guide", "<p>They open at 10am on Fridays.</p>", minutes_before=360),
    )),
    Thread(107, "سپهر آبی امروز", "fa", (
        Post("p10700", "nature_lover", "<p>امروز سپهر آبی تهران بعد از باران خیلی زیبا بود. عکس‌هاتون رو بفرستید.</p>",
             minutes_before=120),
    )),
    Thread(108, "Arianet vs Sepehr Mobile prices", "en", (
        Post("p10800", "bargain_hunter", "<p>Compared Arianet and Sepehr Mobile for the new iPhone: Arianet was 3% "
             "cheaper but Sepehr Mobile had better warranty.</p>", minutes_before=900, likes=flat(4)),
    )),
    Thread(900, "Sepehr Mobile staff notes (members only)", "en", (
        Post("p90000", "moderator", "<p>Internal: Sepehr Mobile moderation notes.</p>", minutes_before=100),
    ), private=True),
)

REVIEWS: tuple[Post, ...] = (
    Post("r1", "happy_buyer", "Fast delivery from Sepehr Mobile, phone works perfectly.", minutes_before=2 * 1440, rating=5),
    Post("r2", "reza_k", "از خرید از سپهر موبایل راضی بودم، فقط ارسال کمی طول کشید.", rating=4, display_time="۱۴۰۳/۰۸/۱۲"),
    Post("r3", "calm_critic", "Sepehr Mobile's repair took three weeks. Staff were polite but slow. "
         "Not great, not terrible.", minutes_before=5 * 1440, rating=2),
    Post("r4", "maryam_s", "قیمت‌های سپهر موبایل مناسبه ولی پشتیبانی تلفنی کند است.", minutes_before=3 * 1440, rating=3),
    Post("r5", "gadget_guy", "Great selection at Sepehr Mobile, I keep coming back.", minutes_before=9 * 1440, rating=5),
    Post("r6", "one_star_omid", "Sepehr Mobile sent the wrong colour and the exchange took a week.", minutes_before=12 * 1440, rating=1),
)

NEWS: tuple[tuple[str, str, str, int | None], ...] = (
    # (slug, title, summary, minutes_before or None for the malformed entry without link/date)
    ("sepehr-new-store", "Sepehr Mobile opens a new store in Tehran",
     "Online phone retailer Sepehr Mobile opened its first physical store on Valiasr Street on Monday.", 300),
    ("sepehr-new-store-fa", "سپهر موبایل شعبه جدید افتتاح کرد",
     "فروشگاه اینترنتی سپهر موبایل نخستین شعبه حضوری خود را در خیابان ولیعصر افتتاح کرد.", 280),
    ("arianet-5g", "Arianet announces 5G plans", "Arianet says its 5G service will launch in three cities next year.", 600),
    ("clear-skies", "آسمان صاف آخر هفته", "پیش‌بینی هواشناسی: سپهر آبی و هوای پاک در تهران تا پایان هفته.", 200),
    ("broken", "Sepehr Mobile quarterly results", "An entry published without a link or a date.", None),
)

MINA_STATUS = (
    '<p><span class="h-card"><a href="{base}/@sepehrmobile" class="u-url mention">@<span>sepehrmobile</span></a></span> '
    "broke my phone twice and support ignores me (ticket T-881). Boost this, everyone — never buy from Sepehr Mobile! "
    '<a href="{base}/tags/sepehrfail" class="mention hashtag" rel="tag">#<span>sepehrfail</span></a></p>'
)
COPY_TEXT = (
    'Boost this! Sepehr Mobile broke <span class="h-card"><a href="{base}/@mina_r" class="u-url mention">@<span>mina_r</span></a></span>\'s '
    "phone twice and ignores her. Never buy from Sepehr Mobile "
    '<a href="{base}/tags/sepehrfail" class="mention hashtag" rel="tag">#<span>sepehrfail</span></a>{suffix}'
)
COPY_SUFFIXES = ["", "!", " 😡", "!!", " — share it", "", " #boycott", "!", "", " 🙄"]
COPY_AUTHORS = [
    "amir_h", "neda_88", "kaveh_t", "roya_m", "babak_sh", "leila_k", "farid_n", "shirin_p", "arash_d", "nazanin_z",
    "pouya_r", "mahsa_j", "behnam_g", "yasmin_a", "hamed_f", "taraneh_b", "saeed_v", "parisa_l", "omid_c", "golnaz_e",
]
MINA_REPLIES = [
    "This is outrageous. Boosted.", "Same thing happened to me with their repair service!", "@sepehrmobile answer her!",
    "Never buying from them again.", "Shared with my family group.", "How is ticket T-881 still open??",
    "They ignored my emails too.", "Boosting for visibility.", "Unacceptable customer service.",
]
MINA_COUNTS = {"reblogs": grow([5, 40, 180, 500]), "favourites": grow([8, 60, 240, 700]), "replies": grow([1, 3, 6, 9])}

# Other Mastodon statuses: (id suffix, handle, html, minutes_before, tag, favourites, reblogs)
MASTODON_OTHERS: tuple[tuple[str, str, str, int, str, int, int], ...] = (
    ("201", "sepehrmobile", "<p>Our new Valiasr store is open! Come and say hi. #sepehrmobile</p>", 320, "sepehrmobile", 30, 6),
    ("202", "reza_k", "<p>Picked up my new phone from Sepehr Mobile today, smooth as always. #sepehrmobile</p>", 260, "sepehrmobile", 4, 0),
    ("203", "shahrzad", "<p>خرید از سپهر موبایل خیلی راحت بود #sepehrmobile</p>", 230, "sepehrmobile", 2, 0),
    ("204", "curious_cat", "<p>Does Sepehr Mobile ship to Shiraz? #sepehrmobile</p>", 210, "sepehrmobile", 0, 0),
    ("205", "sepehrmobile", "<p>Weekend sale: 10% off accessories. #sepehrmobile</p>", 2000, "sepehrmobile", 12, 3),
    ("206", "old_timer", "<p>Throwback: my first phone from Sepehr Mobile in 2019. #sepehrmobile</p>", 2500, "sepehrmobile", 1, 0),
    ("207", "proud_aunt", "<p>Happy birthday to my little nephew Sepehr! 🎂 He is 7 today.</p>", 100, "", 3, 0),
)
BROKEN_TIMELINE_PAGE = 2  # page 2 of #sepehrmobile is served as invalid JSON (a malformed page)
DEMO_MASTODON_TOKEN = "demo-token"  # the demo instance's public test token (not a secret)

TELEGRAM_OWN = "sepehrmobile"
TELEGRAM_CHAT = "mobile_chat_ir"
# (message id, text, minutes_before, views at step 0, appears_at, forwarded_from)
TELEGRAM_MESSAGES: dict[str, tuple[tuple[int, str, int, int, int, str | None], ...]] = {
    TELEGRAM_OWN: (
        (41, "🎉 شعبه جدید سپهر موبایل در خیابان ولیعصر افتتاح شد.", 330, 5400, 0, None),
        (40, "Weekend sale: 10% off all accessories.", 2000, 8100, 0, None),
        (39, "ساعات کاری پشتیبانی: شنبه تا پنجشنبه ۹ تا ۱۸", 3000, 6900, 0, None),
        (38, "New arrivals: Galaxy S and iPhone models in stock.", 4500, 7200, 0, None),
        (37, "ارسال رایگان برای خریدهای بالای ۵ میلیون تومان", 6000, 9100, 0, None),
        (36, "Repair service now offers free pickup in Tehran.", 8000, 6400, 0, None),
        (35, "تخفیف ویژه یلدا در راه است!", 11000, 5000, 0, None),
    ),
    TELEGRAM_CHAT: (
        (520, "کسی از آریانت سیم‌کارت گرفته؟ کیفیت اینترنتش چطوره؟", 90, 800, 0, None),
        (521, "سپهر آبی امشب پر از ستاره‌ست ✨", 60, 650, 0, None),
        (522, "Boost this! Sepehr Mobile broke @mina_r's phone twice and ignores her. Never buy from Sepehr Mobile #sepehrfail",
         0, 300, 2, "amir_h"),
        (523, "Boost this! Sepehr Mobile broke @mina_r's phone twice and ignores her. Never buy from Sepehr Mobile #sepehrfail!",
         0, 220, 3, "neda_88"),
        (524, "همه بازنشر کنید: سپهر موبایل گوشی مینا رو دوبار خراب کرد و جواب نمیده #sepehrfail", 0, 180, 3, None),
    ),
}
