"""Signing up, confirming and leaving, by the rules of `publisher serve`, without HTTP.

Nobody becomes a subscriber before their confirmation. Every limit is counted in the state,
so it holds across restarts, and nothing logged names an address in clear: a keyed hash
stands for it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import queue
import threading
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import quote

from publisher.mail.confirmation import ConfirmationMailer
from publisher.mail.status import Confirmed, SubscriberStatus
from publisher.mail.store import Limit, Store, Subscriber
from publisher.mail.subscribers import SubscriberError, by_token, check_name, normalize
from publisher.mail.tokens import make_confirm_token, read_confirm_token
from publisher.mail.transports import Verdict, destination
from publisher.site.config import Site

log = logging.getLogger("publisher.serve")
HOUR = 3600
DAY = 24 * HOUR
# Sign-ups of one address a day; one confirmation mail a day at most, whatever this says.
SIGNUPS_PER_ADDRESS = 3
# Confirmations waiting for the mail server; past this, a sign-up is asked to come back.
MAIL_BACKLOG = 1000


@dataclass(frozen=True)
class SignupForm:
    """What a sign-up form sent: `trap` is the honeypot field, which people leave empty."""

    email: str
    name: str
    trap: str
    network: str


@dataclass(frozen=True)
class Confirmation:
    """A confirmation to mail: to this address, with this link."""

    email: str
    nonce: str
    url: str


class Desk:
    """Takes sign-ups, confirmations and unsubscriptions for one site's state."""

    def __init__(self, site: Site, store: Store, secret: str, *, base_url: str) -> None:
        self.site = site
        self.options = site.service
        self.store = store
        self.secret = secret
        self.base_url = base_url
        self.mailer = ConfirmationMailer(site)
        # What the desk did since it started, for the summary when the service stops.
        self.tally: Counter[str] = Counter()
        # Confirmations are mailed on a thread of their own, in order, after the answer: a
        # slow mail server holds back neither the sign-up's answer nor anyone else's.
        self.outbox: queue.Queue[Confirmation | None] = queue.Queue(MAIL_BACKLOG)
        self.mail_thread = threading.Thread(target=self._mail_all, daemon=True)
        self.mail_thread.start()

    def sign_up(self, form: SignupForm, *, now: datetime) -> Confirmation | None:
        """The confirmation to mail for a sign-up, or None (the reason logged). Raises
        SubscriberError for an address that is not one, so the form can say so."""
        if form.trap:
            log.warning("ignored a sign-up from %s: the honeypot field was filled", form.network)
            self.tally["refused"] += 1
            return None
        try:
            email = normalize(form.email)
        except SubscriberError:
            log.info("refused a sign-up from %s: not an email address", form.network)
            raise
        who = self.fingerprint(email)
        name = self._name(form.name, who)
        refused = self._over_limits(email, who, form.network, now.timestamp())
        if not refused:
            offer = self.store.offer_signup(
                email,
                name,
                now=now,
                resend_after=now - timedelta(days=1),
                expire_before=now - timedelta(days=self.options.confirm_days),
                max_pending=self.options.max_pending,
            )
            refused = offer.refused
        if refused:
            log.warning(
                "mailed nothing for a sign-up of %s from %s: %s", who, form.network, refused
            )
            return None
        token = make_confirm_token(self.secret, email, offer.nonce)
        log.info("sign-up of %s from %s: confirmation to mail", who, form.network)
        return Confirmation(email, offer.nonce, f"{self.base_url}/confirm?token={quote(token)}")

    def post(self, confirmation: Confirmation) -> bool:
        """Queue a confirmation for mailing; False (and the sign-up forgotten) when too many
        wait already."""
        try:
            self.outbox.put_nowait(confirmation)
        except queue.Full:
            log.warning("mailed nothing for a sign-up: %s confirmations wait", MAIL_BACKLOG)
            self.store.drop_signup(confirmation.email, confirmation.nonce)
            return False
        return True

    def _mail_all(self) -> None:
        while (confirmation := self.outbox.get()) is not None:
            self.mail(confirmation)
            self.outbox.task_done()

    def mail(self, confirmation: Confirmation) -> None:
        """Mail one confirmation; when it cannot go, forget the sign-up so it can be asked
        again at once."""
        outcome = self.mailer.send(confirmation.email, confirmation.url)
        who = self.fingerprint(confirmation.email)
        if outcome.kind in (Verdict.SENT, Verdict.UNKNOWN):
            log.info("mailed a confirmation to %s", who)
            self.tally["mailed"] += 1
            return
        log.error("could not mail a confirmation to %s: %s", who, outcome.detail)
        self.store.drop_signup(confirmation.email, confirmation.nonce)

    def check_confirmation(self, token: str) -> tuple[str, str]:
        """The address and nonce a confirmation link is for; TokenError when it is not
        genuine, or older than `confirm_days`."""
        return read_confirm_token(self.secret, token, max_age=self.options.confirm_days * DAY)

    def confirm(self, token: str) -> Confirmed:
        """Make the sign-up a subscriber, once; TokenError as `check_confirmation`."""
        email, nonce = self.check_confirmation(token)
        confirmed = self.store.confirm_signup(email, nonce)
        log.info("confirmation of %s: %s", self.fingerprint(email), confirmed)
        self.tally["confirmed"] += confirmed == Confirmed.SUBSCRIBED
        return confirmed

    def subscriber(self, token: str) -> Subscriber | None:
        """Who an unsubscribe link names, if they are still on the list; TokenError when the
        link is not genuine."""
        return by_token(self.store, self.secret, token)

    def unsubscribe(self, token: str, *, how: str) -> Subscriber | None:
        subscriber = self.subscriber(token)
        if subscriber and subscriber.status == SubscriberStatus.ACTIVE:
            self.store.set_subscriber_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED)
            log.info("unsubscribed %s (%s)", self.fingerprint(subscriber.email), how)
            self.tally["unsubscribed"] += 1
            return replace(subscriber, status=SubscriberStatus.UNSUBSCRIBED)
        return subscriber

    def resubscribe(self, token: str) -> Subscriber | None:
        """Undo an unsubscription, from the page its link opened."""
        subscriber = self.subscriber(token)
        if subscriber and subscriber.status != SubscriberStatus.ACTIVE:
            self.store.reactivate_subscriber(subscriber.id)
            log.info("resubscribed %s", self.fingerprint(subscriber.email))
            self.tally["resubscribed"] += 1
            return self.store.get_subscriber(subscriber.id)
        return subscriber

    def fingerprint(self, email: str) -> str:
        """An address as logs and limits name it: a keyed hash, the same for every run."""
        key = email.casefold().encode()
        return "addr-" + hmac.new(self.secret.encode(), key, hashlib.sha256).hexdigest()[:12]

    def summary(self) -> str:
        """What the desk did, in one line."""
        tally = self.tally
        return (
            f"{tally['mailed']} confirmations mailed to {destination(self.site.mail)}, "
            f"{tally['confirmed']} confirmed, {tally['unsubscribed']} unsubscribed, "
            f"{tally['resubscribed']} resubscribed, {tally['refused']} sign-ups refused"
        )

    def close(self) -> None:
        """Mail what is queued, then close the mail transport and the state, which the desk
        holds until then."""
        self.outbox.put(None)
        self.mail_thread.join()
        self.mailer.close()
        self.store.close()

    def _name(self, name: str, who: str) -> str:
        try:
            return check_name(name)
        except SubscriberError as exc:
            log.info("dropped the name of a sign-up of %s: %s", who, exc)
            return ""

    def _over_limits(self, email: str, who: str, network: str, now: float) -> str:
        """Why this sign-up is over a limit, or ""; when it is within all, each counts it."""
        domain = email.rpartition("@")[2].casefold()
        limits = [
            Limit(f"network:{network}", self.options.signups_per_network, HOUR, "from its network"),
            Limit(f"domain:{domain}", self.options.signups_per_domain, HOUR, "to its domain"),
            Limit(who, SIGNUPS_PER_ADDRESS, DAY, "of the address"),
        ]
        reached = self.store.count_hits(limits, now=now)
        if reached is None:
            return ""
        span = "an hour" if reached.period == HOUR else "a day"
        return f"more than {reached.most} sign-ups {reached.what} in {span}"
