"""Mailing a newsletter to every active subscriber exactly once, through crashes and reruns.

A newsletter is recorded first, with a snapshot of its audience: one pending delivery per
subscriber active at that moment. Each delivery then moves pending -> sending -> sent (or
bounced), every step recorded by the next hand-over at the latest. "sending" is committed
before the act that hands the message over (the last bytes of the SMTP end-of-data mark, the
Maildir rename), so the server never has a message we have no record of: SQLite writes it
just before the act, PostgreSQL while the message goes out. A delivery still pending after
a crash was never handed over and is sent. One found in "sending" was handed over, or the
crash fell in the moment before: for a Maildir we look; over SMTP we cannot know, so it
becomes "unknown", is reported, and is resent only with --resend-unknown.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from publisher.mail.mime import MessageTemplate, sender_address, unsubscribe_url
from publisher.mail.newsletter import Newsletter, Recipient
from publisher.mail.status import DeliveryStatus, SubscriberStatus
from publisher.mail.store import StateError, Store, Subscriber
from publisher.mail.tokens import make_token
from publisher.mail.transports import (
    HandOver,
    MaildirTransport,
    Outcome,
    StopSending,
    Verdict,
    Withdrawn,
    destination,
    open_transport,
)
from publisher.site.config import Site


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
    # Time spent on attempts that reached no server or got no reply.
    waited: float = 0.0
    # Why a newsletter recorded earlier was given up rather than sent.
    abandoned: str = ""
    # The latest reply or failure that left a delivery pending, for the summary.
    last_error: str = ""
    # Where the messages went: the SMTP server or the Maildir.
    destination: str = ""


@dataclass(frozen=True)
class Delivery:
    """One subscriber's copy of the newsletter, ready to hand over."""

    subscriber_id: int
    email: str
    data: bytes


