"""The site's feeds: which there are (the site's, one per category and per tag), and writing
them all, each post serialized once for every feed that holds it.

Rendering (Markdown, feedgen, lxml) is imported only by a build that renders or writes a
feed: after an edit to a post that no feed shows, nothing is."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from publisher.feeds.entries import EntryCache
from publisher.feeds.feed import EntryParts, Feed
from publisher.site.config import Site
from publisher.site.files import Piece, Staging, inside, remove_leftovers
from publisher.site.parallel import Track, map_parts, split
from publisher.site.post import Post, read_body
from publisher.site.problems import Problem, Problems
from publisher.site.stamps import Stamp
from publisher.site.text import slugify

if TYPE_CHECKING:
    from publisher.site.cache import Cache
    from publisher.site.catalog import Prepare


class RenderError(Exception):
    """Posts whose Liquid could not be rendered: nothing is written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} posts could not be rendered")
        self.problems = problems


class FeedWriteError(OSError):
    """A feed file the system would not write, with the feed (its tag or category) behind it."""

    def __init__(self, feed: Feed, path: str, error: OSError) -> None:
        super().__init__(error.errno, error.strerror)
        self.feed = feed
        self.path = path


def plan_feeds(site: Site, posts: list[Post], problems: Problems) -> list[Feed]:
    """The site feed plus one per category and per tag, each limited to the newest entries;
    none for a site with no posts of its own, whose newsletter comes from its sources."""
    if site.sources and not posts:
        return []
    limit = site.feeds.limit or None
    feeds = [Feed("site", "", site.title, site.description, "", tuple(posts[:limit]))]
    for kind, template, names_of in (
        ("category", site.feeds.categories, lambda p: p.categories),
        ("tag", site.feeds.tags, lambda p: p.tags),
    ):
        if not template:
            continue
        groups: dict[str, list[Post]] = {}
        labels: dict[str, str] = {}
        for post in posts:
            for name in names_of(post):
                key = name.casefold()
                labels.setdefault(key, name)
                groups.setdefault(key, []).append(post)
        for key, slug in _unique_slugs(labels, kind, site, problems).items():
            label = labels[key]
            feeds.append(
                Feed(
                    kind,
                    label,
                    f"{site.title}: {label}",
                    f"Posts in the {kind} {label} on {site.title}",
                    template.format(slug=slug),
                    tuple(groups[key][:limit]),
                )
            )
    if site.jekyll is not None:
        feeds += _jekyll_feed_feeds(site, posts, limit)
    return feeds


def _jekyll_feed_feeds(site: Site, posts: list[Post], limit: int | None) -> list[Feed]:
    """jekyll-feed's own feeds of a category (`feed: categories:`) or a tag (`feed: tags:`),
    at its paths, so that their subscribers keep them."""
    jekyll = site.jekyll
    feeds = []
    for category in jekyll.feed_categories:
        chosen = tuple(p for p in posts if category in p.categories)[:limit]
        title = f"{site.title} | {category.capitalize()}"
        path = f"feed/{category}.xml"
        feeds.append(Feed("category", category, title, site.description, "", chosen, path))
    if jekyll.feed_tags is None:
        return feeds
    every_tag = dict.fromkeys(tag for post in posts for tag in post.tags)
    for tag in jekyll.feed_tags or every_tag:
        if tag in jekyll.feed_tags_except or not re.fullmatch(r"[a-zA-Z0-9_]+", tag):
            continue
        chosen = tuple(p for p in posts if tag in p.tags)[:limit]
        path = f"{jekyll.feed_tags_path.strip('/')}/{tag}.xml"
        feeds.append(Feed("tag", tag, site.title, site.description, "", chosen, path))
    return feeds


def _unique_slugs(
    labels: dict[str, str], kind: str, site: Site, problems: Problems
) -> dict[str, str]:
    """A slug per name; names that would share one get a stable suffix rather than vanish."""
    by_slug: dict[str, list[str]] = {}
    for key in sorted(labels):
        by_slug.setdefault(slugify(labels[key]), []).append(key)
    slugs = {}
    for slug, keys in by_slug.items():
        for index, key in enumerate(keys):
            if slug and index == 0:
                slugs[key] = slug
                continue
            suffix = hashlib.sha1(key.encode()).hexdigest()[:6]
            slugs[key] = f"{slug}-{suffix}" if slug else suffix
            if slug:
                problems.warning(
                    site.source,
                    f"{kind} {labels[key]!r} shares the slug {slug!r} with {labels[keys[0]]!r}; "
                    f"its feeds use {slugs[key]!r}",
                )
    return slugs


@dataclass
class Written:
    """The paths a build wrote, those it left alone, and each feed's signature by its path."""

    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    signatures: dict[str, str] = field(default_factory=dict)


def feed_signatures(site: Site, feeds: list[Feed], stamps: dict[str, Stamp]) -> list[str | None]:
    """What each feed's bytes are made of besides the settings and publisher's code (which
    key the cache): its own fields and each post's file as it was. None for a feed with a post
    with Liquid, which can change with any other file."""
    # Each post's line, made once: a post is in several feeds (its tags', its category's).
    lines: dict[str, bytes] = {}
    signatures: list[str | None] = []
    for feed in feeds:
        fields = [feed.kind, feed.name, feed.title, feed.description, feed.path(site, "atom")]
        digest = hashlib.sha256("\n".join(fields).encode())
        for post in feed.posts:
            line = lines.get(post.source)
            if line is None:
                if post.liquid or post.source not in stamps:
                    break
                size, mtime = stamps[post.source]
                line = lines[post.source] = f"\n{post.source}\0{size} {mtime}".encode()
            digest.update(line)
        else:
            signatures.append(digest.hexdigest())
            continue
        signatures.append(None)
    return signatures


