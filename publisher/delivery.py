"""Mailing a newsletter to every active subscriber exactly once, through crashes and reruns.

A newsletter is recorded first, with a snapshot of its audience: one pending delivery per
subscriber active at that moment. Each delivery then moves pending -> sending -> sent (or
bounced), every step committed before the next network step. "sending" is committed just
before the act that hands the message over (the last bytes of the SMTP end-of-data mark, the
Maildir rename), so the server never has a message we have no record of. A delivery still
pending after a crash was never handed over and is sent. One found in "sending" was handed
over, or the crash fell in the instant before: for a Maildir we look; over SMTP we cannot
know, so it becomes "unknown", is reported, and is resent only with --resend-unknown.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from publisher.config import Site
from publisher.message import MessageTemplate, sender_address, unsubscribe_url
from publisher.newsletter import Newsletter, Recipient
from publisher.posts import Post
from publisher.state import now_text, transaction
from publisher.subscribers import set_status
from publisher.tokens import make_token
from publisher.transports import MaildirTransport, Outcome, StopSending, open_transport

BATCH = 500


class Busy(RuntimeError):
    """Another send holds the state file's lock."""


@dataclass
class SendReport:
    """What a send did, for its progress line and closing summary."""

    subject: str
    audience: int = 0
    sent: int = 0
    already_sent: int = 0
    pending: int = 0
    bounced: int = 0
    unknown: int = 0
    skipped: int = 0
    stopped: str = ""
    seconds: float = 0.0
    recipients: list[str] = field(default_factory=list)


