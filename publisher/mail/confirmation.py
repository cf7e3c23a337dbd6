"""The message that asks whoever signed up to confirm: rendered once, mailed to each sign-up.

It goes through the site's own transport (the Maildir, or the SMTP server), with the
newsletter's templates and headers but without List-Unsubscribe: nobody is on the list yet.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import UTC, datetime

from publisher.mail.mime import MessageTemplate, sender_address
from publisher.mail.newsletter import Recipient, confirmation_newsletter
from publisher.mail.transports import HandOver, Outcome, StopSending, Verdict, open_transport
from publisher.site.config import Site


class ConfirmationMailer:
    """Mails confirmation links one at a time over one transport, reopened as needed."""

    def __init__(self, site: Site) -> None:
        letter = confirmation_newsletter(site)
        self.template = MessageTemplate(site, letter, datetime.now(UTC), list_headers=False)
        self.sender = sender_address(site)
        self.transport = open_transport(site.mail, site.root)
        self.lock = threading.Lock()

    def message(self, email: str, confirm_url: str) -> bytes:
        """One sign-up's message, dated now."""
        recipient = Recipient(email, "", "", confirm_url)
        return self.template.render(recipient, date=datetime.now(UTC))

    def send(self, email: str, confirm_url: str) -> Outcome:
        """Hand the message over; a failure comes back as an Outcome, never raised."""
        data = self.message(email, confirm_url)
        key = f"{time.time_ns()}.{secrets.token_hex(6)}.publisher-confirm"
        with self.lock:
            try:
                return self.transport.deliver(key, self.sender, email, data, NO_RECORD)
            except StopSending as exc:
                return Outcome(Verdict.RETRY, str(exc))

    def close(self) -> None:
        self.transport.close()


def _nothing() -> None:
    """A confirmation keeps no delivery record: a lost one is asked for again."""


NO_RECORD = HandOver(_nothing, _nothing, _nothing)
