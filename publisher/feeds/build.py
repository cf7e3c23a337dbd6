"""A whole run: read the posts, choose what is published, and write every feed.

A run where no post changed, no scheduled post fell due and the output is as the last run
left it reads and renders nothing; it also imports nothing it does not need (see `build`),
since Python's start-up is then most of its time.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import marshal
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from publisher import __version__
from publisher.site.cache import Cache, pack_stamps
from publisher.site.config import Site
from publisher.site.discovery import Inputs, find_inputs
from publisher.site.files import UnsafePath, inside, remove_leftovers, sole_writer
from publisher.site.parallel import Track, no_progress
from publisher.site.problems import Problem, Problems
from publisher.site.stamps import (
    Stamp,
    build_environment,
    intact,
    jekyll_environment,
    pack_inputs,
    stamp,
    still_chosen,
)

if TYPE_CHECKING:
    from publisher.feeds.edits import EditPlan
    from publisher.feeds.feed import Feed
    from publisher.site.catalog import Selection


# Held by a build that writes: two builds of one site never write at once, and a temporary
# file found while holding it is a killed build's.
BUILD_LOCK = os.path.join(".publisher", "build.lock")


@dataclass
class Counts:
    """How much a run published; kept with the cache so a run with nothing to do can say it."""

    published: int = 0
    drafts: int = 0
    future: int = 0
    category_feeds: int = 0
    tag_feeds: int = 0
    site_entries: int = 0
    # No site feed: a site whose posts all come from its sources has none to write.
    site_feed: bool = True


@dataclass
class Report:
    """What a run did, for its closing summary."""

    problems: Problems
    counts: Counts | None = None
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # The posts a build read and chose, for a caller that needs them too; None when the
    # build was up to date and read nothing.
    selection: Selection | None = None


def build(
    site: Site,
    problems: Problems,
    now: datetime,
    *,
    drafts: bool = False,
    future: bool = False,
    write: bool = True,
    shortcut: bool = False,
    track: Track = no_progress,
) -> Report:
    """Check every post, then, if nothing is wrong and `write` is set, write every feed.

    `problems` holds what the configuration's check found; the run adds to it. When no post
    file changed since the last build and no scheduled post fell due, nothing is read again;
    after edits that move no post between feeds, only the edited posts are (feeds/edits.py).
    With `shortcut` (a plain `publisher build`), a run without problems leaves a note that
    lets the next one see it has nothing to do before publisher loads (publisher/shortcut.py).
    A build that writes waits for any other writing the same site (BUILD_LOCK).
    """
    run = partial(_build, site, problems, now, drafts=drafts, future=future, shortcut=shortcut)
    with _no_collection():
        if not write:
            return run(write=False, track=track, alone=False)
        with sole_writer(site.root / BUILD_LOCK) as alone:
            return run(write=True, track=track, alone=alone)


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """Python's cycle collector off for the build (and the workers it forks): a build makes
    a great many objects that last until it ends (every post, the cache's records) and next
    to no cycles, and the collector went over them again and again, a tenth of a build after
    one edit at 10,000 posts with every entry (bench/README.md)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _build(
    site: Site,
    problems: Problems,
    now: datetime,
    *,
    drafts: bool,
    future: bool,
    write: bool,
    shortcut: bool,
    track: Track,
    alone: bool,
) -> Report:
    started = time.perf_counter()
    if site.jekyll is not None:
        drafts = drafts or site.jekyll.show_drafts
        future = future or site.jekyll.future
    cache = Cache(site)
    if write:
        # What killed runs left in the cache (see sole_writer): it would pile up.
        remove_leftovers(_folders_under(cache.folder), any_age=alone)
    found = find_inputs(site)
    for name in found.misnamed:
        problems.warning(
            name,
            "is left out: its name is not UTF-8, so no feed or link could carry it",
            hint="rename it with a UTF-8 name",
        )
    sources = found.posts
    stamps = {**found.posts, **found.liquid}
    options = f"{drafts} {future} {jekyll_environment()}"
    inputs = pack_inputs([found.posts, found.liquid], options)
    report = Report(problems)
    up_to_date = write and _up_to_date(cache, site, inputs, now)
    if up_to_date:
        _as_recorded(report, cache.build)
    elif write and (
        plan := _plan_edits(site, cache, stamps, options, now, drafts=drafts, future=future)
    ):
        _build_edits(site, cache, report, plan, sources, stamps, inputs, now, track, alone=alone)
    else:
        from publisher.feeds.entries import EntryCache
        from publisher.feeds.writer import (
            RenderError,
            entry_preparer,
            liquid_problems,
            plan_feeds,
            write_feeds,
        )
        from publisher.site.catalog import load_posts, select

        first_problem = len(problems.items)
        # With no limit every post is rendered: render each while its file is read.
        prepare = entry_preparer(site, cache) if write and not site.feeds.limit else None
        posts = load_posts(site, sources, cache, problems, track=track, prepare=prepare)
        if not problems.errors:
            selection = report.selection = select(posts, now, drafts=drafts, future=future)
            feeds = plan_feeds(site, selection.published, problems)
            report.counts = _counts(selection, feeds)
            if not write:
                problems.extend(liquid_problems(site, feeds, selection.published))
            else:
                previous = _intact_signatures(site, cache.build)
                try:
                    # The posts just read go to the cache while the feeds are written.
                    entries = EntryCache(cache.folder, cache.key, stamps)
                    with entries, ThreadPoolExecutor(1) as background:
                        saving = background.submit(cache.save)
                        written = write_feeds(
                            site, feeds, track, selection.published, entries, previous, alone=alone
                        )
                        saving.result()
                except RenderError as exc:
                    problems.extend(exc.problems)
                except (OSError, UnsafePath) as exc:
                    _write_failed(site, problems, exc)
                else:
                    report.written, report.unchanged = written.written, written.unchanged
                    report.removed = _remove_stale(
                        site, cache.build.get("outputs", {}), report.written + report.unchanged
                    )
                    cache.record_build(
                        {
                            "inputs": inputs,
                            "built_at": now.isoformat(),
                            "valid_until": _next_due(selection),
                            "counts": asdict(report.counts),
                            "problems": [asdict(p) for p in problems.items[first_problem:]],
                            "outputs": _output_stamps(site, report.written + report.unchanged),
                            "feeds": written.signatures,
                        }
                    )
                    from publisher.feeds.edits import id_digest

                    ids = [id_digest(post.id) for post in posts]
                    cache.record_inputs(_inputs_record(site, feeds, stamps, options, ids))
    if shortcut and cache.build:
        clean = not problems.errors and build_environment() is not None
        note = _shortcut_note(site, cache, found, options, problems) if clean else None
        if cache.build.get("shortcut") != note:
            cache.record_build({**cache.build, "shortcut": note})
    cache.save()
    report.seconds = time.perf_counter() - started
    return report


def _folders_under(folder: Path) -> set[Path]:
    """The folder and those in it (the cache's posts and entries)."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        return {folder, *(Path(entry.path) for entry in entries if entry.is_dir())}
    return set()


def _write_failed(site: Site, problems: Problems, exc: OSError | UnsafePath) -> None:
    """A write the system refused, reported like any other problem: what was being written,
    for which tag or category, and what to do."""
    what = "the feeds"
    feed = getattr(exc, "feed", None)
    if feed is not None:
        whose = f"the {feed.kind} {feed.name!r}" if feed.name else "the site"
        what = f"{exc.path}, the feed of {whose}"
    if isinstance(exc, UnsafePath):
        reason, hint = str(exc), "a folder in it is a link that leads elsewhere: remove the link"
    else:
        reason = exc.strerror or str(exc)
        hint = WRITE_HINTS.get(
            exc.errno, "free disk space or fix the folder's permissions, then build again"
        )
    problems.error(site.feeds.output, f"could not write {what}: {reason}", hint=hint)


WRITE_HINTS = {
    errno.ENAMETOOLONG: "the name is too long for this file system: shorten the tag or the path",
    errno.ENOSPC: "free disk space, then build again",
    errno.EACCES: "fix the folder's permissions, then build again",
    errno.EROFS: "the disk is read-only: build into a folder that can be written",
}


def _counts(selection: Selection, feeds: list[Feed]) -> Counts:
    kinds = [feed.kind for feed in feeds]
    return Counts(
        published=len(selection.published),
        drafts=len(selection.drafts),
        future=len(selection.future),
        category_feeds=kinds.count("category"),
        tag_feeds=kinds.count("tag"),
        site_entries=len(feeds[0].posts) if feeds else 0,
        site_feed=bool(feeds),
    )


def _inputs_record(
    site: Site, feeds: list[Feed], stamps: dict[str, Stamp], options: str, ids: list[str]
) -> dict:
    """What a build read and planned, for a build after edits (see feeds/edits.py): each
    file's stamp, every post's id digest, the posts the feeds show and, with a limit, the
    plan."""
    from publisher.feeds.edits import feed_plan

    shown = {post.source: post.liquid for feed in feeds for post in feed.posts}
    record = {
        "options": options,
        "stamps": pack_stamps(stamps),
        "ids": ids,
        "shown": sorted(shown),
        "liquid_shown": any(shown.values()),
    }
    if site.feeds.limit:
        record["plan"] = feed_plan(feeds)
    return record


def _plan_edits(
    site: Site,
    cache: Cache,
    stamps: dict[str, Stamp],
    options: str,
    now: datetime,
    *,
    drafts: bool,
    future: bool,
) -> EditPlan | None:
    """Edits that move no post between feeds, and added posts (see feeds/edits.py), while
    the feeds are as the last build left them; else None."""
    if not still_chosen(cache.build, now) or not _outputs_intact(site, cache.build):
        return None
    from publisher.feeds.edits import plan_edits

    return plan_edits(site, cache, stamps, options, now, drafts=drafts, future=future)


def _build_edits(
    site: Site,
    cache: Cache,
    report: Report,
    plan: EditPlan,
    sources: dict[str, Stamp],
    stamps: dict[str, Stamp],
    inputs: bytes,
    now: datetime,
    track: Track,
    *,
    alone: bool,
) -> None:
    """The changed posts into the cache, their problems in place of those they had, the feeds
    that show one made again, and the build's record otherwise as the last one left it (but
    for what added posts count)."""
    edited = {edit.name for edit in plan.edits}
    kept = [p for p in cache.build["problems"] if p["path"] not in edited]
    for edit in plan.edits:
        cache.store(edit.name, sources[edit.name], edit.post, edit.problems)
        kept += [asdict(p) for p in edit.problems]
    # The posts are as chosen at `now` (added ones were placed then): valid from then on.
    record = {**cache.build, "inputs": inputs, "problems": kept, "built_at": now.isoformat()}
    ids = cache.inputs["ids"]
    if plan.added is not None and plan.feeds is not None:
        record["counts"] = asdict(_counts_after(record["counts"], plan.added, plan.feeds))
        record["valid_until"] = _earliest(record["valid_until"], _next_due(plan.added))
        ids = plan.ids
    if plan.feeds is not None:
        # The plan as it is now, with the changed posts, for the next build after a change.
        inputs_record = _inputs_record(site, plan.feeds, stamps, cache.inputs["options"], ids)
    else:
        inputs_record = {**cache.inputs, "stamps": pack_stamps(stamps)}
    _as_recorded(report, record)
    if plan.feeds:
        from publisher.feeds.entries import EntryCache
        from publisher.feeds.writer import RenderError, write_feeds

        try:
            with EntryCache(cache.folder, cache.key, stamps) as entries:
                feeds, signatures = plan.feeds, record["feeds"]
                written = write_feeds(site, feeds, track, (), entries, signatures, alone=alone)
        except RenderError as exc:
            report.problems.extend(exc.problems)
            return
        except (OSError, UnsafePath) as exc:
            _write_failed(site, report.problems, exc)
            return
        report.written, report.unchanged = written.written, written.unchanged
        record["outputs"] = _output_stamps(site, report.written + report.unchanged)
        record["feeds"] = written.signatures
    cache.record_build(record)
    cache.record_inputs(inputs_record)


def _counts_after(counts: dict, added: Selection, feeds: list[Feed]) -> Counts:
    """The last build's counts with the added posts, and the feeds as planned again."""
    planned = _counts(added, feeds)
    return replace(
        planned,
        published=counts["published"] + planned.published,
        drafts=counts["drafts"] + planned.drafts,
        future=counts["future"] + planned.future,
    )