@contextmanager
def run_lock(state: Path) -> Iterator[None]:
    """One send at a time per state file; a second one is refused at once, not queued."""
    state.parent.mkdir(parents=True, exist_ok=True)
    with open(state.with_suffix(".lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy("another publisher send is running on this state file") from None
        yield


def post_key(post: Post) -> str:
    """One post's newsletter is known by the post's id, so editing the post never resends it."""
    return f"post:{post.id}"


def digest_key(posts: list[Post]) -> str:
    """A digest's identity: the same posts make the same digest, never mailed twice."""
    ids = "\n".join(sorted(post.id for post in posts))
    return "digest:" + hashlib.sha256(ids.encode()).hexdigest()[:32]


def record(
    connection: sqlite3.Connection,
    key: str,
    newsletter: Newsletter,
    post_ids: list[str],
    now: datetime,
) -> int:
    """The newsletter's id; on first sight, store it and snapshot its audience."""
    with transaction(connection):
        row = connection.execute("SELECT id FROM newsletters WHERE key = ?", (key,)).fetchone()
        if row:
            return row["id"]
        stored = json.dumps(
            {"subject": newsletter.subject, "html": newsletter.html, "text": newsletter.text}
        )
        cursor = connection.execute(
            "INSERT INTO newsletters (key, subject, message, created_at) VALUES (?, ?, ?, ?)",
            (key, newsletter.subject, stored, now.isoformat()),
        )
        newsletter_id = cursor.lastrowid
        connection.executemany(
            "INSERT INTO newsletter_posts (newsletter_id, post_id) VALUES (?, ?)",
            [(newsletter_id, post_id) for post_id in post_ids],
        )
        connection.execute(
            "INSERT INTO deliveries (newsletter_id, subscriber_id, status, updated_at) "
            "SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'",
            (newsletter_id, now_text()),
        )
    return newsletter_id


def recorded(connection: sqlite3.Connection, newsletter_id: int) -> Newsletter:
    """The newsletter exactly as first recorded, so a resumed send mails the same thing."""
    row = connection.execute(
        "SELECT message FROM newsletters WHERE id = ?", (newsletter_id,)
    ).fetchone()
    stored = json.loads(row["message"])
    return Newsletter(stored["subject"], stored["html"], stored["text"], ())


def dry_run(connection: sqlite3.Connection, key: str, subject: str) -> SendReport:
    """Who would get the newsletter now, without recording or sending anything."""
    row = connection.execute("SELECT id FROM newsletters WHERE key = ?", (key,)).fetchone()
    if row:
        query = (
            "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE d.newsletter_id = ? AND d.status = 'pending' AND s.status = 'active' "
            "ORDER BY s.id"
        )
        emails = [r["email"] for r in connection.execute(query, (row["id"],))]
    else:
        query = "SELECT email FROM subscribers WHERE status = 'active' ORDER BY id"
        emails = [r["email"] for r in connection.execute(query)]
    return SendReport(subject, audience=len(emails), pending=len(emails), recipients=emails)


class Mailer:
    """Delivers one recorded newsletter's pending messages, with retries, rate and workers."""

    def __init__(
        self,
        site: Site,
        connection: sqlite3.Connection,
        newsletter_id: int,
        secret: str,
        now: datetime,
        progress: Callable[[SendReport], None] = lambda report: None,
    ) -> None:
        self.site = site
        self.options = site.mail
        self.connection = connection
        self.newsletter_id = newsletter_id
        self.secret = secret
        self.template = MessageTemplate(site, recorded(connection, newsletter_id), now)
        self.sender = sender_address(site)
        self.report = SendReport(self.template.newsletter.subject)
        self.progress = progress
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.next_slot = time.monotonic()
        self.wal = -1
        connection.execute("PRAGMA synchronous = NORMAL")

    def run(self, resend_unknown: bool = False) -> SendReport:
        started = time.monotonic()
        self._settle_interrupted(resend_unknown)
        self.wal = os.open(f"{self.site.root / self.options.state}-wal", os.O_RDONLY)
        for attempt in range(self.options.retries + 1):
            if attempt:
                time.sleep(self.options.retry_delay * 2 ** (attempt - 1))
            self._pass()
            if self.stop.is_set() or not self._count("pending"):
                break
        self._finish()
        os.close(self.wal)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _settle_interrupted(self, resend_unknown: bool) -> None:
        """Resolve deliveries a crash left in 'sending' (see the module's docstring)."""
        transport = open_transport(self.options, self.site.root)
        for row in self._rows("sending"):
            key = self._key(row["subscriber_id"])
            if isinstance(transport, MaildirTransport):
                self._set(row["subscriber_id"], "sent" if transport.settle(key) else "pending")
            else:
                self._set(
                    row["subscriber_id"], "unknown", "interrupted between hand-over and record"
                )
        if resend_unknown:
            with self.lock, transaction(self.connection):
                self.connection.execute(
                    "UPDATE deliveries SET status = 'pending' "
                    "WHERE newsletter_id = ? AND status = 'unknown'",
                    (self.newsletter_id,),
                )

    def _pass(self) -> None:
        work: queue.Queue = queue.Queue(maxsize=self.options.concurrency * 4)
        workers = [
            threading.Thread(target=self._work, args=(work,), daemon=True)
            for _ in range(self.options.concurrency)
        ]
        for worker in workers:
            worker.start()
        for row in self._rows("pending"):
            if self.stop.is_set():
                break
            work.put(row)
        for _ in workers:
            work.put(None)
        for worker in workers:
            worker.join()

    def _work(self, work: queue.Queue) -> None:
        transport = open_transport(self.options, self.site.root)
        try:
            while (row := work.get()) is not None:
                if self.stop.is_set():
                    continue
                try:
                    self._deliver(transport, row)
                except Exception as exc:  # keep draining the queue, or the producer blocks
                    self.report.stopped = f"unexpected error: {exc!r}"
                    self.stop.set()
        finally:
            transport.close()

    def _deliver(self, transport, row: sqlite3.Row) -> None:
        """One message. Rendering it here, not ahead in another thread, keeps the GIL free
        for the moment between the hand-over and its record, which must be as short as can be."""
        subscriber_id = row["subscriber_id"]
        with self.lock:
            current = self.connection.execute(
                "SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)
            ).fetchone()
        if current is None or current["status"] != "active":
            self._set(subscriber_id, "skipped", "no longer subscribed")
            self._count_outcome("skipped")
            return
        token = make_token(self.secret, subscriber_id)
        recipient = Recipient(row["email"], row["name"], unsubscribe_url(self.site, token))
        data = self.template.render(recipient)
        self._wait_for_rate()
        try:
            outcome = transport.deliver(
                self._key(subscriber_id),
                self.sender,
                recipient.email,
                data,
                lambda: self._set(subscriber_id, "sending"),
                self._flush,
            )
        except StopSending as exc:
            self._set(subscriber_id, "pending", str(exc), attempted=True)
            self.report.stopped = str(exc)
            self.stop.set()
            return
        self._record(subscriber_id, outcome)

    def _record(self, subscriber_id: int, outcome: Outcome) -> None:
        status = {"sent": "sent", "bounce": "bounced"}.get(outcome.kind, "pending")
        self._set(subscriber_id, status, outcome.detail, attempted=True)
        if outcome.kind == "bounce":
            with self.lock:
                set_status(self.connection, subscriber_id, "bounced")
        self._count_outcome(outcome.kind)

    def _count_outcome(self, kind: str) -> None:
        with self.lock:
            if kind == "sent":
                self.report.sent += 1
            elif kind == "bounce":
                self.report.bounced += 1
            elif kind == "skipped":
                self.report.skipped += 1
            self.progress(self.report)

    def _wait_for_rate(self) -> None:
        if not self.options.rate:
            return
        with self.lock:
            slot = max(self.next_slot, time.monotonic())
            self.next_slot = slot + 1 / self.options.rate
        time.sleep(max(0.0, slot - time.monotonic()))

    def _set(
        self, subscriber_id: int, status: str, error: str = "", attempted: bool = False
    ) -> None:
        """Record one delivery's new status, committed before anything else happens.

        Written, not flushed: a change survives a killed process at once, and reaches the disk
        with the next hand-over's flush (see `_flush`), so nothing slow stands before one.
        """
        with self.lock, transaction(self.connection):
            self.connection.execute(
                "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, "
                "updated_at = ? WHERE newsletter_id = ? AND subscriber_id = ?",
                (status, error, int(attempted), now_text(), self.newsletter_id, subscriber_id),
            )

    def _flush(self) -> None:
        """Flush the state's write-ahead log to disk while the server decides on a message,
        so a power cut after the hand-over cannot lose its "sending"."""
        os.fsync(self.wal)

    def _rows(self, status: str) -> Iterator[sqlite3.Row]:
        """The newsletter's deliveries in one status, read in batches so memory stays flat."""
        last = 0
        while True:
            with self.lock:
                rows = self.connection.execute(
                    "SELECT d.subscriber_id, s.email, s.name FROM deliveries d "
                    "JOIN subscribers s ON s.id = d.subscriber_id "
                    "WHERE d.newsletter_id = ? AND d.status = ? AND d.subscriber_id > ? "
                    "ORDER BY d.subscriber_id LIMIT ?",
                    (self.newsletter_id, status, last, BATCH),
                ).fetchall()
            if not rows:
                return
            yield from rows
            last = rows[-1]["subscriber_id"]

    def _count(self, status: str) -> int:
        with self.lock:
            return self.connection.execute(
                "SELECT count(*) FROM deliveries WHERE newsletter_id = ? AND status = ?",
                (self.newsletter_id, status),
            ).fetchone()[0]

    def _finish(self) -> None:
        report = self.report
        report.pending = self._count("pending")
        report.unknown = self._count("unknown")
        report.audience = self.connection.execute(
            "SELECT count(*) FROM deliveries WHERE newsletter_id = ?", (self.newsletter_id,)
        ).fetchone()[0]
        report.already_sent = self._count("sent") - report.sent
        if not report.pending and not report.stopped:
            with self.lock, transaction(self.connection):
                self.connection.execute(
                    "UPDATE newsletters SET finished_at = coalesce(finished_at, ?) WHERE id = ?",
                    (now_text(), self.newsletter_id),
                )

    def _key(self, subscriber_id: int) -> str:
        return f"publisher-{self.newsletter_id}-{subscriber_id}"
