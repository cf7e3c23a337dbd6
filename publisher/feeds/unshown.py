"""A build after edits to posts that no feed shows, such as a typo fixed in an old post of a
large blog: the feeds stay as they are, and only the cache learns the new files.

It applies only when nothing that decides which feed shows which post changed: the same
files as the last full build, the same options, no scheduled post due, no post with Liquid
among those shown (it could show any other post), and each edited post, before and after,
shown in no feed, with the same id, date, draft state, categories and tags. Anything else is
a full build, which leaves alone the feeds whose posts did not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from publisher.site.cache import Cache
from publisher.site.config import Site
from publisher.site.post import Post, read_post
from publisher.site.problems import Problem

# More edited files than this and a full build is as quick.
MOST_EDITS = 20


@dataclass(frozen=True)
class Edit:
    """One edited post, read again, and its problems."""

    name: str
    post: Post
    problems: list[Problem]


def unshown_edits(
    site: Site, cache: Cache, stamps: dict[str, list[int]], options: str, now: datetime
) -> list[Edit] | None:
    """The edited posts, read again, when every edit is to a post no feed shows and changes
    nothing that decides which feed shows what; None when a full build is needed."""
    earlier, record = cache.inputs, cache.build
    if not earlier or not record.get("feeds") or earlier.get("options") != options:
        return None
    if earlier["liquid_shown"] or earlier["stamps"].keys() != stamps.keys():
        return None
    if record["valid_until"] and now >= datetime.fromisoformat(record["valid_until"]):
        return None
    changed = [name for name, stamp in stamps.items() if earlier["stamps"][name] != stamp]
    if not changed or len(changed) > MOST_EDITS:
        return None
    shown = set(earlier["shown"])
    edits = []
    for name in changed:
        before = cache.earlier(name)
        if name in shown or before is None or before.liquid:
            return None
        post, problems, _ = read_post(site, site.root / name)
        if post is None or post.liquid or any(p.level == "error" for p in problems):
            return None
        if _placement(post) != _placement(before):
            return None
        edits.append(Edit(name, post, problems))
    return edits


def _placement(post: Post) -> tuple:
    """What decides the feeds a post is in, and where."""
    return (post.id, post.date, post.draft, post.categories, post.tags)
