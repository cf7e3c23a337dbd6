"""All of a site's posts: read (from the cache where files did not change) and sorted into
published, drafts and scheduled."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from publisher.cache import Cache
from publisher.config import Site
from publisher.parallel import Track, map_parts, no_progress, split
from publisher.posts import Post, is_future, read_post
from publisher.problems import Problems


@dataclass(frozen=True)
class Selection:
    """The posts a run publishes, newest first, and those it leaves out."""

    published: list[Post]
    drafts: list[Post]
    future: list[Post]


def load_posts(
    site: Site,
    sources: dict[str, os.stat_result],
    cache: Cache,
    problems: Problems,
    track: Track = no_progress,
) -> list[Post]:
    """Read every post (from the cache when the file is unchanged) and check ids are unique."""
    if not site.posts_dirs():
        problems.warning(
            site.source, "no posts/ or _posts/ folder", hint="create posts/ and add a post"
        )
    results = {}
    for name, stat in sources.items():
        results[name] = cache.lookup(name, stat)
    changed = [name for name, result in results.items() if result is None]
    parts = split(changed, len(changed))
    for part in track(map_parts(partial(_read_part, site), parts), "Reading posts", len(parts)):
        for name, post, found in part:
            results[name] = (post, found)
            cache.store(name, sources[name], post, found)
    posts = []
    for post, found in results.values():
        problems.extend(found)
        if post:
            posts.append(post)
    cache.forget_missing(set(sources))
    _check_unique_ids(posts, problems)
    return posts


def _read_part(site: Site, names: list[str]) -> list[tuple[str, Post | None, list]]:
    return [(name, *read_post(site, site.root / name)) for name in names]


def _check_unique_ids(posts: list[Post], problems: Problems) -> None:
    first: dict[str, Post] = {}
    for post in posts:
        if post.id in first:
            problems.error(
                post.source,
                f"id {post.id!r} is already used by {first[post.id].source}",
                hint="give one of them a different id: in its front matter",
            )
        else:
            first[post.id] = post


def select(posts: list[Post], now: datetime, drafts: bool, future: bool) -> Selection:
    """Split posts into published, drafts and scheduled, newest first."""
    selection = Selection([], [], [])
    for post in sorted(posts, key=lambda p: (p.date, p.source), reverse=True):
        if post.draft and not drafts:
            selection.drafts.append(post)
        elif is_future(post, now) and not future:
            selection.future.append(post)
        else:
            selection.published.append(post)
    return selection
