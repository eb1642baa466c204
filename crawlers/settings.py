"""Scrapy settings for brandguard's crawlers: polite by default.

Per-source overrides go in a source's ``options.scrapy`` mapping (e.g. the demo lifts
the delay for 127.0.0.1). ``crawlers.runner`` adds ``JOBDIR`` per source.
"""

BOT_NAME = "brandguard"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = "brandguard-bot/0.1 (+https://github.com/brandguard/brandguard; social listening; obeys robots.txt)"
ROBOTSTXT_OBEY = True

# One request at a time per site, with a delay AutoThrottle adapts to the server's latency.
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 2.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 60.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024

RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
RETRY_AFTER_MAX_SECONDS = 600  # a longer Retry-After gives up on the request (logged)
RETRY_AFTER_DEFAULT_SECONDS = 5  # 429/503 without the header

DOWNLOADER_MIDDLEWARES = {
    # Scrapy's own lets requests through that wait for robots.txt together (see the module).
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.robots.SharedRobotsTxtMiddleware": 100,
    # After robots.txt: tokens and keys are added at send time only (never pickled into JOBDIR).
    "crawlers.middlewares.credentials.SourceCredentialsMiddleware": 150,
    # Before RetryMiddleware (550) on the way back, so 429/503 wait for Retry-After first.
    "crawlers.middlewares.retry_after.RetryAfterMiddleware": 560,
}

ITEM_PIPELINES = {
    "crawlers.pipelines.clean.CleanTextPipeline": 100,
    "crawlers.pipelines.timeparse.ParseTimePipeline": 200,
    "crawlers.pipelines.brands.BrandMatchPipeline": 300,
    "crawlers.pipelines.mention.BuildMentionPipeline": 400,
    "crawlers.pipelines.store.StoreMentionsPipeline": 500,
}
STORE_BATCH_SIZE = 100

DUPEFILTER_CLASS = "scrapy.dupefilters.RFPDupeFilter"
HTTPCACHE_ENABLED = False
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Scrapy's default asyncio reactor: it also costs ~15% less CPU per page than the plain
# epoll reactor in Scrapy 2.19 (measured with bench/bench_crawl.py).
LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
