"""What flows out of a remote feed: its entries, and what the state remembers of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RemoteEntry:
    """One entry of a feed, its text made safe for mail and its links absolute."""

    id: str
    link: str
    title: str
    # The entry's own date; None when the feed gives none.
    date: datetime | None
    content: str
    summary: str = ""
    author: str = ""
    author_email: str = ""
    image: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceState:
    """What the state knows of a source after its last fetch."""

    feed: str
    # Where it is fetched from now: the feed's URL, or where a permanent redirect sent it.
    url: str
    etag: str = ""
    last_modified: str = ""
    checked_at: datetime | None = None
    status: str = ""
    error: str = ""
    # A 429 or 503 with Retry-After: not fetched again before this moment.
    retry_after: datetime | None = None
    # A 410: never fetched again.
    gone: bool = False
    # The first good fetch, whose entries were recorded as seen and not mailed.
    baseline_at: datetime | None = None


@dataclass(frozen=True)
class Memory:
    """What the state has seen of a source's entries, to tell a new entry from an old one."""

    keys: frozenset[str] = frozenset()
    fingerprints: frozenset[str] = frozenset()
    newest: datetime | None = None


@dataclass(frozen=True)
class Decided:
    """A new entry and what is to happen to it: mailed, or only recorded and why."""

    entry: RemoteEntry
    key: str
    post_key: str
    fingerprint: str
    # "mail", or "baseline" (a source's first fetch), "republished" (dated before what was
    # seen), "renamed" (a known entry under a new id).
    verdict: str
    # When it was first seen: the date of an entry the feed gives none.
    seen_at: datetime


@dataclass
class Polled:
    """One source's fetch and what it decided; recorded in one transaction, or not at all."""

    feed: str
    label: str
    state: SourceState
    decided: list[Decided] = field(default_factory=list)
    # How the fetch went, in words: "200, 12 entries", "not modified", "failed: ...".
    outcome: str = ""
    # The fetch changed nothing but the state's record of it (a 304, a failure).
    changed: bool = False
    # A permanent redirect moved the feed here.
    moved_to: str = ""


@dataclass(frozen=True)
class KeptEntry:
    """An entry as the state keeps it, with the verdict it was given when first seen."""

    feed: str
    post_key: str
    verdict: str
    seen_at: datetime
    entry: RemoteEntry
