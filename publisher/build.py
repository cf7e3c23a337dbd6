"""A whole run: read the posts, choose what is published, and write every feed."""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import partial

from publisher.cache import Cache, stamp
from publisher.catalog import Selection, Track, load_posts, no_progress, select
from publisher.config import Site
from publisher.feeds import Entry, EntryParts, Feed, entry_parts, render_feed
from publisher.output import Staging, inside
from publisher.parallel import map_parts, split
from publisher.posts import Post, discover, read_body
from publisher.problems import Problem, Problems
from publisher.render import render
from publisher.text import slugify


@dataclass
class Counts:
    """How much a run published; kept with the cache so a run with nothing to do can say it."""

    published: int = 0
    drafts: int = 0
    future: int = 0
    category_feeds: int = 0
    tag_feeds: int = 0
    site_entries: int = 0


@dataclass
class Report:
    """What a run did, for its closing summary."""

    problems: Problems
    counts: Counts | None = None
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    seconds: float = 0.0


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

    `problems` holds what the configuration's check found; the run adds to it. When no post
    file changed since the last build and no scheduled post fell due, nothing is read again.
    """
    started = time.perf_counter()
    cache = Cache(site)
    sources = discover(site)
    inputs = _inputs_key(sources, drafts, future)
    report = Report(problems)
    if write and _up_to_date(cache, site, inputs, now):
        problems.extend([Problem(**p) for p in cache.build["problems"]])
        report.counts = Counts(**cache.build["counts"])
        report.unchanged = list(cache.build["outputs"])
    else:
        first_problem = len(problems.items)
        posts = load_posts(site, sources, cache, problems, track)
        if not problems.errors:
            selection = select(posts, now, drafts, future)
            feeds = plan_feeds(site, selection.published, problems)
            report.counts = _counts(selection, feeds)
            if write:
                _write_feeds(site, feeds, report, track)
                cache.record_build(
                    {
                        "inputs": inputs,
                        "valid_until": _next_due(selection),
                        "counts": asdict(report.counts),
                        "problems": [asdict(p) for p in problems.items[first_problem:]],
                        "outputs": _output_stamps(site, report.written + report.unchanged),
                    }
                )
    cache.save()
    report.seconds = time.perf_counter() - started
    return report


def _write_feeds(site: Site, feeds: list[Feed], report: Report, track: Track) -> None:
    """Serialize each post once, on every core, then splice the entries into each feed."""
    posts = list({post.source: post for feed in feeds for post in feed.posts}.values())
    chunks = split(posts, len(posts))
    parts: dict[str, EntryParts] = {}
    for done in track(map_parts(partial(_entry_parts, site), chunks), "Rendering", len(chunks)):
        parts.update(done)
    output = site.root / site.feeds.output
    with Staging() as staging:
        for feed in feeds:
            entries = [parts[post.source] for post in feed.posts]
            for fmt, data in render_feed(site, feed, entries).items():
                path = feed.path(site, fmt)
                changed = staging.write(inside(output, path), data)
                (report.written if changed else report.unchanged).append(path)


def _entry_parts(site: Site, posts: list[Post]) -> dict[str, EntryParts]:
    return {
        post.source: entry_parts(site, Entry(post, render(post, read_body(site, post))))
        for post in posts
    }


def _counts(selection: Selection, feeds: list[Feed]) -> Counts:
    kinds = [feed.kind for feed in feeds]
    return Counts(
        published=len(selection.published),
        drafts=len(selection.drafts),
        future=len(selection.future),
        category_feeds=kinds.count("category"),
        tag_feeds=kinds.count("tag"),
        site_entries=len(feeds[0].posts),
    )


def _inputs_key(sources: dict[str, os.stat_result], drafts: bool, future: bool) -> str:
    listing = [drafts, future, sorted((name, stamp(stat)) for name, stat in sources.items())]
    return hashlib.sha256(json.dumps(listing).encode()).hexdigest()


def _next_due(selection: Selection) -> str | None:
    """When the earliest scheduled post falls due, and the output must be built again."""
    return min(post.date for post in selection.future).isoformat() if selection.future else None


def _output_stamps(site: Site, paths: list[str]) -> dict[str, list[int]]:
    output = site.root / site.feeds.output
    return {path: stamp(inside(output, path).stat()) for path in paths}


def _up_to_date(cache: Cache, site: Site, inputs: str, now: datetime) -> bool:
    """True when the last build read the same files and its output is still as it left it."""
    record = cache.build
    if record.get("inputs") != inputs:
        return False
    if record["valid_until"] and now >= datetime.fromisoformat(record["valid_until"]):
        return False
    output = site.root / site.feeds.output
    for path, recorded in record["outputs"].items():
        try:
            if stamp(os.stat(output / path)) != recorded:
                return False
        except OSError:
            return False
    return True
