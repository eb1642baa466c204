"""brandguard's crawlers: a Scrapy project configured from ``settings.sources``.

- ``spiders/``: one spider per source kind (rss, forum — also review sites, by selectors —,
  mastodon, telegram, hackernews, reddit, bluesky, youtube, appstore); ``scrapy list`` /
  ``scrapy crawl <kind> -a source=NAME``. ``spiders/options.py`` checks the API kinds' options.
- ``normalize.py``: the pipeline steps as plain functions (the push-ingest API runs them too).
- ``pipelines/``: clean text → parse time → match brands → build Mention → bulk store upsert.
- ``quota.py``: a daily API quota ledger that survives restarts (YouTube units).
- ``middlewares/``: Retry-After on 429/503; robots.txt for concurrent waiters.
- ``state.py``: per-source seen-state (re-visit active threads, skip unchanged ones).
- ``crawl.py`` / ``runner.py``: a crawl in a child process, ``CrawlScheduler`` for schedules.
- ``cli.py``: ``brandguard crawl``; ``demo/``: the demo web of docs/demo-story.md.
"""
