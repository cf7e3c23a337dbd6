"""Which newsletters go out, and the one way they are sent: as the state's sender (alone on
SQLite, beside others on PostgreSQL), each recorded before a message leaves.

A newsletter is known by its key, made from its posts' ids: editing a post never mails it
again, and the same posts make the same digest. `publisher send` names what to send;
`publisher publish` works out what is due by the site's mode and period.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from publisher.mail.delivery import Mailer, SendReport
from publisher.mail.mime import MessageTemplate
from publisher.mail.newsletter import (
    HeaderError,
    Newsletter,
    digest_newsletter,
    post_newsletter,
)
from publisher.mail.store import Store, StoredNewsletter
from publisher.mail.transports import check_transport
from publisher.site.catalog import find_post, read_posts, select
from publisher.site.config import PERIODS, Site
from publisher.site.post import Post, mail_key
from publisher.site.problems import Problems, Refusal, SiteError
from publisher.sources.posts import as_post
from publisher.sources.records import KeptEntry, Polled

# A digest asked for with neither --since nor --last holds this many of the newest posts.
DEFAULT_DIGEST = 5


@dataclass(frozen=True)
class Outgoing:
    """A newsletter to send, and the posts it holds; `key` makes it the same on every run."""

    key: str
    newsletter: Newsletter
    posts: tuple[Post, ...]


def for_post(site: Site, post: Post, problems: Problems) -> Outgoing | None:
    """One post's newsletter; None (with the reason in `problems`) when it cannot be made."""
    letter = post_newsletter(site, post, problems)
    return Outgoing(f"post:{post.key}", letter, (post,)) if letter else None


def for_digest(site: Site, posts: list[Post], problems: Problems) -> Outgoing | None:
    """A digest of the posts; None (with the reason in `problems`) when it cannot be made."""
    letter = digest_newsletter(site, posts, problems)
    ids = "\n".join(sorted(post.key for post in posts))
    key = "digest:" + hashlib.sha256(ids.encode()).hexdigest()[:32]
    return Outgoing(key, letter, tuple(posts)) if letter else None


def due_entries(site: Site, store: Store, polled: list[Polled]) -> list[Post]:
    """The entries of the configured sources meant for the newsletter that no newsletter
    holds, kept or just fetched, oldest first (a source taken out mails nothing more)."""
    if not polled:
        return []
    configured = {poll.feed for poll in polled}  # one for each source in publisher.toml
    kept = [entry for entry in store.kept_entries(verdict="mail") if entry.feed in configured]
    for poll in polled:
        kept += [
            KeptEntry(poll.feed, one.post_key, one.verdict, one.seen_at, one.entry)
            for one in poll.decided
            if one.verdict == "mail"
        ]
    known = known_keys(store)
    posts = [as_post(site, entry) for entry in kept if entry.post_key not in known]
    return sorted(posts, key=lambda post: post.date)


def mailed_entries(site: Site, store: Store) -> list[Post]:
    """The sources' entries that newsletters hold, for the web archive."""
    return [as_post(site, entry) for entry in store.kept_entries(mailed=True)]


def choose(
    site: Site,
    problems: Problems,
    now: datetime,
    *,
    post: str | None = None,
    since: datetime | None = None,
    last: int | None = None,
) -> Outgoing | None:
    """POST's newsletter, or (with no POST) a digest; None for a digest with no posts.

    Raises SiteError with every problem when a post, the configuration or a template is bad.
    """
    posts = read_posts(site, problems)
    if problems.errors:
        raise SiteError(problems)
    if site.sources:
        posts += _stored_posts(site)
    if post is not None:
        outgoing = for_post(site, find_post(posts, post, site.root), problems)
        if outgoing is None:
            raise SiteError(problems)
        return outgoing
    chosen = select(posts, now).published
    if since:
        chosen = [p for p in chosen if p.date >= since]
    chosen = chosen[: last or (None if since else DEFAULT_DIGEST)]
    if not chosen:
        return None
    outgoing = for_digest(site, chosen, problems)
    if outgoing is None:
        raise SiteError(problems)
    return outgoing


def known_keys(store: Store) -> set[str]:
    """The keys of every post a newsletter holds or the baseline recorded."""
    return {mail_key(post_id) for post_id in store.known_post_ids()}


def _stored_posts(site: Site) -> list[Post]:
    """Every entry the sources gave, for a command that names one or asks for a digest."""
    from publisher.mail.store import open_store

    store = open_store(site)
    try:
        return [as_post(site, entry) for entry in store.kept_entries()]
    finally:
        store.close()


def audience(store: Store, outgoing: Outgoing) -> tuple[list[str], bool]:
    """Who would get the newsletter now, and whether it was recorded: once recorded, its
    pending audience, else everyone active. Records nothing."""
    newsletter_id = store.newsletter_id(outgoing.key)
    if newsletter_id is None:
        return store.active_emails(), False
    return store.pending_emails(newsletter_id), True


