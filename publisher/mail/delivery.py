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
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from publisher.mail.mime import MessageTemplate, sender_address, unsubscribe_url
from publisher.mail.newsletter import Newsletter, Recipient
from publisher.mail.store import now_text, transaction
from publisher.mail.subscribers import set_status
from publisher.mail.tokens import make_token
from publisher.mail.transports import MaildirTransport, Outcome, StopSending, open_transport
from publisher.site.config import Site
from publisher.site.post import Post

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


@dataclass(frozen=True)
class Delivery:
    """One subscriber's copy of the newsletter, ready to hand over."""

    subscriber_id: int
    email: str
    data: bytes


class LogFlusher:
    """Flushes the state's write-ahead log to disk on a thread of its own.

    A worker asks for a flush right after a hand-over and waits for it only before its next
    one, so the disk works while the server decides and the next message goes out.
    """

    def __init__(self, wal: Path) -> None:
        self.fd = os.open(wal, os.O_RDONLY)
        self.asked = 0
        self.done = 0
        self.closing = False
        self.failure: OSError | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def ask(self) -> int:
        """A ticket: the flush that will cover every commit made so far."""
        with self.changed:
            self.asked += 1
            self.changed.notify_all()
            return self.asked

    def wait(self, ticket: int) -> None:
        """Until the flush of `ticket` is done. A failed flush stops the send: without a
        durable record, a message handed over could be sent again after a power cut."""
        with self.changed:
            self.changed.wait_for(lambda: self.done >= ticket)
            if self.failure:
                raise StopSending(f"cannot flush the state file to disk: {self.failure}")

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        self.thread.join()
        os.fsync(self.fd)
        os.close(self.fd)

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.asked > self.done or self.closing)
                if self.asked == self.done:
                    return
                target = self.asked
            try:
                os.fsync(self.fd)
            except OSError as exc:
                self.failure = exc
            with self.changed:
                self.done = target
                self.changed.notify_all()


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
        self.rows_lock = threading.Lock()
        self.stop = threading.Event()
        self.next_slot = time.monotonic()
        connection.execute("PRAGMA synchronous = NORMAL")

    def run(self, resend_unknown: bool = False) -> SendReport:
        started = time.monotonic()
        self._settle_interrupted(resend_unknown)
        self.flusher = LogFlusher(Path(f"{self.site.root / self.options.state}-wal"))
        try:
            for attempt in range(self.options.retries + 1):
                if attempt:
                    time.sleep(self.options.retry_delay * 2 ** (attempt - 1))
                self._pass()
                if self.stop.is_set() or not self._count("pending"):
                    break
        finally:
            self.flusher.close()
        self._finish()
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
            with self.lock:
                self.connection.execute(
                    "UPDATE deliveries SET status = 'pending' "
                    "WHERE newsletter_id = ? AND status = 'unknown'",
                    (self.newsletter_id,),
                )

    def _pass(self) -> None:
        """Every pending delivery once, the workers taking the next from one shared reader."""
        rows = self._rows("pending")
        workers = [
            threading.Thread(target=self._work, args=(rows,), daemon=True)
            for _ in range(self.options.concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _work(self, rows: Iterator[sqlite3.Row]) -> None:
        """One connection. Its next message is made while the server decides on the current
        one, in this thread: another thread would compete for the GIL in the moment between
        a hand-over's record and the hand-over itself, which must be as short as can be."""
        transport = open_transport(self.options, self.site.root)
        upcoming: list[Delivery | None] = []
        flushed = 0

        def about_to_hand_over(delivery: Delivery) -> None:
            self.flusher.wait(flushed)
            self._set(delivery.subscriber_id, "sending")

        def handed_over() -> None:
            nonlocal flushed
            flushed = self.flusher.ask()
            upcoming.append(self._next_delivery(rows))

        try:
            while not self.stop.is_set():
                delivery = upcoming.pop() if upcoming else self._next_delivery(rows)
                if delivery is None:
                    break
                self._deliver(transport, delivery, about_to_hand_over, handed_over)
        except Exception as exc:
            self.report.stopped = f"unexpected error: {exc!r}"
            self.stop.set()
        finally:
            transport.close()

    def _next_delivery(self, rows: Iterator[sqlite3.Row]) -> Delivery | None:
        """The next pending subscriber's message; None when there are no more.

        Each is checked just before, so one who unsubscribed during the send gets nothing."""
        while not self.stop.is_set():
            with self.rows_lock:
                row = next(rows, None)
            if row is None:
                return None
            subscriber_id = row["subscriber_id"]
            with self.lock:
                current = self.connection.execute(
                    "SELECT status FROM subscribers WHERE id = ?", (subscriber_id,)
                ).fetchone()
            if current is not None and current["status"] == "active":
                token = make_token(self.secret, subscriber_id)
                recipient = Recipient(row["email"], row["name"], unsubscribe_url(self.site, token))
                return Delivery(subscriber_id, row["email"], self.template.render(recipient))
            self._set(subscriber_id, "skipped", "no longer subscribed")
            self._count_outcome("skipped")
        return None

    def _deliver(
        self,
        transport,
        delivery: Delivery,
        about_to_hand_over: Callable[[Delivery], None],
        handed_over: Callable[[], None],
    ) -> None:
        self._wait_for_rate()
        try:
            outcome = transport.deliver(
                self._key(delivery.subscriber_id),
                self.sender,
                delivery.email,
                delivery.data,
                lambda: about_to_hand_over(delivery),
                handed_over,
            )
        except StopSending as exc:
            self._set(delivery.subscriber_id, "pending", str(exc), attempted=True)
            self.report.stopped = str(exc)
            self.stop.set()
            return
        self._record(delivery.subscriber_id, outcome)

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
        """Record one delivery's new status: one statement, committed on its own at once.

        Written, not flushed: a change survives a killed process at once, and reaches the disk
        with the flush that follows the next hand-over (see `LogFlusher`)."""
        with self.lock:
            self.connection.execute(
                "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, "
                "updated_at = ? WHERE newsletter_id = ? AND subscriber_id = ?",
                (status, error, int(attempted), now_text(), self.newsletter_id, subscriber_id),
            )

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