class Mailer:
    """Delivers one recorded newsletter's pending messages, with retries, rate and workers."""

    def __init__(
        self,
        site: Site,
        store: Store,
        newsletter_id: int,
        secret: str,
        now: datetime,
        progress: Callable[[SendReport], None] = lambda report: None,
    ) -> None:
        self.site = site
        self.options = site.mail
        self.store = store
        self.newsletter_id = newsletter_id
        self.secret = secret
        stored = store.recorded_newsletter(newsletter_id)
        newsletter = Newsletter(stored.subject, stored.html, stored.text, ())
        self.template = MessageTemplate(site, newsletter, now, campaign=f"n{newsletter_id}")
        self.sender = sender_address(site)
        self.report = SendReport(newsletter.subject, destination=destination(site.mail))
        self.progress = progress
        self.lock = threading.Lock()
        self.rows_lock = threading.Lock()
        self.stop = threading.Event()
        self.next_slot = time.monotonic()
        self.unreachable = 0
        self.held: list[tuple[int, str]] = []
        self.streak_reply = ""

    def run(self, *, resend_unknown: bool = False) -> SendReport:
        started = time.monotonic()
        self._settle_interrupted()
        if resend_unknown:
            self.store.resend_unknown(self.newsletter_id)
        with self.store.group_flushes() as self.flusher:
            for attempt in range(self.options.retries + 1):
                if attempt:
                    time.sleep(self.options.retry_delay * 2 ** (attempt - 1))
                self._pass()
                if not self.stop.is_set():
                    self._release_bounces()
                    # What another sender, gone since, left in the middle of a hand-over.
                    self._settle_interrupted()
                if self.stop.is_set() or not self._counts()[DeliveryStatus.PENDING]:
                    break
        if self.flusher.failure and not self.report.stopped:
            self.report.stopped = f"cannot flush the state file to disk: {self.flusher.failure}"
        self._finish()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _settle_interrupted(self) -> None:
        """Resolve deliveries a crash left in 'sending' (see the module's docstring)."""
        transport = open_transport(self.options, self.site.root)
        for subscriber in self.store.interrupted(self.newsletter_id):
            if isinstance(transport, MaildirTransport):
                found = transport.settle(self._key(subscriber.id))
                self._set(subscriber.id, DeliveryStatus.SENT if found else DeliveryStatus.PENDING)
            else:
                self._set(
                    subscriber.id,
                    DeliveryStatus.UNKNOWN,
                    "interrupted between hand-over and record",
                )

    def _pass(self) -> None:
        """Every pending delivery once, the workers taking the next from one shared reader;
        the pass ends when each has written its last verdict."""
        rows = self.store.claim(self.newsletter_id)
        workers = [
            threading.Thread(target=self._work, args=(rows,), daemon=True)
            for _ in range(self.options.concurrency)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    def _work(self, rows: Iterator[Subscriber]) -> None:
        """One connection. Its next message is made while the server decides on the current
        one, in this thread: another thread would compete for the GIL in the moment between
        a hand-over's record and the hand-over itself, which must be as short as can be."""
        transport = open_transport(self.options, self.site.root)
        upcoming: list[Delivery | None] = []
        flushed = 0

        def handed_over() -> None:
            nonlocal flushed
            flushed = self.flusher.ask()
            upcoming.append(self._next_delivery(rows))

        try:
            while not self.stop.is_set():
                delivery = upcoming.pop() if upcoming else self._next_delivery(rows)
                if delivery is None:
                    break
                self._deliver(transport, delivery, flushed=flushed, handed_over=handed_over)
        except StateError as exc:
            self._stop_for(str(exc))
        except Exception as exc:
            self._stop_for(f"unexpected error: {exc!r}")
        finally:
            transport.close()
            self._flush_verdicts()

    def _next_delivery(self, rows: Iterator[Subscriber]) -> Delivery | None:
        """The next pending subscriber's message; None when there are no more. One who
        unsubscribes meanwhile gets nothing: their delivery is no longer pending at the
        hand-over (see `_deliver`)."""
        if self.stop.is_set():
            return None
        with self.rows_lock:
            row = next(rows, None)
        if row is None:
            return None
        token = make_token(self.secret, row.uid)
        recipient = Recipient(row.email, row.name, unsubscribe_url(self.site, token), token=token)
        return Delivery(row.id, row.email, self.template.render(recipient))

    def _deliver(
        self, transport, delivery: Delivery, *, flushed: int, handed_over: Callable[[], None]
    ) -> None:
        self._wait_for_rate()
        started = time.monotonic()
        try:
            outcome = self._transfer(transport, delivery, flushed=flushed, handed_over=handed_over)
        except StopSending as exc:
            self._set(delivery.subscriber_id, DeliveryStatus.PENDING, str(exc), attempted=True)
            self._stop_for(str(exc))
            return
        except Withdrawn:
            # Skipped when the subscriber left; else another sender has it, and its record.
            current = self.store.get_subscriber(delivery.subscriber_id)
            if current is None or current.status != SubscriberStatus.ACTIVE:
                self._count(DeliveryStatus.SKIPPED)
            return
        if outcome.unreachable or outcome.kind == Verdict.UNKNOWN:
            with self.lock:
                self.report.waited += time.monotonic() - started
        self._watch_reachability(outcome)
        self._record(delivery, outcome)

    def _transfer(
        self, transport, delivery: Delivery, *, flushed: int, handed_over: Callable[[], None]
    ) -> Outcome:
        """The hand-over begins once the server takes the recipient, after the flush of the
        one before (PostgreSQL sends its statement then; SQLite writes at the answer); it is
        answered before the act, or before the verdict when the message never went."""
        answers: list[Callable[[bool], bool]] = []

        def begin() -> None:
            try:
                self.flusher.wait(flushed)
            except OSError as exc:
                # Without a durable record, a message handed over could go again after a
                # power cut: stop rather than risk it.
                raise StopSending(f"cannot flush the state file to disk: {exc}") from None
            answers.append(self.store.begin_hand_over(self.newsletter_id, delivery.subscriber_id))

        def confirm() -> None:
            if not answers.pop()(True):
                raise Withdrawn

        try:
            return transport.deliver(
                self._key(delivery.subscriber_id),
                self.sender,
                delivery.email,
                delivery.data,
                HandOver(begin, confirm, handed_over),
            )
        finally:
            for answer in answers:
                answer(False)

    def _stop_for(self, reason: str) -> None:
        with self.lock:
            self.report.stopped = self.report.stopped or reason
        self.stop.set()

    def _watch_reachability(self, outcome: Outcome) -> None:
        """A few attempts in a row that reach no server stop the run: trying every subscriber
        against a dead server would take hours."""
        with self.lock:
            self.unreachable = self.unreachable + 1 if outcome.unreachable else 0
            if self.unreachable < MAX_UNREACHABLE:
                return
        self._stop_for(
            f"could not reach the mail server {MAX_UNREACHABLE} times in a row "
            f"(last: {outcome.detail})"
        )

    def _record(self, delivery: Delivery, outcome: Outcome) -> None:
        if outcome.kind == Verdict.BOUNCE:
            self._hold_bounce(delivery, outcome.detail)
            return
        self._release_bounces()
        status = OUTCOME_STATUS[outcome.kind]
        try:
            self.store.record_verdict(
                self.newsletter_id, delivery.subscriber_id, status, outcome.detail
            )
        except StateError as exc:
            self._stop_for(f"cannot record a delivery: {exc}")
        if status != DeliveryStatus.SENT:
            with self.lock:
                self.report.last_error = outcome.detail
        self._count(status)

    def _hold_bounce(self, delivery: Delivery, reply: str) -> None:
        """A bounce waits for the next different reply before it counts: the same refusal
        for many recipients in a row is the server refusing us, and bounces nobody."""
        self._set(delivery.subscriber_id, DeliveryStatus.PENDING, reply, attempted=True)
        same = re.sub(r"<[^>]*>|\S+@\S+", "", reply).strip()
        with self.lock:
            if same != self.streak_reply:
                self._release_bounces_locked()
                self.streak_reply = same
            self.held.append((delivery.subscriber_id, reply))
            streak = len(self.held)
            if streak >= BOUNCE_STREAK:
                self.held.clear()  # they stay pending: none of them is bounced
        if streak >= BOUNCE_STREAK:
            self._stop_for(
                f"the server refused {streak} recipients in a row with the same reply "
                f"({reply}): it refuses us, not them; none was marked bounced"
            )

    def _release_bounces(self) -> None:
        with self.lock:
            self._release_bounces_locked()

    def _release_bounces_locked(self) -> None:
        for subscriber_id, reply in self.held:
            self._set(subscriber_id, DeliveryStatus.BOUNCED, reply)
            self.store.set_subscriber_status(subscriber_id, SubscriberStatus.BOUNCED)
            self.report.bounced += 1
            self.progress(self.report)
        self.held.clear()
        self.streak_reply = ""

    def _count(self, status: DeliveryStatus) -> None:
        with self.lock:
            if status == DeliveryStatus.SENT:
                self.report.sent += 1
            elif status == DeliveryStatus.SKIPPED:
                self.report.skipped += 1
            self.progress(self.report)

    def _wait_for_rate(self) -> None:
        """Verdicts still carried are written before a wait, not held through it."""
        if not self.options.rate:
            return
        with self.lock:
            slot = max(self.next_slot, time.monotonic())
            self.next_slot = slot + 1 / self.options.rate
        if slot > time.monotonic():
            self._flush_verdicts()
        time.sleep(max(0.0, slot - time.monotonic()))

    def _flush_verdicts(self) -> None:
        try:
            self.store.flush_verdicts()
        except StateError as exc:
            self._stop_for(f"cannot record a delivery: {exc}")

    def _set(
        self, subscriber_id: int, status: DeliveryStatus, error: str = "", *, attempted=False
    ) -> None:
        """Written, not flushed: a change survives a killed process at once, and reaches the
        disk with the flush that follows the next hand-over (see `LogFlusher`)."""
        self.store.set_delivery(
            self.newsletter_id, subscriber_id, status, error, attempted=attempted
        )

    def _counts(self):
        return self.store.delivery_counts(self.newsletter_id)

    def _finish(self) -> None:
        report = self.report
        counts = self._counts()
        report.pending = counts[DeliveryStatus.PENDING]
        report.unknown = counts[DeliveryStatus.UNKNOWN]
        report.audience = counts.total()
        report.already_sent = counts[DeliveryStatus.SENT] - report.sent
        if not report.pending and not counts[DeliveryStatus.SENDING] and not report.stopped:
            self.store.finish_newsletter(self.newsletter_id)

    def _key(self, subscriber_id: int) -> str:
        return f"publisher-{self.newsletter_id}-{subscriber_id}"


OUTCOME_STATUS = {
    Verdict.SENT: DeliveryStatus.SENT,
    Verdict.RETRY: DeliveryStatus.PENDING,
    Verdict.UNKNOWN: DeliveryStatus.UNKNOWN,
}
# Attempts in a row that reach no server before a send stops.
MAX_UNREACHABLE = 3
# Recipients refused in a row with the same reply before a send stops (and bounces none).
BOUNCE_STREAK = 5
