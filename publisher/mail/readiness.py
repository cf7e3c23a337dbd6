"""What `check` says about a site's newsletters before the first one goes out: what the law
and the mail providers want that the configuration does not give yet."""

from __future__ import annotations

from publisher.site.config import NewsletterOptions, Site
from publisher.site.problems import Problems


def newsletter_warnings(site: Site, problems: Problems) -> None:
    """Warnings, never errors: each can be so on purpose (a provider that signs for you, a
    list of friends), and each says what to set. A site that configures neither its
    newsletter nor SMTP is taken to publish feeds only, and hears nothing."""
    if site.newsletter == NewsletterOptions() and site.mail.transport != "smtp":
        return
    where = site.source
    if site.mail.transport == "smtp" and not site.mail.dkim_key:
        problems.warning(
            where,
            "newsletters go out over SMTP unsigned: Gmail and Yahoo honour one-click "
            "unsubscribe (RFC 8058) only with a DKIM signature covering both "
            "List-Unsubscribe headers",
            hint="set dkim_key and dkim_selector under mail, unless your provider signs "
            "every message with your domain's key",
        )
    if not site.newsletter.postal_address:
        problems.warning(
            where,
            "newsletters carry no postal address, which CAN-SPAM requires in bulk mail",
            hint="set postal_address under newsletter",
        )
    if not site.newsletter.unsubscribe_url and not site.service.url:
        problems.warning(
            where,
            f"unsubscribe links point at {site.url}/unsubscribe, which nothing serves",
            hint="run publisher serve and set url under service, or set unsubscribe_url "
            "under newsletter to a page that unsubscribes",
        )
