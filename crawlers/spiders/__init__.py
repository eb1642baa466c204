"""One spider per source kind; each crawls every configured source of its kind
(or only ``-a source=NAME``)."""
