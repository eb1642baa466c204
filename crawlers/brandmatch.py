"""Match texts against every configured brand's query (ours and competitors')."""

from __future__ import annotations

from core.config import Settings
from core.query import MatchText, Node, matches, parse_query


class BrandMatcher:
    """Parses each brand query once; ``match(text)`` lists every brand the text satisfies."""

    def __init__(self, settings: Settings) -> None:
        self._queries: list[tuple[str, Node]] = [(b.name, parse_query(b.query)) for b in settings.brands]

    def match(self, *texts: str | None) -> list[str]:
        joined = "\n".join(t for t in texts if t)
        if not joined:
            return []
        prepared = MatchText.of(joined)
        return [name for name, node in self._queries if matches(node, prepared)]
