"""`publisher publish`: the one command a writer's CI runs on every push and on a schedule.

It checks the posts, builds the feeds, tells WebSub hubs about the feeds that changed, and
mails what is due, catching up on everything a late or dropped cron run missed. Run twice in
a row, the second run writes, pings and sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from publisher.feeds.build import Report, build
from publisher.mail.campaign import (
    campaign,
    due_newsletters,
    due_posts,
    record_baseline,
)
from publisher.mail.delivery import SendReport
from publisher.mail.store import open_store
from publisher.site.catalog import read_posts, select
from publisher.site.config import Site
from publisher.site.parallel import Track, no_progress
from publisher.site.post import Post
from publisher.site.problems import Problems

PING_ATTEMPTS = 3
PING_TIMEOUT = (3.05, 10.0)


@dataclass
class PublishReport:
    """What a publish run did, for its summary and for `--json`."""

    build: Report
    pinged: list[str] = field(default_factory=list)
    ping_failures: list[str] = field(default_factory=list)
    baseline: int = 0
    due: list[str] = field(default_factory=list)
    sends: list[SendReport] = field(default_factory=list)

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
            "newsletters": [
                {
                    "subject": send.subject,
                    "sent": send.sent,
                    "pending": send.pending,
                    "bounced": send.bounced,
                    "unknown": send.unknown,
                    "skipped": send.skipped,
                    "stopped": send.stopped,
                }
                for send in self.sends
            ],
            "errors": [str(p) for p in self.build.problems.errors],
            "warnings": [str(p) for p in self.build.problems.warnings],
        }


def publish(
    site: Site,
    problems: Problems,
    now: datetime,
    secret: Callable[[], str],
    *,
    dry_run: bool = False,
    track: Track = no_progress,
    progress: Callable[[SendReport], None] = lambda report: None,
) -> PublishReport:
    """Check, build, notify hubs, then mail what is due; stops before writing on any error."""
    report = PublishReport(build(site, problems, now, write=not dry_run, track=track))
    if problems.errors:
        return report
    if not dry_run:
        changed = [site.absolute(path) for path in report.build.written]
        report.pinged, report.ping_failures = notify_hubs(site.hubs, changed)
    published = _published(site, report.build, now)
    store = open_store(site)
    if dry_run:
        report.due = [post.source for post in due_posts(store, published)]
        return report
    with campaign(site, store, secret, now, progress=progress) as sender:
        report.baseline = record_baseline(store, published, now)
        due = due_posts(store, published)
        report.due = [post.source for post in due]
        report.sends = sender.resume()
        for outgoing in due_newsletters(site, store, due, now, problems):
            report.sends.append(sender.send(outgoing))
    return report


def _published(site: Site, build_report: Report, now: datetime) -> list[Post]:
    """The posts the build chose; when it had nothing to do and read none, from the cache
    (their problems were reported by the build already)."""
    if build_report.selection is not None:
        return build_report.selection.published
    return select(read_posts(site, Problems()), now).published


def notify_hubs(hubs: tuple[str, ...], feed_urls: list[str]) -> tuple[list[str], list[str]]:
    """WebSub publish pings for the feeds whose bytes changed; a failure is only reported."""
    if not hubs or not feed_urls:
        return [], []
    import requests

    pinged, failures = [], []
    for hub in hubs:
        for url in feed_urls:
            error = ""
            for attempt in range(PING_ATTEMPTS):
                try:
                    reply = requests.post(
                        hub, data={"hub.mode": "publish", "hub.url": url}, timeout=PING_TIMEOUT
                    )
                    if reply.ok:
                        error = ""
                        break
                    error = f"HTTP {reply.status_code}"
                except requests.RequestException as exc:
                    error = type(exc).__name__
                time.sleep(0.2 * 2**attempt)
            if error:
                failures.append(f"{hub} for {url}: {error}")
            else:
                pinged.append(f"{hub} for {url}")
    return pinged, failures
