"""`publisher publish`: the one command a writer's CI runs on every push and on a schedule.

It checks the posts, builds the feeds, tells WebSub hubs about the feeds that changed, and
mails what is due, catching up on everything a late or dropped cron run missed. Run twice in
a row, the second run writes, pings and sends nothing.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from publisher.feeds import hubs
from publisher.feeds.build import Report, build
from publisher.mail.archive import write_archive
from publisher.mail.campaign import (
    campaign,
    check_sending,
    due_entries,
    due_newsletters,
    due_posts,
    mailed_entries,
    record_baseline,
)
from publisher.mail.delivery import SendReport
from publisher.mail.newsletter import ARCHIVE_FOLDER
from publisher.mail.store import Store, open_store
from publisher.site.config import Site
from publisher.site.parallel import Track, no_progress
from publisher.site.post import Post
from publisher.site.problems import Problems
from publisher.sources.poll import poll
from publisher.sources.records import Polled


@dataclass
class PublishReport:
    """What a publish run did, for its summary and for `--json`."""

    build: Report
    pinged: list[str] = field(default_factory=list)
    ping_failures: list[str] = field(default_factory=list)
    baseline: int = 0
    due: list[str] = field(default_factory=list)
    sends: list[SendReport] = field(default_factory=list)
    # The web archive's files written, under its folder.
    archived: list[str] = field(default_factory=list)
    archive_folder: str = ""
    # Each source's fetch, and what went wrong fetching (apart from the site's problems:
    # a feed that failed stops nothing else).
    polled: list[Polled] = field(default_factory=list)
    source_problems: Problems = field(default_factory=Problems)

    def as_dict(self) -> dict:
        counts = self.build.counts
        return {
            "posts": counts.published if counts else 0,
            "feeds_written": self.build.written,
            "feeds_unchanged": len(self.build.unchanged),
            "feeds_removed": self.build.removed,
            "hubs_notified": self.pinged,
            "hub_failures": self.ping_failures,
            "baseline_posts": self.baseline,
            "due_posts": self.due,
            "archive_written": self.archived,
            "sources": [
                {
                    "feed": one.feed,
                    "name": one.label,
                    "fetch": one.outcome,
                    "moved_to": one.moved_to,
                    "new": Counter(decided.verdict for decided in one.decided),
                }
                for one in self.polled
            ],
            "newsletters": [
                {
                    "subject": send.subject,
                    "sent": send.sent,
                    "pending": send.pending,
                    "bounced": send.bounced,
                    "unknown": send.unknown,
                    "skipped": send.skipped,
                    "stopped": send.stopped,
                    "last_error": send.last_error,
                    "abandoned": send.abandoned,
                    "destination": send.destination,
                }
                for send in self.sends
            ],
            "errors": [str(p) for p in self.problems.errors],
            "warnings": [str(p) for p in self.problems.warnings],
        }

    @property
    def problems(self) -> Problems:
        """The site's problems, then the sources'."""
        return Problems(self.build.problems.items + self.source_problems.items)


def publish(
    site: Site,
    problems: Problems,
    now: datetime,
    secret: Callable[[], str],
    *,
    dry_run: bool = False,
    new_ids: bool = False,
    track: Track = no_progress,
    progress: Callable[[SendReport], None] = lambda report: None,
) -> PublishReport:
    """Check everything, fetch the sources, then build, notify hubs and mail what is due.

    Nothing is written, pinged or sent until the posts, the state, every newsletter due and
    its headers, the transport and the secret have all been checked; what the sources'
    fetches decided is recorded before anything is mailed."""
    checked = build(site, problems, now, write=False, track=track)
    report = PublishReport(checked)
    if problems.errors:
        return report
    store = open_store(site)
    if site.sources:
        states, memory = store.source_states(), store.source_memory()
        report.polled = poll(site, states, memory, now, report.source_problems, track=track)
    published = checked.selection.published
    due = due_posts(store, published, new_ids=new_ids)
    due = sorted(due + due_entries(site, store, report.polled), key=_oldest_first)
    report.due = [post.source for post in due]
    outgoing = list(due_newsletters(site, store, due, now, problems))
    if outgoing or store.unfinished_newsletters():
        check_sending(site, outgoing, secret, now)
    if problems.errors or dry_run:
        return report
    report.build = _write_feeds(site, problems, now, track)
    if problems.errors:
        return report
    report.pinged, report.ping_failures = ping_hubs(site, store, report.build)
    store.record_polls(report.polled)
    archivable = published + mailed_entries(site, store)
    report.archived = write_archive(site, store, archivable, [o.posts for o in outgoing])
    report.archive_folder = f"{site.feeds.output}/{ARCHIVE_FOLDER}"
    with campaign(site, store, secret, now, progress=progress) as sender:
        report.baseline = record_baseline(store, published, now)
        report.sends = sender.resume()
        report.sends += [sender.send(letter) for letter in outgoing]
    store.close()
    return report


def _oldest_first(post: Post) -> tuple:
    return (post.date, post.source)


def _write_feeds(site: Site, problems: Problems, now: datetime, track: Track) -> Report:
    """The build that writes, after the check: the posts come from the cache, and only what
    writing finds (a full disk, say) is new to report."""
    found = Problems()
    report = build(site, found, now, track=track)
    reported = set(problems.items)
    problems.extend([problem for problem in found.items if problem not in reported])
    report.problems = problems
    return report


def ping_hubs(site: Site, store: Store, built: Report) -> tuple[list[str], list[str]]:
    """Tell each hub of every feed it has not heard of as it is now, and record what it
    heard, so a ping lost to a crash or a failing hub goes out with the next run."""
    stamps = _stamps(site, built.written + built.unchanged)
    topics: dict[str, list[str]] = {}
    for hub in site.hubs:
        told = store.pinged(hub)
        topics[hub] = [path for path, stamp in stamps.items() if told.get(path) != stamp]
    pinged, failures = [], []
    for ping in hubs.notify(
        {hub: [site.absolute(p) for p in paths] for hub, paths in topics.items()}
    ):
        if ping.error:
            failures.append(f"{ping.hub} for {len(ping.topics)} feeds: {ping.error}")
            continue
        store.record_pinged(ping.hub, {path: stamps[path] for path in topics[ping.hub]})
        pinged.extend(f"{ping.hub} for {topic}" for topic in ping.topics)
    return pinged, failures


def _stamps(site: Site, paths: list[str]) -> dict[str, str]:
    output = site.root / site.feeds.output
    stamps = {}
    for path in paths:
        with contextlib.suppress(OSError):
            stat = (output / path).stat()
            stamps[path] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return stamps
