"""The email a subscriber receives: one newsletter, personalized, as a standard MIME message."""

from __future__ import annotations

import re
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, make_msgid

from publisher.config import Site
from publisher.newsletter import Newsletter, Recipient, check_header, personalize


def sender_address(site: Site) -> str:
    return site.newsletter.from_address or f"newsletter@{site.domain}"


def list_id(site: Site) -> str:
    """RFC 2919's List-Id: a readable name and a label on the site's own domain."""
    name = re.sub(r'[<>"\\\r\n]', "", site.title)
    return f"{name} <newsletter.{site.domain}>"


def build_message(
    site: Site, newsletter: Newsletter, recipient: Recipient, now: datetime
) -> EmailMessage:
    """One message for one subscriber: only them in To, text first, then HTML."""
    options = site.newsletter
    sender = sender_address(site)
    message = EmailMessage(policy=SMTP)
    headers = {
        "From": formataddr((options.from_name or site.title, sender)),
        "To": formataddr((recipient.name, recipient.email)),
        "Subject": newsletter.subject,
        "Date": format_datetime(now),
        "Message-ID": make_msgid(domain=sender.rpartition("@")[2]),
        "List-Id": list_id(site),
        "List-Unsubscribe": ", ".join(f"<{url}>" for url in unsubscribe_urls(site, recipient)),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if options.reply_to:
        headers["Reply-To"] = options.reply_to
    for name, value in headers.items():
        message[name] = check_header(name, value)
    html, text = personalize(newsletter, recipient)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def unsubscribe_urls(site: Site, recipient: Recipient) -> list[str]:
    """The one-click HTTPS link first (RFC 8058), then a mailto: where one is configured."""
    urls = [recipient.unsubscribe_url]
    if site.newsletter.unsubscribe_mailto:
        urls.append(f"mailto:{site.newsletter.unsubscribe_mailto}?subject=unsubscribe")
    return urls


def preview_recipient(site: Site) -> Recipient:
    """The stand-in subscriber a preview is addressed to."""
    template = site.newsletter.unsubscribe_url or f"{site.url}/unsubscribe?token={{token}}"
    return Recipient("subscriber@example.com", "", template.replace("{token}", "preview"))
