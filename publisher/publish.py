"""`publisher publish`: the one command a writer's CI runs on every push and on a schedule.

It checks the posts, builds the feeds, tells WebSub hubs about the feeds that changed, and
mails what is due, catching up on everything a late or dropped cron run missed. Run twice in
a row, the second run writes, pings and sends nothing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from publisher.feeds.build import Report, build
from publisher.mail import store as state
from publisher.mail.delivery import Mailer, SendReport, digest_key, post_key, record, run_lock
from publisher.mail.newsletter import Newsletter, digest_newsletter, post_newsletter
from publisher.mail.store import now_text, transaction
from publisher.site.cache import Cache
from publisher.site.catalog import load_posts, select
from publisher.site.config import Site
from publisher.site.discovery import discover
from publisher.site.parallel import Track, no_progress
from publisher.site.post import Post
from publisher.site.problems import Problems

PERIOD_LENGTHS = {
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "monthly": timedelta(days=30),
}
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

    @property
    def pending(self) -> int:
        return sum(send.pending for send in self.sends)

    @property
    def stopped(self) -> str:
        return next((send.stopped for send in self.sends if send.stopped), "")

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
    # The build reported every post's problems already; this second read is from its cache.
    posts, _ = load_posts(site, discover(site), Cache(site), Problems())
    published = select(posts, now, False, False).published
    connection = state.connect(site.root / site.mail.state)
    if dry_run:
        report.due = [post.source for post in due_posts(connection, published)]
        return report
    with run_lock(site.root / site.mail.state):
        report.baseline = record_baseline(connection, published, now)
        due = due_posts(connection, published)
        report.due = [post.source for post in due]
        for newsletter_id in unfinished(connection):
            report.sends.append(
                Mailer(site, connection, newsletter_id, secret(), now, progress).run()
            )
        for key, letter, posts in newsletters_due(site, connection, due, now, problems):
            newsletter_id = record(connection, key, letter, [post.id for post in posts], now)
            report.sends.append(
                Mailer(site, connection, newsletter_id, secret(), now, progress).run()
            )
    return report


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


def record_baseline(connection: sqlite3.Connection, published: list[Post], now: datetime) -> int:
    """On the very first run, every post already out is recorded as not to be mailed."""
    with transaction(connection):
        if connection.execute("SELECT 1 FROM settings WHERE key = 'baseline_at'").fetchone():
            return 0
        connection.executemany(
            "INSERT OR IGNORE INTO baseline (post_id, recorded_at) VALUES (?, ?)",
            [(post.id, now_text()) for post in published],
        )
        connection.execute(
            "INSERT INTO settings (key, value) VALUES ('baseline_at', ?)", (now.isoformat(),)
        )
    return len(published)


def due_posts(connection: sqlite3.Connection, published: list[Post]) -> list[Post]:
    """Published posts meant for the newsletter that no newsletter holds, oldest first.

    Before the first run has recorded its baseline, nothing is due.
    """
    if not connection.execute("SELECT 1 FROM settings WHERE key = 'baseline_at'").fetchone():
        return []
    known = {row[0] for row in connection.execute("SELECT post_id FROM newsletter_posts")}
    known |= {row[0] for row in connection.execute("SELECT post_id FROM baseline")}
    return [post for post in reversed(published) if post.newsletter and post.id not in known]


def unfinished(connection: sqlite3.Connection) -> list[int]:
    """Newsletters an earlier run left with deliveries to make."""
    rows = connection.execute(
        "SELECT id FROM newsletters WHERE finished_at IS NULL ORDER BY id"
    ).fetchall()
    return [row[0] for row in rows]


def newsletters_due(
    site: Site, connection: sqlite3.Connection, due: list[Post], now: datetime, problems: Problems
) -> Iterator[tuple[str, Newsletter, list[Post]]]:
    """(key, newsletter, posts) for each newsletter to send now, by the site's mode."""
    if not due:
        return
    if site.newsletter.mode == "post":
        for post in due:
            letter = post_newsletter(site, post, problems)
            if letter:
                yield post_key(post), letter, [post]
        return
    last = connection.execute(
        "SELECT max(created_at) FROM newsletters WHERE key LIKE 'digest:%'"
    ).fetchone()[0]
    if last and now - datetime.fromisoformat(last) < PERIOD_LENGTHS[site.newsletter.period]:
        return
    posts = list(reversed(due))
    yield digest_key(posts), digest_newsletter(site, posts), posts
