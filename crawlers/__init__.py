"""brandguard's crawlers: a Scrapy project configured from ``settings.sources``.

- ``spiders/``: one spider per source kind (rss, forum — also review sites, by selectors —,
  mastodon, telegram, hackernews); ``scrapy list`` / ``scrapy crawl <kind> -a source=NAME``.
- ``pipelines/``: clean text → parse time → match brands → build Mention → bulk store upsert.
- ``middlewares/``: Retry-After on 429/503; robots.txt for concurrent waiters.
- ``state.py``: per-source seen-state (re-visit active threads, skip unchanged ones).
- ``crawl.py`` / ``runner.py``: a crawl in a child process, ``CrawlScheduler`` for schedules.
- ``cli.py``: ``brandguard crawl``; ``demo/``: the demo web of docs/demo-story.md.
"""
