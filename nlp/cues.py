"""Sabotage cues and complaint reasons in English and Persian, each with its evidence span.

Patterns run over ``core.textnorm.normalize_for_match_with_offsets(text)`` — lower case,
Arabic ي/ك folded to Persian ی/ک, ZWNJ as a space, Persian digits as ASCII — so one pattern
covers the spellings people actually type; the reported ``start``/``end`` are offsets into
the ORIGINAL ``Mention.text`` and ``evidence`` is the original text there.

Complaint-reason patterns describe a *problem* ("too expensive", "stopped working",
"گرون", "خراب شد"), not a topic ("price", "battery"), so praise does not produce reasons.
"Broke", "broken", "cracked", "damaged" count only of a thing ("my charger broke", "arrived
broken", "گوشیم شکست"): on tweets of every topic they were mostly records, bones, hearts, laws
and money ("I'm broke"), and "شکست" mostly "defeat" ("شکست کرونا"); a review's comparisons
("کمی گران‌تر", "گران قیمت") are not price complaints, a rise is ("گرون‌تر شده").
Persian threat and boycott words need the act, not the word: "تحریم" is mostly the sanctions
("تحریم ها", "رفع تحریم"), a boycott only as a call ("تحریمش کنید") or a campaign
("#تحریم_…", "کمپین تحریم") or right before one of the user's own brands ("تحریم دیجی‌کالا",
``extract_cues(..., brands=...)``); the media, a lawyer or a court only as the author's threat ("رسانه‌ای
می‌کنم", "وکیل گرفتم", "میرم دادگاه"), never "خدا وکیلی" ("honestly") or "شاکی" ("upset").
Late, lost or never-arrived deliveries ("سفارشم هنوز نرسیده"), parcels marked delivered that
never came, wrong items, food that came cold ("غذا سرد رسید") are *service* reasons; outages, no
signal, crawling speeds, a plan that never activated ("اینترنتم سه روزه قطعه", "internet is
down") and dying batteries are *product* reasons — for a telecom the service is the product;
money taken for nothing and refunds that never come ("هنوز پولم برنگشته") are *price* reasons.
Competitor tags come from the configured brands with ``competitor: true`` (brand query
language, ``core.query``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Iterator, Sequence

from core.domain import Cue
from core.query import Handle, Hashtag, Phrase, Term, matches, parse_query, positive_terms
from core.textnorm import normalize_for_match, normalize_for_match_with_offsets

SABOTAGE_KINDS = ("call_to_action", "boycott", "threat_public", "threat_legal", "tag_competitor", "failed_support")
REASON_KINDS = ("reason_service", "reason_product", "reason_price", "reason_switching")

_B = r"(?<![\w])"  # word start (works for Persian letters too)
_E = r"(?![\w])"  # word end
_WORD_CHAR = re.compile(r"\w")  # what ``_B`` looks behind for; ``_word_start_matches`` checks it
_MI = r"(?:می ?|می)"  # Persian present-tense prefix, written with or without a (half-)space

# Things that break: "broke", "cracked", "damaged" count as a product problem only next to one of these.
_THINGS = (r"phone|iphone|ipad|ipod|laptop|computer|pc|mac|macbook|tablet|tv|screen|display|charger|cable|cord|"
           r"controller|console|xbox|ps4|ps5|headphones?|earbuds|airpods|camera|lens|printer|router|modem|remote|"
           r"keyboard|mouse|watch|speaker|app|site|website|link|page|update|software|button|zip|zipper|seal|box|"
           r"package|parcel|item|product|order|glass|bottle|car|bike|washer|dryer|fridge|dishwasher|microwave|"
           r"oven|heater|toilet|shower|elevator|machine|device|unit|part|battery|case|strap|bag|suitcase|luggage|"
           r"wheel|tire|seat|armrest|door|window|lock|handle|lid|furniture|chair|table|bed|sofa|couch|curtains|delivery|"
           r"plane|aircraft|gangway|wifi|wi-fi|driver|browser")
_THINGS_FA = (r"گوشی|موبایل|صفحه|شیشه|ال ?سی ?دی|نمایشگر|مانیتور|قاب|بدنه|لنز|دسته|لپ ?تاپ|تبلت|تلویزیون|کالا|جنس|"
              r"بسته|مرسوله|ظرف|لیوان|پایه|درب|لولا|صندلی|میز")

_PATTERNS: dict[str, list[str]] = {
    "call_to_action": [
        r"(?:please |pls |everyone |everybody )?(?:retweet|rt|share|boost|repost|reblog|forward)(?: and (?:retweet|rt|share|boost|repost))? (?:this|it|my post|this post|this thread)",
        r"spread (?:the word|this|it)",
        r"(?:make|let) (?:this|it) go viral",
        r"(?:everyone|everybody|all of you),? (?:tag|share|retweet|tweet at|call)",
        r"(?:let|make sure) everyone knows?",
        r"#\w+fail",
        r"(?:make|get|let'?s get|keep) (?:#?\w+ |this |it )?trend(?:ing)?",  # "let's get #X trending"
        r"(?:ترند|هشتگ)\S* (?:\S+ ){0,2}(?:کنید|کنیم|کنین|بزنید|بزنیم|بزنین|کن)",  # "ترندش کنید", "هشتگ بزنیم"
        r"(?:همه|همگی|لطفا|دوستان) ?(?:\S+ ){0,3}(?:(?:باز ?نشر|ری ?توییت|ریتویت|پخش|منتشر|شیر) (?:کنید|کنین|بدید|بدین|کن)"
        r"|به اشتراک بذارید|به اشتراک بگذارید)",
        r"(?:باز ?نشر|ری ?توییت|ریتویت|دست به دست|شیر) (?:کنید|کنین|بدید|بدین|کن)",
        # "پخش/منتشر کنید" alone is also "play a film", "hand out food": a call only of this post
        r"(?:اینو|این رو|این را|اینا رو|این پست|این خبر|این مطلب|این ویدیو|این ویدئو|این کلیپ|این فیلم|این عکس)\S* (?:\S+ ){0,3}"
        r"(?:پخش|منتشر) (?:کنید|کنین|بدید|بدین|کن)",
        r"صدا(?:مون|ی ما) ?(?:رو|را)? (?:برسونید|برسانید)",
        r"تا (?:جایی که )?(?:می ?تونید|می ?توانید|می ?شه|میشه) (?:\S+ ){0,2}(?:پخش|منتشر|بازنشر|شیر|ریتوییت|به اشتراک)\S*",
    ],
    "boycott": [
        r"boycott\w*",
        r"never (?:again )?(?:buy|buying|shop|shopping|order|ordering|fly|flying|use|using) (?:from|with|at|again|their|anything)",
        r"(?:do not|don'?t|dont) (?:ever )?(?:buy|shop|order|fly) (?:from|with|at|their|anything)",
        r"stop (?:buying|using|ordering) (?:from )?",
        # "#DeleteUber", "everyone delete their app", "اپشو پاک کنید"
        r"#delete\w+",
        r"(?:delete|uninstall) (?:the|their|this|that) (?:\w+ )?app",
        r"(?:اپ|اپلیکیشن|برنامه|اکانت)\S* (?:\S+ ){0,2}(?:رو |را )?(?:پاک|حذف|دیلیت) (?:کنید|کنین|کنیم)",
        # "تحریم" is mostly the sanctions ("تحریم ها", "رفع تحریم"): a boycott only as a call or a campaign
        r"(?<!رفع )تحریم(?:ش|شون|شان|شو|شونو|شان را)?(?= (?:کنید|کنین|کنیم|کن|کنن|کنند|بکنید|بکنیم|می ?کنیم|می ?کنم|می ?کنن|می ?کنند|کردم|کردیم|کردن|کردند|بشه|بشن|شه|شن)(?![\w]))",
        r"#تحریم_\S+",
        r"کمپین (?:\S+ )?تحریم\S*",
        r"تحریم (?:خرید|محصولات|اجناس) (?:\S+ )?(?:از )?\S+",
        r"(?:دیگه|دیگر|هرگز|اصلا|هیچ ?وقت|هیچکس) (?:\S+ ){0,3}(?:نخرید|نخرین|نخرید|نخرم|نخره|خرید نکنید|خرید نکنین|سفارش ندید|سفارش ندین|" + _MI + r"خرم|خرید " + _MI + r"کنم)",
        r"(?:نخرید|نخرین|خرید نکنید|خرید نکنین)" + _E,
    ],
    "threat_public": [
        r"(?:go|going|gonna|will go|take this|taking this|went) to the (?:press|media|news|papers|newspapers|journalists?)",
        r"(?:contact|contacting|tell|telling|call|calling) (?:the )?(?:press|media|journalists?|news)",
        # telling everyone about it, not "tell everyone I say hi" or "I always tell everyone to fly you"
        r"(?:tell|telling) (?:everyone|everybody|all my (?:friends|followers|family))(?: i know| i meet| i see)? "
        r"(?:about (?:this|it|you|your|how|what)|never to|not to|to (?:avoid|stay away|never)|how (?:bad|terrible|awful))",
        r"(?:warn|warning) (?:everyone|everybody|others|people|all my (?:friends|followers|family))",
        r"expose (?:you|them|this company)",
        # the media only as a threat: "رسانه‌ای می‌کنم" (I'll make it public), "به خبرنگارها می‌گم", "برای روزنامه می‌فرستم"
        r"رسانه ای (?:می ?کنم|می ?کنیم|کنید|کنیم|کنین|کنم|کردم|کردیم|میشه|می ?شه|بشه|خواهم کرد|خواهیم کرد)",
        r"(?:به|برای) (?:همه )?(?:رسانه|خبرگزاری|روزنامه|خبرنگار|صدا ?و ?سیما)\S* (?:\S+ ){0,3}"
        r"(?:می ?(?:گم|گیم|گویم|دم|دیم|دهم|فرستم|فرستیم|رسونم|رسونیم|برم|بریم)|گفتم|دادم|فرستادم|بگم|بگیم|بفرستم|بفرستیم|اطلاع)\S*",
        r"(?:می ?فرستم|می ?فرستیم|بفرستم|بفرستیم|می ?دم|میدیم) (?:\S+ ){0,2}(?:به|برای) (?:رسانه|خبرگزاری|روزنامه|خبرنگار)\S*",
        r"(?:به|برای) (?:همه|همه ی|همه دوستام|دوستام|فالوور)\S* " + _MI + r"(?:گم|گویم|گیم)",
        r"آبرو(?:تون|شون|ی شما|ی شرکت) ?(?:رو|را)? " + _MI + r"(?:برم|بریم)",
        r"افشا(?:ش|شون|گری)? (?:می ?کنم|می ?کنیم|کنم|کنیم|کنید|خواهم کرد|خواهیم کرد)",
    ],
    "threat_legal": [
        # the author's own case, not a lawsuit in the news or a woman called Sue
        r"(?:i'?ll|i will|i'?m gonna|gonna|going to|i'?m going to|we'?ll|we will|about to|ready to|i could|we could|"
        r"i should|we should|i can|we can|i'?d) sue",
        r"sue (?:you|u|them|your|their|this company|the company|the store)",
        r"(?:i'?m|we'?re|i am|we are) (?:\w+ )?suing",
        r"(?:i|we) (?:have |just |already )?(?:sued|filed (?:a )?(?:\w+ )?(?:lawsuit|complaint))",
        r"(?:(?<=my )|(?<=our )|(?<=a ))(?:lawyers?|attorneys?)",
        r"lawyer(?:ing|ed)? up",
        r"(?:expect|expecting|facing|get ready for|you'?ll get|you will get|hello) (?:a |my )?lawsuits?|lawsuits? (?:incoming|is coming|coming your way)",
        r"(?:class action|legal action|small claims)",
        r"(?:take|taking) (?:you|them|this|it) to court",
        r"see you in court",
        r"(?:report|reporting) (?:you|them|this) to (?:the )?(?:bbb|ftc|authorities|police|regulator)",
        # not "شاکی" (colloquially "upset"), "خدا وکیلی" ("honestly"), a court in the news: the author's own case
        r"(?:شکایت|دادسرا|تعزیرات|اقدام قانونی|پیگیری قانونی)\w*",
        r"وکیل(?:م|مون|مان)(?![\w])|(?:با|از طریق|توسط) وکیل\S*",
        r"(?<!خدا )(?<!خدا)(?<!الله )وکیل (?:\S+ )?(?:گرفتم|گرفتیم|می ?گیرم|می ?گیریم|بگیرم|بگیریم)",
        r"(?:به|تا|تو) دادگاه (?:\S+ ){0,2}(?:می ?کش|بکش|می ?بر|ببر|می ?رم|میریم|شکایت)\S*",
        r"(?:می ?رم|میریم|می ?رویم|برم|بریم|کارمون به|کارتون به|کار به) (?:به )?دادگاه\S*",
        r"(?:سازمان )?حمایت از (?:حقوق )?مصرف ?کننده",
    ],
    "failed_support": [
        r"(?:called|emailed|messaged|contacted|dm'?d|wrote to|tweeted) (?:you |them |support |customer service )?(?:\w+ ){0,2}(?:times|x|again)\W+(?:\w+ ){0,4}(?:no (?:answer|response|reply|one)|nothing|never|still)",
        r"(?:no|never (?:got|get) an?) (?:answer|response|reply) (?:from|to) (?:support|customer service|you|them|my)",
        r"(?:nobody|no one|noone) (?:answers|answered|responds|responded|replies|replied|helps|helped|picks up)",
        r"(?:still|been) waiting (?:for|on) (?:a |an |my )?(?:reply|response|answer|refund|callback|call back)",
        r"on hold for (?:\d+|an?|over|hours|ages)",
        # "been on hold on the reservations line for an hour", "4 hours on hold", "on a music hold for over an hour"
        r"(?:been|sat|sitting|waited|waiting|spent|was|were) (?:\w+ ){0,2}on (?:a )?(?:music )?hold (?:\w+ ){0,5}"
        r"(?:for|over) (?:\d+|an?|over|hours|ages|forever)",
        r"(?:\d+(?:\.\d+)?|two|three|four|five|an?) (?:hours?|hrs?|minutes?|mins?) on hold",
        r"still (?:haven'?t|have not|hasn'?t|no|not) (?:heard|gotten|got|received)? ?(?:a thing|anything|back|a (?:reply|response|word|call))",
        r"ticket (?:\S+ ){0,4}(?:unresolved|still open|ignored|closed without|no (?:answer|response|reply))",
        r"(?:support|customer service) (?:never|doesn'?t|does not|didn'?t|did not|won'?t|will not) (?:answer|respond|reply|help|call)",
        r"پشتیبانی (?:\S+ ){0,2}(?:جواب|پاسخ) (?:نمی ?(?:ده|دن|دهد|دهند)|نداد|ندادن|نداده|ندادند)",
        r"(?:جواب|پاسخ) ?گو نیست\w*",
        r"(?:\d+|دو|سه|چهار|پنج|شش|ده|چند|بارها|چندین) (?:بار|دفعه|مرتبه) (?:\S+ ){0,2}(?:زنگ|تماس|ایمیل|پیام|تیکت|پیگیری)",
        r"هیچ (?:جوابی|پاسخی|خبری|کس جواب)",
        r"(?:کسی|هیچ ?کس|هیشکی|هیچکی) (?:\S+ ){0,2}(?:جواب|پاسخ|رسیدگی) (?:نمی ?(?:ده|دهد|کنه|کند)|نداد|نکرد)",
        # "they / you don't answer" (of a company, an operator or an official)
        r"(?:جواب|پاسخ) ?(?:گو )?(?:نمی ?(?:دن|دهند|دید|دین|دهید)|ندادن|ندادند|ندادید|ندادین)",
        r"تیکت (?:\S+ ){0,3}(?:بی جواب|بی پاسخ|بسته شد|بدون پاسخ|هنوز باز)",
        r"پیگیری (?:\S+ ){0,3}(?:فایده|نتیجه) ?(?:ای)? نداشت",
    ],
    "reason_service": [
        r"(?:customer service|customer support|support team|staff|agent|employee|operator)s? (?:\w+ ){0,3}(?:rude|useless|unhelpful|terrible|awful|horrible|incompetent|ignored?)",
        r"(?:rude|unhelpful|useless|terrible|awful|horrible|incompetent) (?:customer service|support|staff|agents?|employees?)",
        r"(?:late|delayed|missing|lost) (?:delivery|package|order|shipment|parcel|flight|baggage|luggage|bags?|suitcase)",
        r"(?:lost|losing|misplaced) (?:my|our|the) (?:\w+ )?(?:luggage|baggage|bags?|suitcase|package|parcel|order|delivery)",
        # stuck on the way: stranded, sat on the tarmac, delayed again
        r"stranded (?:in|at|on) \w+",
        r"stuck (?:in|at|on) (?:the )?(?:\w+ )?(?:airport|gate|terminal|tarmac|runway|plane|lounge|customs|security)",
        r"stuck (?:in|at) \w+ (?:for (?:\d+|hours|days|two|three)|since|overnight|(?:\d+|two|three) (?:hours|hrs|days)|all (?:day|night))",
        r"(?:sitting|sat|waiting|stuck) (?:\w+ ){0,2}on (?:the )?(?:tarmac|runway)",
        r"(?:delayed|cancell?ed) (?:again|for (?:hours|\d+ (?:hours|hrs|days))|twice|three times)",
        r"(?:delivery|package|order|shipment|parcel|flight) (?:\w+ ){0,2}(?:late|delayed|never (?:arrived|came)|lost|missing|cancell?ed)",
        # marked delivered but never received, the wrong item, food cold, things missing
        r"(?:marked|shows?|showing|says|said) (?:as )?delivered but",
        r"(?:sent|delivered|gave|brought|got|received|came with) (?:me |us )?(?:the |a |an )?wrong "
        r"(?:item|order|size|product|colou?r|package|food|meal)s?",
        r"wrong (?:item|order|size|product|package|meal)s? (?:again|delivered|arrived|sent)",
        r"(?:food|order|meal|pizza|package|parcel|delivery|groceries) (?:\w+ ){0,2}(?:arrived|came|showed up|was delivered) "
        r"(?:\w+ ){0,2}(?:cold|damaged|crushed|soggy|spilled|opened|incomplete)",
        r"(?:arrived|came|delivered|order|bag|box|package) (?:\w+ ){0,3}missing (?:the|my|an?|two|three|\d+) \w+",
        r"(?:برخورد|رفتار) (?:\S+ ){0,2}(?:بد|زشت|افتضاح|توهین ?آمیز)",
        r"(?:غذا|سفارش|پیتزا|بسته|کالا|جنس|مرسوله)\S* (?:\S+ ){0,3}(?:سرد|ناقص|له شده|باز شده) (?:رسید|اومد|آمد|تحویل|ارسال)\S*",
        r"(?:اشتباه|اشتباهی) (?:فرستاد|ارسال|آورد|اورد|تحویل)\S*",
        r"تحویل (?:داده )?شده (?:\S+ ){0,2}(?:ولی|اما) (?:\S+ ){0,3}(?:نرسید\w*|نگرفتم|نگرفتیم)",
        # "نرسیده" / "نیومده" (hasn't arrived), "گم شده" (got lost): the perfect forms people write most
        r"(?:ارسال|تحویل|پیک|سفارش|بسته|مرسوله)\S* (?:\S+ ){0,4}(?:دیر|تاخیر|تأخیر|نرسید\w*|نیومد\w*|نیامد\w*|گم ?شد\w*|لغو)",
        r"(?:پشتیبانی|خدمات|پاسخگویی) (?:\S+ ){0,2}(?:افتضاح|ضعیف|بد|داغون|فاجعه)",
        r"بی ?احترامی",
    ],
    "reason_product": [
        r"(?:stopped|stops|quit) working",
        r"(?:doesn'?t|does not|didn'?t|did not|won'?t|will not|wouldn'?t) (?:work(?! out)|turn on|charge|connect)",
        r"(?:won'?t|will not|wouldn'?t|would not) start",
        r"(?:defective|faulty|dead on arrival|malfunction\w*|poor quality|low quality|cheaply made|keeps crashing|crashes)",
        # "broke", "broken", "cracked", "damaged" only of a thing: alone they are mostly records, bones,
        # hearts, laws, news and money ("I'm broke")
        r"(?:" + _THINGS + r")(?:'?s)?(?: |/)(?:[\w']+ ){0,3}(?:broke|broken|cracked|damaged|shattered)",
        r"(?:broke|broken|cracked|damaged|shattered) (?:\w+ ){0,2}(?:" + _THINGS + r")(?:'?s)?",
        r"(?<!heart )(?<!hearts )(?<!nose )(?<!leg )(?<!arm )(?<!back )(?<!spirit )(?<!record )(?<!records )"
        r"(?<!law )(?<!laws )(?<!silence )(?<!ice )(?<!serve )(?<!bone )(?<!bones )(?:is|are|was|were) "
        r"(?:totally |completely |still |so |just |now |utterly )?broken(?! up| into| in )",
        r"(?:arrived|came|delivered|shipped|received it|got it) (?:\w+ ){0,2}(?:broken|damaged|cracked|shattered)",
        r"(?:it|this|that|everything)(?:'?s| is| was| got| keeps? getting) (?:\w+ )?(?:broken|broke|damaged|cracked)(?! up| out| into)",
        r"(?:خراب|معیوب|ایراد|ایرادی|مشکل فنی|سوخت|تقلبی|فیک|بی کیفیت|کیفیت (?:\S+ )?(?:پایین|بد|افتضاح|ضعیف))",
        # "شکست" alone is mostly "defeat" ("شکست کرونا", "کرونا رو شکست بدیم"): only of a thing, or arriving broken
        r"(?:" + _THINGS_FA + r")\S* (?:\S+ ){0,4}(?:شکست|شکسته)(?! ?(?:خورد|داد|بد|دهیم|خواهیم|می ?د|کرونا|ویروس)\S*)",
        r"شکسته (?:\S+ )?(?:رسید|اومد|آمد|تحویل|ارسال|به دستم)\S*",
        r"کار (?:نمی ?(?:کنه|کند|کرد)|نکرد)",
        r"battery (?:\w+ ){0,2}(?:drains?|draining|dies|died|dying|swell\w*|overheat\w*|won'?t (?:hold|charge|last)"
        r"|doesn'?t (?:hold|last))",
        r"باتری\S* (?:\S+ ){0,3}(?:زود|سریع) (?:خالی|تموم|تمام)\S*",
        # the service itself: outages, no signal, crawling speeds, a plan that never activated
        r"(?:internet|wi-?fi|service|network|connection|signal|broadband|cable|phone line|landline|app|site|website|server)s? "
        r"(?:(?:is|was|are|were|has|have|had|been|still|keeps?|kept|went|goes|going|just|now|totally|completely|again|always|"
        r"constantly|literally|all|so|been|being) ){0,3}"
        r"(?:down|out(?= (?:again|for|since|all))|offline|not working|keeps? dropping|dropp(?:ed|ing)|disconnect(?:s|ed|ing))",
        r"(?:outages?|no (?:signal|service|internet|connection|wi-?fi|coverage|reception))",
        r"(?:internet|wi-?fi|connection|speeds?|app|site|website|network) (?:\w+ ){0,2}(?:so |super |very |painfully |extremely |really )?(?:slow|laggy|unusable)",
        r"(?:اینترنت|نت|وای ?فای|خط|شبکه|سرویس|سایت|اپ|اپلیکیشن|برنامه|تلفن|مودم|برق)\S* (?:\S+ ){0,3}(?:قطع|وصل نمی ?\S+|وصل نشد)\w*",
        r"قطعی\S* (?:\S+ )?(?:اینترنت|نت|خط|شبکه|سرویس|تلفن|برق)",
        r"(?:قطع|قطع و وصل) (?:می ?شه|می ?شود|شده|می ?شن)",  # "it keeps cutting out", "قطع و وصل میشه"
        r"سرعت\S* نداره",  # "it has no speed"
        # a demand to fix it names a broken product: "اینترنت رو درست کنید", "please fix your app"
        r"(?:رو|را) درست (?:کن|کنید|کنین|بکنید|نمی ?کنن|نمی ?کنید|نکردن|نکردید)",
        r"(?:please |pls |plz )?fix (?:your|the|my|this|ur) (?:\w+ )?(?:app|site|website|service|internet|wi-?fi|phone|system|"
        r"servers?|update|bug|issue|problem|mess)s?",
        r"سرعت\S* (?:(?!شاتر|بالا)\S+ ){0,3}(?:پایین|کم|افتضاح|لاک ?پشتی|صفر)(?! ?تر)\w*",
        r"آنتن (?:نمی ?(?:ده|دهد)|ندارم|نداره|نداریم|نیست)",
        r"(?:بسته|شارژ|اشتراک|سرویس|سیم ?کارت)\S* (?:\S+ ){0,2}(?:فعال|اعمال|وصل) (?:نشد|نشده|نمی ?شه)",
    ],
    "reason_price": [
        r"(?:too|so|very|way|ridiculously|insanely) (?:expensive|pricey|overpriced)",
        r"(?:overpriced|overcharg\w*|rip ?off|ripoff|price gouging|hidden fees?|junk fees?)",
        r"(?:raised|raise|hiked|doubled) (?:the |their |its )?(?:prices?|fees?|rates?)",
        r"charged (?:me )?(?:twice|double|extra|again)",
        r"(?:گران ?فروشی|گرون ?فروشی|کلاهبرداری|کلاه ?برداری)\w*",
        # "گرون/گران" but not the comparisons of a review ("کمی گران‌تر", "مدل گران‌قیمت"); a rise is a complaint ("گرون‌تر شده")
        r"(?:گرون|گران)(?! ?(?:تر|قیمت))\w*",
        r"(?:گرون|گران) ?تر (?:شده|شد|میشه|می شه|کردن|کردند|کردید|کردین|(?:ب|می ?)?فروش)\w*",
        r"قیمت\S* (?:\S+ ){0,3}(?:بالا|زیاد|نجومی|دو برابر|هر روز)",
        # money not given back: "پولمو پس نمیدن", "هنوز پولم برنگشته", "پولم رو برنگردوندن", "وجهش واریز نشده"
        r"(?:پول|مبلغ|وجه)\S* (?:\S+ ){0,4}(?:پس (?:ن|نمی ?)\S+|نمیدن|ندادن|برنگشت\S*|برنگردوند\S*|برنگردانده\S*"
        r"|برنمی ?گرد\S*|واریز (?:نشد|نشده|نکرد|نکردن|نکردند|نمی ?\S+)\S*)",
        # billing: paid for nothing, refunds that never come
        r"(?:no|still no|never got (?:my|a|the)) (?:refund|money back(?! guarantee))",
        r"(?:haven'?t|have not|hasn'?t|has not|didn'?t|did not|never|still not) (?:\w+ ){0,2}(?:received|got|gotten|get|seen) "
        r"(?:my|a|the|our|any) (?:refund|money back)(?! polic| guarantee| option)",
        r"where(?:'?s| is) (?:my|our|the) (?:refund|money)",
        r"refund (?:\w+ ){0,3}(?:not|never) (?:processed|received|issued|arrived|came|showed up)",
        r"charged (?:me |us )?(?:\w+ ){0,3}(?:but|and) (?:\w+ ){0,4}(?:never|not|didn'?t|did not|wasn'?t|was not)",
        r"(?:پول|مبلغ|وجه)\S* (?:\S+ ){0,3}(?:کم|کسر) (?:شد|شده|کرد|کردن|کردند|کردید|کردین)\S* (?:ولی|اما)",
        r"(?:دو ?بار|دو دفعه) (?:\S+ ){0,2}(?:کم|کسر) (?:شد|شده|کرد|کردن|کردند)\S*",  # charged twice
    ],
    "reason_switching": [
        # "went back to" / "changed to" are mostly travel, bed, work and dates; "went back to using X" is a switch
        r"(?:switch|switching|switched) (?:over )?to (?!the |a |an |my |our |your )\w+",
        r"(?:went|going|gone|go) back to using \w+",
        r"(?:going|gone|went|go) with \w+ (?:from now on|instead)",
        r"(?:cancel|cancelled|canceled|cancelling|canceling|closing|closed) my (?:account|subscription|contract|membership|plan)",
        r"(?:leaving|left) (?:you|them) for",
        r"(?:the )?last (?:dollar|cent|penny|time) (?:you(?:'ll)? (?:ever )?(?:get|see)|i (?:ever )?(?:give|spend|fly|buy|order))",
        r"(?:" + _MI + r"رم|رفتم|" + _MI + r"ریم) (?:سراغ|سمت) \S+",
        r"(?:از|با) (?:این به بعد )?(?!اطمینان|خیال|اعتماد|کمال|علاقه|تخفیف|قسط)\S+ (?:خرید " + _MI + r"کنم|" + _MI + r"خرم)",
        r"(?:حسابم|اشتراکم|اکانتم) (?:رو|را) (?:بستم|لغو کردم|" + _MI + r"بندم)",
        r"(?:مهاجرت|کوچ) (?:کردم|" + _MI + r"کنم|کردیم) (?:به|سمت)",
    ],
}


@lru_cache(maxsize=1)
def _compiled() -> dict[str, re.Pattern[str]]:
    """One regex per kind. The word-start condition (``_B``) is checked by ``_word_start_matches``
    rather than written in front of every pattern: a leading look-behind keeps ``re`` from skipping
    ahead to the characters a pattern can start with, and made the cues twice as slow."""
    return {kind: re.compile("|".join(f"(?:{p}){_E}" for p in patterns)) for kind, patterns in _PATTERNS.items()}


def _word_start_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` as if every alternative began with ``_B`` (not after a word
    character): a match that starts inside a word is skipped and the search goes on one character
    later, so the same matches come out, in the same order."""
    pos = 0
    while (match := pattern.search(text, pos)) is not None:
        start = match.start()
        if start and _WORD_CHAR.match(text, start - 1):
            pos = start + 1
            continue
        yield match
        pos = max(match.end(), start + 1)


