"""The email a subscriber receives: one newsletter, personalized, as a standard MIME message.

The message is built once per newsletter with the standard library's `email` package and its
SMTP policy. Each subscriber's copy then only adds the headers that are theirs and fills in
the two parts, so mailing a large list costs a string substitution and a quoted-printable
encoding per subscriber, not a new message.
"""

from __future__ import annotations

import binascii
import re
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path
from urllib.parse import quote

from publisher.mail.newsletter import (
    Newsletter,
    Recipient,
    check_header,
    personalize,
    web_version,
)
from publisher.site.config import Site
from publisher.site.files import write_if_changed
from publisher.site.problems import Problems, SiteError

# dkimpy's default list leaves out List-Unsubscribe-Post, which RFC 8058 wants signed.
DKIM_HEADERS = [
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"feedback-id",
    b"mime-version",
    b"content-type",
]
_TEXT_MARK = "publisher-text-part-b3c1f0"
_HTML_MARK = "publisher-html-part-9d2a7e"


def sender_address(site: Site) -> str:
    return site.newsletter.from_address or f"newsletter@{site.domain}"


def list_id(site: Site) -> str:
    """RFC 2919's List-Id: a readable name and a label on the site's own domain."""
    name = re.sub(r'[<>"\\\r\n]', "", site.title)
    return f"{name} <newsletter.{site.domain}>"


class MessageTemplate:
    """A newsletter's message, built once; `render` makes one subscriber's copy."""

    def __init__(
        self,
        site: Site,
        newsletter: Newsletter,
        now: datetime,
        *,
        list_headers: bool = True,
        campaign: str = "preview",
    ) -> None:
        """`list_headers`: the List-Unsubscribe headers of a list's mail; a sign-up's
        confirmation has none, as nobody is on the list yet. `campaign` names the newsletter
        in the Feedback-ID."""
        options = site.newsletter
        self.site = site
        self.newsletter = newsletter
        self.now = now
        self.list_headers = list_headers
        self.domain = sender_address(site).rpartition("@")[2]
        skeleton = EmailMessage(policy=SMTP)
        sender_name = check_header("From", options.from_name or site.title)
        # An Address, not a formatted string, so the email package never reads the name
        # as structure when it folds the line.
        skeleton["From"] = Address(display_name=sender_name, addr_spec=sender_address(site))
        headers = {"Subject": newsletter.subject, "List-Id": list_id(site)}
        if list_headers:
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            headers["Feedback-ID"] = feedback_id(site, campaign)
        if options.reply_to:
            headers["Reply-To"] = options.reply_to
        for name, value in headers.items():
            skeleton[name] = check_header(name, value)
        skeleton.set_content(_TEXT_MARK, cte="quoted-printable")
        skeleton.add_alternative(_HTML_MARK, subtype="html", cte="quoted-printable")
        self.skeleton = skeleton.as_bytes()
        self.dkim_key = _read_key(site) if site.mail.dkim_key else b""

    def render(self, recipient: Recipient, *, date: datetime | None = None) -> bytes:
        """The complete message for one subscriber, with only them in To, dated `date` (by
        default the moment the template was made for)."""
        check_header("the subscriber's name", recipient.name)
        html, text = personalize(self.newsletter, recipient)
        own_headers = (
            _to_header(recipient)
            + SMTP.fold("Date", format_datetime(date or self.now))
            + SMTP.fold("Message-ID", make_msgid(domain=self.domain))
        )
        if self.list_headers:
            urls = unsubscribe_urls(self.site, recipient)
            own_headers += "List-Unsubscribe: " + ",\r\n ".join(f"<{u}>" for u in urls) + "\r\n"
        body = self.skeleton.replace(_TEXT_MARK.encode(), _quoted_printable(text), 1)
        body = body.replace(_HTML_MARK.encode(), _quoted_printable(html), 1)
        return self._signed(own_headers.encode() + body)

    def _signed(self, message: bytes) -> bytes:
        """DKIM-sign when a key is configured, covering both unsubscribe headers (RFC 8058 4)."""
        if not self.dkim_key:
            return message
        import dkim

        signature = dkim.sign(
            message,
            self.site.mail.dkim_selector.encode(),
            self.domain.encode(),
            self.dkim_key,
            include_headers=DKIM_HEADERS,
            # Relaxed for the body too: a relay that rewraps lines keeps the signature.
            canonicalize=(b"relaxed", b"relaxed"),
        )
        return signature + message


def feedback_id(site: Site, campaign: str) -> str:
    """Gmail's feedback loop key (campaign:mail type:sender), so complaints are reported per
    newsletter; the sender, last, is the site's domain."""
    return f"{campaign}:newsletter:{site.domain}"


def unsubscribe_urls(site: Site, recipient: Recipient) -> list[str]:
    """The one-click HTTPS link first (RFC 8058), then a mailto: where one is configured."""
    urls = [recipient.unsubscribe_url]
    if site.newsletter.unsubscribe_mailto:
        # With the token, `publisher unsubscribe <subject's token>` finds them, whatever
        # address the request comes from.
        subject = quote(f"unsubscribe {recipient.token}".strip())
        urls.append(f"mailto:{site.newsletter.unsubscribe_mailto}?subject={subject}")
    return urls


def unsubscribe_url(site: Site, token: str) -> str:
    """The subscriber's page at `publisher serve` (or at the site, or as configured)."""
    base = site.service.url or site.url
    template = site.newsletter.unsubscribe_url or f"{base}/unsubscribe?token={{token}}"
    return template.replace("{token}", token)


def preview_recipient(site: Site) -> Recipient:
    """The stand-in subscriber a preview is addressed to."""
    return Recipient(
        "subscriber@example.com", "", unsubscribe_url(site, "preview"), token="preview"
    )


def write_preview(site: Site, letter: Newsletter, out: Path, now: datetime) -> dict[str, int]:
    """The newsletter as a stand-in subscriber gets it, in three files, and its web version;
    their sizes by name."""
    recipient = preview_recipient(site)
    html, text = personalize(letter, recipient)
    eml = MessageTemplate(site, letter, now).render(recipient)
    files = {"message.html": html.encode(), "message.txt": text.encode(), "message.eml": eml}
    web = web_version(site, list(letter.posts), Problems()) if letter.posts else None
    if web is not None:
        files["web.html"] = web.encode()
    for name, data in files.items():
        write_if_changed(out / name, data)
    return {name: len(data) for name, data in files.items()}


def _to_header(recipient: Recipient) -> str:
    """The subscriber's To line, their name quoted or encoded whole, never parsed again: the
    email package's folding would read a name such as "Bcc: ..." as structure. Addresses
    are ASCII (subscribers.normalize)."""
    if not recipient.name:
        return f"To: {recipient.email}\r\n"
    if recipient.name.isascii():
        return f"To: {formataddr((recipient.name, recipient.email))}\r\n"
    words = Header(recipient.name, "utf-8", header_name="To").encode(linesep="\r\n")
    return f"To: {words} <{recipient.email}>\r\n"


def _read_key(site: Site) -> bytes:
    try:
        return (site.root / site.mail.dkim_key).read_bytes()
    except OSError as exc:
        problems = Problems()
        problems.error(
            site.source, f"cannot read the DKIM key {site.mail.dkim_key!r}: {exc.strerror}"
        )
        raise SiteError(problems) from None


def _quoted_printable(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return binascii.b2a_qp(data, istext=True).rstrip(b"\r\n")