def _earliest(*moments: str | None) -> str | None:
    due = [moment for moment in moments if moment]
    return min(due, key=datetime.fromisoformat) if due else None


def _shortcut_note(
    site: Site, cache: Cache, found: Inputs, options: str, problems: Problems
) -> dict:
    """What publisher/shortcut.py checks, besides the build's record, to answer a build with
    nothing to do: everything the configuration came from, and where the inputs were found;
    and the warnings it prints again, as the build printed them."""
    note = {
        "version": __version__,
        "code": cache.code,
        "environment": build_environment(),
        "config": site.read,
        "walked": found.walked,
        "scans": [found.post_scans, found.liquid_scans],
        "options": options,
        "output": site.feeds.output,
        "warnings": [str(problem) for problem in problems.sorted()],
    }
    return marshal.loads(marshal.dumps(note))  # as the record holds it, so that notes compare


def _next_due(selection: Selection) -> str | None:
    """When the earliest scheduled post falls due, and the output must be built again."""
    return min(post.date for post in selection.future).isoformat() if selection.future else None


def _output_stamps(site: Site, paths: list[str]) -> dict[str, list[int]]:
    output = site.root / site.feeds.output
    return {path: stamp(os.stat(output / path)) for path in paths}


def _remove_stale(site: Site, earlier: dict[str, list[int]], current: list[str]) -> list[str]:
    """Remove the feeds the last build wrote and this one does not (those of a tag no post has
    any more), where they are still as that build left them, and the folders left empty."""
    output = (site.root / site.feeds.output).resolve()
    removed = []
    for relative in sorted(set(earlier) - set(current)):
        try:
            path = inside(output, relative)
            if stamp(path.stat()) != earlier[relative]:
                continue
            path.unlink()
        except (OSError, UnsafePath):
            continue
        removed.append(relative)
        folder = path.parent
        while folder != output and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return removed


def _intact_signatures(site: Site, record: dict) -> dict[str, str]:
    """The last build's feed signatures, when every file it wrote is still as it left it."""
    return record.get("feeds", {}) if _outputs_intact(site, record) else {}


def _up_to_date(cache: Cache, site: Site, inputs: bytes, now: datetime) -> bool:
    """True when the last build read the same files and its output is still as it left it."""
    record = cache.build
    if record.get("inputs") != inputs:
        return False
    return still_chosen(record, now) and _outputs_intact(site, record)


def _as_recorded(report: Report, record: dict) -> None:
    """The report of a build as `record` says it went: its problems, counts and files."""
    report.problems.extend([Problem(**p) for p in record["problems"]])
    report.counts = Counts(**record["counts"])
    report.unchanged = list(record["outputs"])


def _outputs_intact(site: Site, record: dict) -> bool:
    return intact(site.root / site.feeds.output, record.get("outputs", {}))