@dataclass(frozen=True)
class Competitor:
    """A configured competitor brand: its name and parsed brand query."""

    name: str
    query: str


def extract_cues(text: str, competitors: Sequence[Competitor] = (), brands: Sequence[Competitor] = ()) -> list[Cue]:
    """All cues in ``text``, ordered by position; each carries the original-text evidence span.
    ``brands`` are the user's own brands (same shape as a competitor: name and query): "تحریم
    <brand>" ("the boycott of <brand>") is a boycott cue only next to one of them, since "تحریم"
    alone is mostly the sanctions."""
    normalized, offsets = normalize_for_match_with_offsets(text)
    cues: list[Cue] = []
    for kind, pattern in _compiled().items():
        for match in _word_start_matches(pattern, normalized):
            cues.append(_cue(kind, text, offsets, match.start(), match.end()))
    for competitor in competitors:
        cues += _competitor_cues(competitor, text, normalized, offsets)
    for brand in brands:
        cues += _brand_boycott_cues(brand, text, normalized, offsets, cues)
    cues.sort(key=lambda c: (c.start, c.kind))
    return cues


def complaint_reasons(cues: Iterable[Cue]) -> list[str]:
    """Distinct complaint reasons (``service``, ``product``, ``price``, ``switching``) in cue order."""
    seen: list[str] = []
    for cue in cues:
        if cue.kind.startswith("reason_"):
            reason = cue.kind.removeprefix("reason_")
            if reason not in seen:
                seen.append(reason)
    return seen


