"""Coordinated campaigns: near-identical texts from different authors within a time window.

Texts are normalised (Persian folding, lower case, links dropped) and cut into character
5-shingles; a datasketch MinHash LSH finds candidates, which are kept when their estimated
Jaccard similarity reaches ``threshold``, they were published within ``window`` of each
other and they come from a different author. ``min_authors`` distinct accounts make a
campaign. Shared hashtags are recorded on the campaign; calls to action raise its score
through its members' sabotage components.

The LSH lives in memory and is rebuilt from the store's recent mentions, so it survives
restarts; ``refresh`` also picks up mentions other workers stored meanwhile. The campaign
record is rebuilt from the mentions tagged with its id, so concurrent workers never lose
a member.
"""

from __future__ import annotations

import functools
import hashlib
import re
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from datasketch import MinHash, MinHashLSH

from core.domain import Campaign, Mention, RiskScore
from core.store.port import MentionQuery, Store
from core.textnorm import normalize_for_match

_URL_RE = re.compile(r"https?://\S+")
_HASHTAG_RE = re.compile(r"#([\w\u200c]+)")
_PUNCT_RE = re.compile(r"[^\w\s#@]")


@dataclass(frozen=True)
class CampaignConfig:
    """Detection parameters (defaults suit short social posts)."""

    threshold: float = 0.6  # estimated Jaccard similarity of 5-shingles
    window: timedelta = timedelta(hours=24)
    min_authors: int = 3
    num_perm: int = 64
    shingle: int = 5
    refresh_seconds: float = 5.0  # how often to read other workers' new mentions from the store
    refresh_slack: timedelta = timedelta(minutes=30)


def normalise_text(text: str) -> str:
    """The comparison form of a post: links and punctuation dropped, Persian folded, lower case."""
    text = _URL_RE.sub(" ", text)
    return " ".join(_PUNCT_RE.sub(" ", normalize_for_match(text)).split())


def hashtags(text: str) -> list[str]:
    """Hashtags in ``text``, normalised, without '#', in order of appearance."""
    return list(dict.fromkeys(normalize_for_match(tag) for tag in _HASHTAG_RE.findall(text)))


def signature(text: str, config: CampaignConfig) -> MinHash:
    """MinHash of the normalised text's character shingles.

    Shingles are hashed with CRC-32 (``zlib.crc32``, called from C) rather than datasketch's
    default SHA-1 in Python: half the signature's cost, and the seeded permutations on top give
    the MinHash its spread (signatures live in memory only; every worker computes its own).
    """
    norm = normalise_text(text)
    k = config.shingle
    grams = {norm[i:i + k] for i in range(max(len(norm) - k + 1, 1))}
    scheme, permutations = _permutations(config.num_perm)
    sig = MinHash(num_perm=config.num_perm, seed=7, permutations=permutations, scheme=scheme, hashfunc=zlib.crc32)
    sig.update_batch([g.encode() for g in grams])
    return sig


@functools.lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[str, object]:
    """The seeded hash permutations (and their scheme), drawn once: MinHash() would draw them
    again for every post (a third of a signature's cost); shared, they give the same hash values."""
    template = MinHash(num_perm=num_perm, seed=7)
    return template.scheme, template.permutations


@dataclass
class IndexEntry:
    """What the index keeps of a mention: enough to decide membership without reloading it."""

    author: str
    published_at: datetime
    sig: MinHash
    campaign_id: str | None = None


