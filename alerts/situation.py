"""Which situation a rule match belongs to: one alert per situation, across rules.

Rules say what they matched (a post, a thread, a campaign, a customer, a brand, a term);
the situation is the larger thing a support team would call one incident, so that every
rule matching it adds its reasons and evidence to the same alert:

- a customer (``customer:<crm id>``): a linked customer's own posts, and every thread they
  started — a thread's customer is its author's (the thread's first post), never a
  replier's;
- a campaign (``campaign:<id>``): near-identical copies, and threads started by a copy;
- a thread (``thread:<id>``): a thread by someone not linked to a customer, its replies
  included;
- a post (``mention:<id>``) on its own; a brand (``brand:<name>``) or a term
  (``term:<term>``) for the baseline rules.

The fingerprint is ``<brand>|<kind>:<id>``: a pure function of the match and the stored
thread root, so every worker and every restart computes the same one. When a situation's
key changes because its author got linked to a customer later, the match also names its
previous key (``fallback_fingerprints``) so the open alert moves instead of a second one
opening (see ``alerts.publish``).
"""

from __future__ import annotations

from alerts.rules.base import RuleMatch, ThreadRoot
from core.domain import Mention
from core.store.port import MentionQuery, Store


def thread_root(store: Store, thread_id: str) -> ThreadRoot:
    """The thread's first stored post (oldest published), whose author owns the thread."""
    page = store.search_mentions(MentionQuery(thread_id=thread_id, sort="oldest", limit=1))
    if not page.items:
        return ThreadRoot(None, None, None)
    root = page.items[0]
    return ThreadRoot(root.id, root.customer_id, root.campaign_id)


def _thread_situation(thread_id: str, root: ThreadRoot) -> tuple[str, str, list[str]]:
    if root.customer_id:
        return "customer", root.customer_id, [f"thread:{thread_id}"]
    if root.campaign_id:
        return "campaign", root.campaign_id, [f"thread:{thread_id}"]
    return "thread", thread_id, []


def situation_of(match: RuleMatch, mention: Mention | None, root: ThreadRoot | None) -> tuple[str, str, list[str]]:
    """``(kind, id, previous keys)`` of the situation ``match`` belongs to (module rules)."""
    kind, subject = match.subject_kind, match.subject_id
    if kind == "customer" and mention is not None and mention.thread_id and root is not None \
            and root.customer_id == subject:
        return kind, subject, [f"thread:{mention.thread_id}"]  # her thread may have been alerted before she was linked
    if kind in ("customer", "campaign", "brand", "term"):
        return kind, subject, []
    if kind == "thread":
        return _thread_situation(subject, root or ThreadRoot(None, None, None))
    # A single post: its linked author, else its thread, else its campaign, else itself.
    if mention is not None and mention.customer_id:
        return "customer", mention.customer_id, [f"mention:{subject}"]
    if mention is not None and mention.thread_id and root is not None:
        situation = _thread_situation(mention.thread_id, root)
        return situation[0], situation[1], [*situation[2], f"mention:{subject}"]
    if mention is not None and mention.campaign_id:
        return "campaign", mention.campaign_id, [f"mention:{subject}"]
    return "mention", subject, []


def assign_situation(match: RuleMatch, mention: Mention | None, root: ThreadRoot | None) -> RuleMatch:
    """Set ``match``'s situation, its fallback keys and the situation's customer (in place)."""
    kind, ident, previous = situation_of(match, mention, root)
    match.situation_kind, match.situation_id = kind, ident
    brand = match.brand or "*"
    match.fallback_fingerprints = [f"{brand}|{key}" for key in previous]
    # The customer of a situation is its own: a thread's author's, never whoever replied last.
    match.customer_id = ident if kind == "customer" else None
    return match