def record_baseline(store: Store, published: list[Post], now: datetime) -> int:
    """On the very first run, every post already out is recorded as not to be mailed; the
    number recorded (0 on every later run)."""
    return len(published) if store.record_baseline([p.key for p in published], now) else 0


class IdsChanged(Refusal):
    """No post the state knows is among the site's posts: their ids changed, and every post
    would be mailed as new."""


def due_posts(store: Store, published: list[Post], *, new_ids: bool = False) -> list[Post]:
    """Published posts meant for the newsletter that no newsletter holds, oldest first.

    Before the first run has recorded its baseline, nothing is due. When none of the posts
    the state knows is among them, their ids must have changed: IdsChanged, unless the
    writer says the posts are new (`new_ids`).
    """
    if not store.baseline_recorded():
        return []
    known = known_keys(store)
    due = [post for post in reversed(published) if post.key not in known]
    if known and published and len(due) == len(published) and not new_ids:
        raise IdsChanged(
            f"none of the {len(published)} published posts is one the state knows, so every "
            "one would be mailed as new: did their ids change (an id: in the front matter, "
            "the file names)? Restore them, or run publish --new-ids if the posts are new"
        )
    return [post for post in due if post.newsletter]


def due_newsletters(
    site: Site, store: Store, due: list[Post], now: datetime, problems: Problems
) -> Iterator[Outgoing]:
    """Each newsletter to send now, by the site's mode: one per post, or one digest once
    the period since the last has passed."""
    if not due:
        return
    if site.newsletter.mode == "post":
        for post in due:
            outgoing = for_post(site, post, problems)
            if outgoing:
                yield outgoing
        return
    last = store.last_digest_at()
    if last and now - last < PERIODS[site.newsletter.period]:
        return
    outgoing = for_digest(site, list(reversed(due)), problems)
    if outgoing:
        yield outgoing


def check_sending(
    site: Site, outgoing: list[Outgoing], secret: Callable[[], str], now: datetime
) -> None:
    """Everything a send will need, checked before anything is written or recorded: where
    mail goes, the secret, and each newsletter's headers (a refusal raises)."""
    check_transport(site.mail, os.environ)
    secret()
    for letter in outgoing:
        MessageTemplate(site, letter.newsletter, now)


@contextmanager
def campaign(
    site: Site,
    store: Store,
    secret: Callable[[], str],
    now: datetime,
    *,
    progress: Callable[[SendReport], None],
) -> Iterator[Campaign]:
    """A campaign as the state's sender: alone on SQLite, beside others on PostgreSQL,
    and never two of them mailing one delivery."""
    with store.sender():
        yield Campaign(site, store, secret, now, progress)


@dataclass
class Campaign:
    """Sends newsletters: those an earlier run left unfinished, and new ones, each recorded
    with its audience before a message leaves. Made by `campaign`, which holds the lock."""

    site: Site
    store: Store
    secret: Callable[[], str]
    now: datetime
    progress: Callable[[SendReport], None]

    def resume(self) -> list[SendReport]:
        """Finish what earlier runs left pending."""
        unfinished = self.store.unfinished_newsletters()
        if unfinished:
            check_transport(self.site.mail, os.environ)
        return [self._resume(newsletter_id, self.secret()) for newsletter_id in unfinished]

    def _resume(self, newsletter_id: int, secret: str) -> SendReport:
        """One unfinished newsletter; one recorded by an older publisher with a header that
        cannot be sent is abandoned, so it never blocks the newsletters after it."""
        try:
            return self._mail(newsletter_id, secret)
        except HeaderError as exc:
            self.store.finish_newsletter(newsletter_id)
            subject = self.store.recorded_newsletter(newsletter_id).subject
            return SendReport(subject, abandoned=str(exc))

    def send(self, outgoing: Outgoing, *, resend_unknown: bool = False) -> SendReport:
        """Record the newsletter (on first sight), then mail its pending deliveries."""
        check_transport(
            self.site.mail, os.environ
        )  # before recording: nothing waits on a setting to be fixed
        secret = self.secret()
        letter = outgoing.newsletter
        newsletter_id = self.store.record_newsletter(
            outgoing.key,
            StoredNewsletter(letter.subject, letter.html, letter.text),
            [post.key for post in outgoing.posts],
            self.now,
        )
        return self._mail(newsletter_id, secret, resend_unknown=resend_unknown)

    def _mail(self, newsletter_id: int, secret: str, *, resend_unknown: bool = False) -> SendReport:
        mailer = Mailer(self.site, self.store, newsletter_id, secret, self.now, self.progress)
        return mailer.run(resend_unknown=resend_unknown)