class CampaignIndex:
    """Recent mentions' signatures in an LSH, for finding near-identical copies."""

    def __init__(self, config: CampaignConfig | None = None) -> None:
        self.config = config or CampaignConfig()
        self._lsh = MinHashLSH(threshold=max(self.config.threshold - 0.1, 0.1), num_perm=self.config.num_perm)
        self._entries: dict[str, IndexEntry] = {}
        self._synced_until: datetime | None = None
        self._synced_wall: float | None = None

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, mention_id: object) -> bool:
        return mention_id in self._entries

    def add(self, mention: Mention) -> None:
        """Index a mention (no-op when already indexed)."""
        if mention.id in self._entries or not mention.text.strip():
            return
        entry = IndexEntry(mention.author.key or f"{mention.platform}:?{mention.id}", mention.published_at,
                           signature(mention.text, self.config), mention.campaign_id)
        self._entries[mention.id] = entry
        self._lsh.insert(mention.id, entry.sig)

    def entry(self, mention_id: str) -> IndexEntry | None:
        """The indexed entry of a mention, or None."""
        return self._entries.get(mention_id)

    def set_campaign(self, mention_ids: list[str], campaign_id: str) -> None:
        """Remember that these indexed mentions now belong to ``campaign_id``."""
        for mention_id in mention_ids:
            if mention_id in self._entries:
                self._entries[mention_id].campaign_id = campaign_id

    def similar(self, mention: Mention) -> list[str]:
        """Ids of indexed near-identical posts by *other* authors within the window."""
        if not mention.text.strip():
            return []
        sig = self._entries[mention.id].sig if mention.id in self._entries else signature(mention.text, self.config)
        author = mention.author.key or f"{mention.platform}:?{mention.id}"
        out = []
        for other_id in self._lsh.query(sig):
            other = self._entries[other_id]
            if other_id == mention.id or other.author == author:
                continue
            if abs(other.published_at - mention.published_at) > self.config.window:
                continue
            if sig.jaccard(other.sig) >= self.config.threshold:
                out.append(other_id)
        return sorted(out)

    def prune(self, now: datetime) -> int:
        """Forget mentions published more than two windows before ``now``; returns how many."""
        cutoff = now - 2 * self.config.window
        old = [i for i, e in self._entries.items() if e.published_at < cutoff]
        for mention_id in old:
            self._lsh.remove(mention_id)
            del self._entries[mention_id]
        return len(old)

    def refresh(self, store: Store, now: datetime, force: bool = False) -> int:
        """Index mentions stored since the last refresh (all of the window the first time)."""
        wall = time.monotonic()
        if not force and self._synced_wall is not None and wall - self._synced_wall < self.config.refresh_seconds:
            return 0
        since = (self._synced_until - self.config.refresh_slack) if self._synced_until else now - self.config.window
        added, cursor = 0, None
        while True:
            page = store.search_mentions(MentionQuery(since=since, sort="newest", limit=500, cursor=cursor))
            for mention in page.items:
                if mention.id not in self._entries:
                    self.add(mention)
                    added += 1
                elif mention.campaign_id:  # another worker may have tagged it meanwhile
                    self._entries[mention.id].campaign_id = mention.campaign_id
            cursor = page.next_cursor
            if not cursor or not page.items:
                break
        self._synced_until, self._synced_wall = now, wall
        self.prune(now)
        return added


def campaign_id_for(first_member_id: str) -> str:
    """Deterministic campaign id from its earliest member, so two workers agree."""
    return "campaign-" + hashlib.blake2b(first_member_id.encode(), digest_size=8).hexdigest()


def choose_campaign_id(members: dict[str, IndexEntry]) -> str:
    """Reuse a member's campaign, else derive an id from the oldest member.

    When members already belong to different campaigns (near-identity is not transitive: A~B and
    B~C while A and C differ), the smallest id wins. A fixed order every worker shares makes
    re-tagging end: a mention only ever moves to a smaller id. (Choosing by the members' dates
    let two chained campaigns take members from each other for ever.)"""
    tagged = [e.campaign_id for e in members.values() if e.campaign_id]
    if tagged:
        return min(tagged)
    return campaign_id_for(min(members, key=lambda i: (members[i].published_at, i)))


def reads_negative(mention: Mention) -> bool:
    """The model calls it negative, or its risk negativity (anger, complaint) is at least 0.5."""
    if mention.analysis is not None and mention.analysis.sentiment == "negative":
        return True
    return mention.risk is not None and mention.risk.components.get("negativity", 0.0) >= 0.5


def build_campaign(
    campaign_id: str, members: list[Mention], now: datetime, previous: Campaign | None = None,
    risk: RiskScore | None = None,
) -> Campaign:
    """The campaign record for ``members``; ``size_history`` grows when the size changes."""
    if not members:
        raise ValueError(f"campaign {campaign_id!r} has no mentions")
    counts: dict[str, int] = {}
    for member in members:
        for tag in hashtags(member.text):
            counts[tag] = counts.get(tag, 0) + 1
    shared = [tag for tag, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n >= max(2, len(members) // 2)]
    history = list(previous.size_history) if previous else []
    if history and history[-1][0] == now:
        history[-1] = (now, max(history[-1][1], len(members)))  # one point per moment
    elif not history or history[-1][1] != len(members):
        history.append((now, len(members)))
    return Campaign(
        id=campaign_id,
        brands=list(dict.fromkeys(b for m in members for b in m.brands)),
        mention_ids=[m.id for m in members],
        authors=list(dict.fromkeys(m.author.key or f"{m.platform}:?{m.id}" for m in members)),
        hashtags=shared,
        sample_text=members[0].text[:500],
        first_at=min(m.published_at for m in members),
        last_at=max(m.published_at for m in members),
        size_history=history,
        negative_share=round(sum(reads_negative(m) for m in members) / len(members), 3),
        risk=risk,
        updated_at=now,
    )