def _cue(kind: str, text: str, offsets: list[int], start: int, end: int, score: float = 1.0) -> Cue:
    while end > start and not text[offsets[end - 1]].strip():
        end -= 1
    original_start, original_end = offsets[start], offsets[end - 1] + 1
    return Cue(kind=kind, evidence=text[original_start:original_end], start=original_start, end=original_end, score=score)


def _mentioned_leaf_regexes(brand: Competitor, text: str) -> list[re.Pattern[str]]:
    """The regexes of the brand query's positive terms, when ``text`` matches the query (else none)."""
    node = parse_query(brand.query)
    if not matches(node, text):
        return []
    return [regex for leaf in positive_terms(node) if (regex := _leaf_regex(leaf)) is not None]


def _competitor_cues(competitor: Competitor, text: str, normalized: str, offsets: list[int]) -> list[Cue]:
    for regex in _mentioned_leaf_regexes(competitor, text):
        found = regex.search(normalized)
        if found:
            return [_cue("tag_competitor", text, offsets, found.start(), found.end())]
    return []


def _brand_boycott_cues(brand: Competitor, text: str, normalized: str, offsets: list[int], found: list[Cue]) -> list[Cue]:
    """"تحریم دیجی‌کالا", "تحریم کالاهای دیجی‌کالا": the boycott word right before the brand (at most
    one word between), unless a boycott cue already covers that spot."""
    out: list[Cue] = []
    for regex in _mentioned_leaf_regexes(brand, text):
        for match in re.finditer(r"(?<![\w#])تحریم (?:\S+ )?(?:" + regex.pattern + ")", normalized):
            start = offsets[match.start()]
            if not any(c.kind == "boycott" and c.start <= start < c.end for c in found + out):
                out.append(_cue("boycott", text, offsets, match.start(), match.end()))
    return out


def _leaf_regex(leaf: object) -> re.Pattern[str] | None:
    if isinstance(leaf, Term):
        body = re.escape(normalize_for_match(leaf.text)) + (r"\w*" if leaf.prefix else "")
        return re.compile(rf"(?<!\w)[#@]?{body}(?!\w)")
    if isinstance(leaf, Phrase):
        return re.compile(r"(?<!\w)" + r"(?:[\W_]+|)".join(re.escape(w) for w in leaf.words) + r"(?!\w)")
    if isinstance(leaf, Hashtag):
        return re.compile(rf"#{re.escape(leaf.tag)}(?!\w)")
    if isinstance(leaf, Handle):
        return re.compile(rf"@{re.escape(leaf.handle)}(?!\w)")
    return None