def write_feeds(
    site: Site,
    feeds: list[Feed],
    track: Track,
    published: Sequence[Post],
    entries: EntryCache,
    previous: dict[str, str],
    *,
    alone: bool = False,
) -> Written:
    """Serialize each post once, on every core, then splice the entries into each feed.

    `entries` holds those serialized before (by an earlier build, or by `keep_entries` while
    the posts were read); `published` is every published post, which Liquid may ask for;
    `previous` the signatures of the feeds the last build wrote, whose files are still as it
    left them: a feed with the same signature is left alone, unread.
    The entries it serialized are saved with `entries`, while the feeds are written. With
    `alone` (no other run is writing), temporary files in the feeds' folders are a killed
    run's, whatever their age, and removed. Raises RenderError, having written nothing, when
    a post's Liquid fails."""
    result = Written()
    changed = []
    for feed, signature in zip(feeds, feed_signatures(site, feeds, entries.stamps), strict=True):
        path = feed.path(site, "atom")
        if signature:
            result.signatures[path] = signature
        if signature and previous.get(path) == signature:
            result.unchanged += [feed.path(site, fmt) for fmt in feed.formats]
        else:
            changed.append(feed)
    feeds = changed
    wanted = {post.source: post for feed in feeds for post in feed.posts}
    parts = entries.get(wanted.values())
    posts = [post for source, post in wanted.items() if source not in parts]
    if posts:
        # Liquid may ask for every post (site.posts, post_url): give them, when it is there.
        catalog = tuple(published) if any(post.liquid for post in posts) else ()
        chunks = split(posts, len(posts))
        rendering = map_parts(partial(_entry_parts, site, catalog), chunks)
        failed: list[Problem] = []
        for done, problems in track(rendering, "Rendering", len(chunks)):
            parts.update(done)
            failed.extend(problems)
        if failed:
            raise RenderError(failed)
        for post in posts:
            entries.put(post, parts[post.source])
    if not feeds:
        entries.save()
        return result
    from publisher.feeds.formats import render_feed

    output = (site.root / site.feeds.output).resolve()

    def write_file(feed: Feed, fmt: str, pieces: list[Piece]) -> tuple[str, bool]:
        path = feed.path(site, fmt)
        try:
            return path, staging.write(inside(output, path), pieces)
        except OSError as exc:
            raise FeedWriteError(feed, path, exc) from exc

    folders = {inside(output, feed.path(site, "atom")).parent for feed in feeds}
    remove_leftovers(folders, any_age=alone)
    with Staging() as staging, ThreadPoolExecutor(os.cpu_count()) as threads:
        # Mostly the kernel's copying, like the feeds' writing: the two overlap, and so do
        # the files of one feed.
        saving = threads.submit(entries.save)
        files = []
        for feed in feeds:
            documents = render_feed(site, feed, [parts[post.source] for post in feed.posts])
            files += [threads.submit(write_file, feed, *document) for document in documents.items()]
        for file in files:
            path, was_written = file.result()
            (result.written if was_written else result.unchanged).append(path)
        saving.result()
    return result


def liquid_problems(site: Site, feeds: list[Feed], published: Sequence[Post]) -> list[Problem]:
    """What rendering the Liquid of the feeds' posts would find, for a run that writes
    nothing (`check`): the same errors a build stops on."""
    from publisher.site.content import render

    wanted = {post.source: post for feed in feeds for post in feed.posts if post.liquid}
    problems: list[Problem] = []

    def every_post() -> Sequence[Post]:
        return published

    for post in wanted.values():
        rendered = render(site, post, read_body(site, post), posts=every_post)
        problems.extend(rendered.problems)
    return problems


def entry_preparer(site: Site, cache: Cache) -> Prepare:
    """`keep_entries` for the site, with what it needs imported now: once, before the
    processes that read the posts start, rather than in each of them and again after."""
    for module in ("publisher.feeds.formats", "publisher.site.content"):
        importlib.import_module(module)
    return partial(keep_entries, site, cache.folder, cache.key)


def keep_entries(
    site: Site, cache_folder: Path, key: str, read: list[tuple[Post, str]], stamps: dict[str, Stamp]
) -> None:
    """Render and serialize the posts just read, on the core that read them, and keep their
    entries in the shards their part holds (a Prepare of site/catalog.py). The feeds then copy
    them from there, as any kept entry; a post with Liquid, which may need the other posts,
    waits until all are read."""
    from publisher.feeds.formats import Entry, entry_parts
    from publisher.site.content import render

    entries = EntryCache(cache_folder, key, stamps)
    for post, body in read:
        if not post.liquid:
            entries.put(post, entry_parts(site, Entry(post, render(site, post, body))))
    entries.save()


def _entry_parts(
    site: Site, catalog: tuple[Post, ...], posts: list[Post]
) -> tuple[dict[str, EntryParts], list[Problem]]:
    from publisher.feeds.formats import Entry, entry_parts
    from publisher.site.content import render

    parts, problems = {}, []

    def every_post() -> tuple[Post, ...]:
        return catalog

    for post in posts:
        rendered = render(site, post, read_body(site, post), posts=every_post)
        problems.extend(rendered.problems)
        parts[post.source] = entry_parts(site, Entry(post, rendered))
    return parts, problems
