"""Which entries of a fetch are new, and which of those go out: a feed that changes its ids
or republishes its archive must not mail its readers everything again."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from publisher.site.text import normalize_whitespace
from publisher.sources.records import Decided, Memory, RemoteEntry

# An entry older than the feed's this-many-th newest is from its archive.
NEWEST_KEPT = 10
_TRACKING = ("utm_", "fbclid", "gclid", "mc_cid", "mc_eid")


def entry_key(entry: RemoteEntry) -> str:
    """The entry's id when it has one, else its link, else its title and date."""
    if entry.id:
        return f"id:{entry.id}"
    if entry.link:
        return f"link:{normal_link(entry.link)}"
    date = entry.date.isoformat() if entry.date else ""
    return "hash:" + _digest(f"{entry.title}\n{date}")


def fingerprint(entry: RemoteEntry) -> str:
    """What an entry is, whatever its id: its link, title and day, as a reader sees them."""
    day = f"{entry.date:%Y-%m-%d}" if entry.date else ""
    title = normalize_whitespace(entry.title).casefold()
    return _digest(f"{normal_link(entry.link)}\n{title}\n{day}")


def post_key(feed: str, key: str) -> str:
    """What newsletters know the entry by: its key within its source."""
    return "source:" + _digest(f"{feed}\n{key}")


def normal_link(link: str) -> str:
    """The link as the same page is reached by any spelling: no scheme, no www., no
    trailing slash, no fragment, no tracking parameters."""
    parts = urlsplit(link.strip())
    host = (parts.hostname or "").removeprefix("www.")
    if parts.port and parts.port not in (80, 443):
        host += f":{parts.port}"
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(_TRACKING)]
    return urlunsplit(("", host, parts.path.rstrip("/"), urlencode(sorted(query)), ""))


def decide(
    feed: str,
    entries: list[RemoteEntry],
    memory: Memory,
    *,
    first: bool,
    now: datetime,
    margin: timedelta,
) -> list[Decided]:
    """Each entry the state has not seen, with its verdict. On a source's first fetch every
    entry is a baseline; after, an unknown id whose fingerprint is known was renamed, and an
    entry dated well before the newest seen, or before the feed's tenth newest, is old."""
    dates = sorted((entry.date for entry in entries if entry.date), reverse=True)
    tenth = dates[NEWEST_KEPT - 1] if len(dates) >= NEWEST_KEPT else None
    keys, fingerprints = set(memory.keys), set(memory.fingerprints)
    decided = []
    for entry in entries:
        key, print_ = entry_key(entry), fingerprint(entry)
        if key in keys:
            continue
        if first:
            verdict = "baseline"
        elif print_ in fingerprints:
            verdict = "renamed"
        elif entry.date and _is_old(entry.date, memory.newest, tenth, margin):
            verdict = "republished"
        else:
            verdict = "mail"
        keys.add(key)
        fingerprints.add(print_)
        decided.append(Decided(entry, key, post_key(feed, key), print_, verdict, now))
    return decided


def _is_old(
    date: datetime, newest: datetime | None, tenth: datetime | None, margin: timedelta
) -> bool:
    return bool((newest and date < newest - margin) or (tenth and date < tenth))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]
