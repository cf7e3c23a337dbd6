"""A whole run: read the posts, choose what is published, and write every feed."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from publisher.cache import Cache, stamp
from publisher.config import Site
from publisher.feeds import FORMATS, Entry, Feed, render_feed
from publisher.output import Staging, inside
from publisher.posts import Post, discover, is_future, read_body, read_post
from publisher.problems import Problems
from publisher.render import Rendered, render
from publisher.text import slugify

T = TypeVar("T")
Track = Callable[[Iterable[T], str, int], Iterator[T]]


def no_progress(items: Iterable[T], label: str, length: int) -> Iterator[T]:
    yield from items


@dataclass(frozen=True)
class Selection:
    """The posts a run publishes, newest first, and those it leaves out."""

    published: list[Post]
    drafts: list[Post]
    future: list[Post]


@dataclass
class Report:
    """What a run did, for its closing summary."""

    problems: Problems
    selection: Selection | None = None
    feeds: list[Feed] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0


def load_posts(
    site: Site, cache: Cache, problems: Problems, track: Track = no_progress
) -> list[Post]:
    """Read every post (from the cache when the file is unchanged) and check ids are unique."""
    paths = discover(site)
    if not site.posts_dirs():
        problems.warning(
            site.source, "no posts/ or _posts/ folder", hint="create posts/ and add a post"
        )
    posts = []
    for path in track(paths, "Reading posts", len(paths)):
        name = path.relative_to(site.root).as_posix()
        stat = path.stat()
        cached = cache.lookup(name, stat)
        post, found = cached if cached else read_post(site, path)
        if not cached:
            cache.store(name, stat, post, found)
        problems.extend(found)
        if post:
            posts.append(post)
    cache.forget_missing({p.relative_to(site.root).as_posix() for p in paths})
    _check_unique_ids(posts, problems)
    return posts


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


def plan_feeds(site: Site, posts: list[Post], problems: Problems) -> list[Feed]:
    """The site feed plus one per category and per tag, each limited to the newest entries."""
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


def build(
    site: Site,
    problems: Problems,
    now: datetime,
    drafts: bool = False,
    future: bool = False,
    write: bool = True,
    track: Track = no_progress,
) -> Report:
    """Check every post, then, if nothing is wrong and `write` is set, write every feed.

    `problems` holds what the configuration's check found; the run adds to it.
    """
    started = time.perf_counter()
    cache = Cache.load(site)
    posts = load_posts(site, cache, problems, track)
    report = Report(problems)
    if not problems.errors:
        report.selection = select(posts, now, drafts, future)
        report.feeds = plan_feeds(site, report.selection.published, problems)
        if write:
            _write_feeds(site, report, cache, track)
    cache.save()
    report.seconds = time.perf_counter() - started
    return report


def _write_feeds(site: Site, report: Report, cache: Cache, track: Track) -> None:
    output = site.root / site.feeds.output
    paths = [feed.path(site, fmt) for feed in report.feeds for fmt in FORMATS]
    key = _build_key(cache, report.selection.published)
    if _outputs_current(cache, output, key, paths):
        report.unchanged.extend(paths)
        return
    rendered: dict[str, Rendered] = {}
    with Staging() as staging:
        for feed in track(report.feeds, "Writing feeds", len(report.feeds)):
            entries = [Entry(post, _rendered(site, post, rendered)) for post in feed.posts]
            for fmt, data in render_feed(site, feed, entries).items():
                path = feed.path(site, fmt)
                changed = staging.write(inside(output, path), data)
                (report.written if changed else report.unchanged).append(path)
    stamps = {path: stamp(inside(output, path).stat()) for path in paths}
    cache.build = {"key": key, "outputs": stamps}


def _rendered(site: Site, post: Post, memo: dict[str, Rendered]) -> Rendered:
    if post.source not in memo:
        memo[post.source] = render(post, read_body(site, post))
    return memo[post.source]


def _build_key(cache: Cache, posts: list[Post]) -> str:
    listing = [cache.key, [(p.source, cache.files[p.source]["stamp"]) for p in posts]]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _outputs_current(cache: Cache, output: Path, key: str, paths: list[str]) -> bool:
    """True when the last build used the same inputs and its files are still as it left them."""
    recorded = cache.build.get("outputs", {})
    if cache.build.get("key") != key or set(recorded) != set(paths):
        return False
    for path, recorded_stamp in recorded.items():
        try:
            if stamp(os.stat(output / path)) != recorded_stamp:
                return False
        except OSError:
            return False
    return True
