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

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from publisher.mail.mime import MessageTemplate, sender_address, unsubscribe_url
from publisher.mail.newsletter import Newsletter, Recipient
from publisher.mail.status import DeliveryStatus, SubscriberStatus
from publisher.mail.store import Store, Subscriber
from publisher.mail.tokens import make_token
from publisher.mail.transports import (
    MaildirTransport,
    Outcome,
    StopSending,
    Verdict,
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
    recipients: list[str] = field(default_factory=list)


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
        self.template = MessageTemplate(site, newsletter, now)
        self.sender = sender_address(site)
        self.report = SendReport(newsletter.subject)
        self.progress = progress
        self.lock = threading.Lock()
        self.rows_lock = threading.Lock()
        self.stop = threading.Event()
        self.next_slot = time.monotonic()

    def run(self, *, resend_unknown: bool = False) -> SendReport:
        started = time.monotonic()
        self._settle_interrupted(resend_unknown=resend_unknown)
        with self.store.sending() as self.flusher:
            for attempt in range(self.options.retries + 1):
                if attempt:
                    time.sleep(self.options.retry_delay * 2 ** (attempt - 1))
                self._pass()
                if self.stop.is_set() or not self._counts()[DeliveryStatus.PENDING]:
                    break
        if self.flusher.failure and not self.report.stopped:
            self.report.stopped = f"cannot flush the state file to disk: {self.flusher.failure}"
        self._finish()
        self.report.seconds = time.monotonic() - started
        return self.report

    def _settle_interrupted(self, *, resend_unknown: bool) -> None:
        """Resolve deliveries a crash left in 'sending' (see the module's docstring)."""
        transport = open_transport(self.options, self.site.root)
        for subscriber in self.store.deliveries(self.newsletter_id, DeliveryStatus.SENDING):
            if isinstance(transport, MaildirTransport):
                found = transport.settle(self._key(subscriber.id))
                self._set(subscriber.id, DeliveryStatus.SENT if found else DeliveryStatus.PENDING)
            else:
                self._set(
                    subscriber.id,
                    DeliveryStatus.UNKNOWN,
                    "interrupted between hand-over and record",
                )
        if resend_unknown:
            self.store.resend_unknown(self.newsletter_id)

    def _pass(self) -> None:
        """Every pending delivery once, the workers taking the next from one shared reader."""
        rows = self.store.deliveries(self.newsletter_id, DeliveryStatus.PENDING)
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

        def about_to_hand_over(delivery: Delivery) -> None:
            try:
                self.flusher.wait(flushed)
            except OSError as exc:
                # Without a durable record, a message handed over could go again after a
                # power cut: stop rather than risk it.
                raise StopSending(f"cannot flush the state file to disk: {exc}") from None
            self._set(delivery.subscriber_id, DeliveryStatus.SENDING)

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

    def _next_delivery(self, rows: Iterator[Subscriber]) -> Delivery | None:
        """The next pending subscriber's message; None when there are no more.

        Each is checked just before, so one who unsubscribed during the send gets nothing."""
        while not self.stop.is_set():
            with self.rows_lock:
                row = next(rows, None)
            if row is None:
                return None
            current = self.store.get_subscriber(row.id)
            if current is not None and current.status == SubscriberStatus.ACTIVE:
                token = make_token(self.secret, row.uid)
                recipient = Recipient(row.email, row.name, unsubscribe_url(self.site, token))
                return Delivery(row.id, row.email, self.template.render(recipient))
            self._set(row.id, DeliveryStatus.SKIPPED, "no longer subscribed")
            self._count(DeliveryStatus.SKIPPED)
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
            self._set(delivery.subscriber_id, DeliveryStatus.PENDING, str(exc), attempted=True)
            self.report.stopped = str(exc)
            self.stop.set()
            return
        self._record(delivery.subscriber_id, outcome)

    def _record(self, subscriber_id: int, outcome: Outcome) -> None:
        status = OUTCOME_STATUS[outcome.kind]
        self._set(subscriber_id, status, outcome.detail, attempted=True)
        if status == DeliveryStatus.BOUNCED:
            self.store.set_subscriber_status(subscriber_id, SubscriberStatus.BOUNCED)
        self._count(status)

    def _count(self, status: DeliveryStatus) -> None:
        with self.lock:
            if status == DeliveryStatus.SENT:
                self.report.sent += 1
            elif status == DeliveryStatus.BOUNCED:
                self.report.bounced += 1
            elif status == DeliveryStatus.SKIPPED:
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
        if not report.pending and not report.stopped:
            self.store.finish_newsletter(self.newsletter_id)

    def _key(self, subscriber_id: int) -> str:
        return f"publisher-{self.newsletter_id}-{subscriber_id}"


OUTCOME_STATUS = {
    Verdict.SENT: DeliveryStatus.SENT,
    Verdict.RETRY: DeliveryStatus.PENDING,
    Verdict.BOUNCE: DeliveryStatus.BOUNCED,
}
