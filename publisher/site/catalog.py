"""All of a site's posts: read (from the cache where files did not change) and sorted into
published, drafts and scheduled."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from publisher.site.cache import Cache, shard_of
from publisher.site.config import Site
from publisher.site.discovery import discover, posts_dirs
from publisher.site.parallel import Track, map_parts, no_progress, split_by
from publisher.site.post import Post, is_future, read_post
from publisher.site.problems import Problems, Refusal
from publisher.site.stamps import Stamp


class NoSuchPost(Refusal):
    """A post asked for by name that the site does not have."""

    argument = "POST"


# Work to do on a part of the posts while their bodies are at hand, on the core that read
# them: rendering and keeping their feed entries, when every post will be rendered anyway.
# Given the posts read with their Markdown bodies, and the stamps of every post file of the
# cache shards the part holds (publisher/site/cache.py).
Prepare = Callable[[list[tuple[Post, str]], dict[str, Stamp]], None]


@dataclass(frozen=True)
class Selection:
    """The posts a run publishes, newest first, and those it leaves out."""

    published: list[Post]
    drafts: list[Post]
    future: list[Post]


def load_posts(
    site: Site,
    sources: dict[str, Stamp],
    cache: Cache,
    problems: Problems,
    *,
    track: Track = no_progress,
    prepare: Prepare | None = None,
) -> list[Post]:
    """Read every post (from the cache when the file is unchanged) and check ids are unique;
    with `prepare`, prepare those read from their files on the core that read them."""
    if not posts_dirs(site) and not site.sources:
        problems.warning(
            site.source, "no posts/ or _posts/ folder", hint="create posts/ and add a post"
        )
    results = {name: cache.lookup(name, stamp) for name, stamp in sources.items()}
    changed = sum(result is None for result in results.values())
    # A part holds whole shards: what it prepares for them, it can keep for them alone, given
    # the stamps of every post file in them.
    parts = []
    for group in split_by(list(sources), changed, key=shard_of):
        if names := [name for name in group if results[name] is None]:
            stamps = {name: sources[name] for name in group} if prepare else {}
            parts.append((names, stamps))
    reading = map_parts(partial(_read_part, site, prepare), parts)
    for part in track(reading, "Reading posts", len(parts)):
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


def _read_part(
    site: Site, prepare: Prepare | None, part: tuple[list[str], dict[str, Stamp]]
) -> list[tuple[str, Post | None, list]]:
    names, stamps = part
    done, read = [], []
    for name in names:
        post, found, body = read_post(site, site.root / name)
        if post and post.liquid:
            # Imported here: a site whose posts have no Liquid never loads python-liquid.
            from publisher.site.liquid import check_liquid

            found = [*found, *check_liquid(site, post, body)]
            if any(problem.level == "error" for problem in found):
                post = None
        done.append((name, post, found))
        if post and prepare:
            read.append((post, body))
    if prepare:
        prepare(read, stamps)
    return done


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


def select(
    posts: list[Post], now: datetime, *, drafts: bool = False, future: bool = False
) -> Selection:
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


def read_posts(site: Site, problems: Problems) -> list[Post]:
    """Every post of the site, for a command that needs them but writes no feeds."""
    cache = Cache(site)
    posts = load_posts(site, discover(site), cache, problems)
    cache.save()
    return posts


def find_post(posts: list[Post], wanted: str, root: Path) -> Post:
    """A post by its file (as given, relative to the site, or its name alone, with or
    without the extension), by its id, by its URL, or by its slug."""
    candidates = {wanted}
    path = Path(wanted)
    for base in (Path.cwd(), root):
        with contextlib.suppress(ValueError):
            candidates.add((base / path).resolve().relative_to(root).as_posix())
    for post in posts:
        if post.source in candidates or wanted in (post.id, post.url):
            return post
    named = [p for p in posts if wanted in (Path(p.source).name, Path(p.source).stem, p.slug)]
    if len(named) == 1:
        return named[0]
    if named:
        sources = ", ".join(post.source for post in named)
        raise NoSuchPost(f"{wanted!r} names several posts ({sources}): give the file")
    raise NoSuchPost(
        f"no post {wanted!r} under posts/ or _posts/, and no source's entry with that link"
    )
