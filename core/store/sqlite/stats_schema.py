"""Schema v2: summary counts for the analysts' overview, kept by triggers.

``mention_counts`` holds, per hour (``grain`` 0) and per UTC day (``grain`` 1), how many
mentions (and how many negative) were published for each combination of brand set,
platform, source and language. A mention's *brand set* is its ``brands`` list as stored
(``brand_sets``, one row per distinct list, its members in ``brand_set_members``), so a
mention is counted exactly once whatever brand filter is asked, and once per brand when
counts are split by brand.

Triggers on ``mentions`` keep the counts right on every insert, update (re-crawl, analysis
patch) and delete, whichever code path writes: no writer can forget them. The migration
also counts the mentions already stored.

``mention_sets`` names each mention's brand set by key, so the minutes of a range outside
whole hours are counted without parsing documents. ``mentions.followers`` (a virtual
column over the stored JSON) with its index lets the "loudest authors" statistic walk
authors by reach without reading every mention; ``mentions_negative`` covers what the "top
negative threads" grouping reads.
"""

from __future__ import annotations

_BRANDS = "coalesce(json_extract({row}.doc, '$.brands'), '[]')"
_GRAINS = "(SELECT 0 AS grain, 3600000 AS size UNION ALL SELECT 1, 86400000)"


def _bucket(row: str) -> str:
    # Floor division that also holds for times before 1970.
    ms = f"({row}.rk >> 10)"
    return f"({ms} - (({ms} % g.size) + g.size) % g.size)"


def _link_set(row: str) -> str:
    """Statements giving ``row`` its brand set: the set (and its members) created when new,
    and its ``mention_sets`` row. The document's JSON is parsed twice, the rest reads the key."""
    brands = _BRANDS.format(row=row)
    return (
        f"  INSERT OR IGNORE INTO brand_sets(key) VALUES ({brands});\n"
        f"  INSERT OR REPLACE INTO mention_sets(rk, set_id) SELECT {row}.rk, id FROM brand_sets WHERE key = {brands};\n"
        "  INSERT OR IGNORE INTO brand_set_members(brand, set_id) SELECT j.value, s.id"
        f" FROM mention_sets ms JOIN brand_sets s ON s.id = ms.set_id, json_each(s.key) j"
        f" WHERE ms.rk = {row}.rk AND j.type = 'text'"
        " AND NOT EXISTS (SELECT 1 FROM brand_set_members m WHERE m.set_id = s.id);\n"
    )


def _add(row: str, sign: str) -> str:
    """Add (``+``) or remove (``-``) ``row`` from its hourly and daily counts (its set from ``mention_sets``)."""
    return (
        "  INSERT INTO mention_counts(grain, start_ms, set_id, platform, source, lang, n, neg)"
        f" SELECT g.grain, {_bucket(row)}, ms.set_id, {row}.platform, {row}.source, coalesce({row}.lang, ''),"
        f" {sign}1, {sign}({row}.sentiment IS 'negative')"
        f" FROM mention_sets ms, {_GRAINS} g WHERE ms.rk = {row}.rk"
        " ON CONFLICT(grain, start_ms, set_id, platform, source, lang)"
        " DO UPDATE SET n = n + excluded.n, neg = neg + excluded.neg;\n"
    )


_CHANGED = (
    "OLD.rk != NEW.rk OR OLD.platform != NEW.platform OR OLD.source != NEW.source"
    " OR OLD.lang IS NOT NEW.lang OR OLD.sentiment IS NOT NEW.sentiment"
    f" OR {_BRANDS.format(row='OLD')} != {_BRANDS.format(row='NEW')}"
)

V2 = f"""
CREATE TABLE brand_sets (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
CREATE TABLE brand_set_members (   -- a few rows per configured brand: scanned, not searched
    set_id INTEGER NOT NULL,
    brand TEXT NOT NULL,
    PRIMARY KEY (set_id, brand)
) WITHOUT ROWID;
CREATE TABLE mention_counts (
    grain INTEGER NOT NULL,          -- 0: hour, 1: UTC day
    start_ms INTEGER NOT NULL,
    set_id INTEGER NOT NULL,
    platform TEXT NOT NULL,
    source TEXT NOT NULL,
    lang TEXT NOT NULL,              -- '' when not known yet
    n INTEGER NOT NULL,
    neg INTEGER NOT NULL,
    PRIMARY KEY (grain, start_ms, set_id, platform, source, lang)
) WITHOUT ROWID;
CREATE TABLE mention_sets (rk INTEGER PRIMARY KEY, set_id INTEGER NOT NULL);
CREATE TRIGGER mention_stats_insert AFTER INSERT ON mentions BEGIN
{_link_set('NEW')}{_add('NEW', '+')}END;
CREATE TRIGGER mention_stats_delete AFTER DELETE ON mentions BEGIN
{_add('OLD', '-')}  DELETE FROM mention_sets WHERE rk = OLD.rk;
END;
CREATE TRIGGER mention_stats_update AFTER UPDATE ON mentions WHEN {_CHANGED} BEGIN
{_add('OLD', '-')}  DELETE FROM mention_sets WHERE rk = OLD.rk;
{_link_set('NEW')}{_add('NEW', '+')}END;
INSERT OR IGNORE INTO brand_sets(key) SELECT DISTINCT {_BRANDS.format(row='m')} FROM mentions m;
INSERT OR IGNORE INTO brand_set_members(brand, set_id)
  SELECT j.value, s.id FROM brand_sets s, json_each(s.key) j WHERE j.type = 'text';
INSERT INTO mention_counts(grain, start_ms, set_id, platform, source, lang, n, neg)
  SELECT g.grain, {_bucket('m')} AS b, s.id, m.platform, m.source, coalesce(m.lang, '') AS l, count(*),
         sum(m.sentiment IS 'negative')
  FROM mentions m, {_GRAINS} g, brand_sets s WHERE s.key = {_BRANDS.format(row='m')}
  GROUP BY g.grain, b, s.id, m.platform, m.source, l;
INSERT INTO mention_sets(rk, set_id) SELECT m.rk, s.id FROM mentions m, brand_sets s WHERE s.key = {_BRANDS.format(row='m')};
ALTER TABLE mentions ADD COLUMN followers INTEGER
  GENERATED ALWAYS AS (json_extract(doc, '$.author.followers')) VIRTUAL;
CREATE INDEX mentions_followers ON mentions(followers, rk) WHERE followers IS NOT NULL;
CREATE INDEX mentions_negative ON mentions(rk, thread_id, risk, platform, source, lang)
  WHERE sentiment = 'negative';
"""

STATS_TABLES = ("mention_counts", "mention_sets", "brand_sets", "brand_set_members")
