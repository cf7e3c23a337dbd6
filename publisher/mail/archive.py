"""The web archive: every newsletter sent, as anyone may read it, under the output folder's
newsletter/: one page each, an index, and an Atom feed of them.

Pages are made again from the posts on every run, so a fresh checkout (a CI job) writes the
same bytes; a newsletter whose posts are gone has no page. Nothing personal is in them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from publisher.mail import newsletter as letters
from publisher.mail.store import Store
from publisher.site.config import Site
from publisher.site.files import write_if_changed
from publisher.site.post import Post, mail_key
from publisher.site.problems import Problems


@dataclass(frozen=True)
class ArchivedLetter:
    """One newsletter's page: its posts, newest first, its URL and its folder under the
    archive's."""

    posts: tuple[Post, ...]
    url: str
    path: str


def write_archive(
    site: Site, store: Store, published: Sequence[Post], sending: Sequence[Sequence[Post]]
) -> list[str]:
    """Write the page of each newsletter the state records and of those about to be sent,
    the index and the feed (nothing before the first newsletter); the paths written, under
    the archive's folder."""
    archived = _archived(site, store, published, sending) if site.newsletter.archive else []
    if not archived:
        return []
    folder = site.root / site.feeds.output / letters.ARCHIVE_FOLDER
    problems = Problems()  # the posts were checked before: a page that fails is left out
    files = {}
    for letter in archived:
        page = letters.web_version(site, list(letter.posts), problems)
        if page is not None:
            files[f"{letter.path}/index.html"] = page.encode()
    index = letters.archive_index(site, [_entry(site, letter) for letter in archived])
    files["index.html"] = index.encode()
    files["feed.xml"] = _feed(site, archived)
    return [name for name, data in files.items() if write_if_changed(folder / name, data)]


def _archived(
    site: Site, store: Store, published: Sequence[Post], sending: Sequence[Sequence[Post]]
) -> list[ArchivedLetter]:
    by_key = {post.key: post for post in published}
    groups = [[by_key.get(mail_key(key)) for key in keys] for keys in store.newsletter_posts()]
    groups += [list(posts) for posts in sending]
    seen: set[tuple[str, ...]] = set()
    archived = []
    for group in groups:
        if not group or None in group:
            continue
        posts = tuple(sorted(group, key=lambda post: post.date, reverse=True))
        keys = tuple(post.key for post in posts)
        if keys in seen:
            continue
        seen.add(keys)
        archived.append(
            ArchivedLetter(posts, letters.archive_url(site, posts), letters.archive_path(posts))
        )
    archived.sort(key=lambda letter: (letter.posts[0].date, letter.path), reverse=True)
    return archived


def _entry(site: Site, letter: ArchivedLetter) -> dict:
    posts = list(letter.posts)
    subject = letters.subject_of(site, posts)
    return {"subject": subject, "url": letter.url, "date": letters.long_date(posts[0].date)}


def _feed(site: Site, archived: list[ArchivedLetter]) -> bytes:
    """An Atom feed of the archive, for readers who follow newsletters, not posts."""
    from feedgen.feed import FeedGenerator

    index = site.absolute(f"{letters.ARCHIVE_FOLDER}/")
    feed = FeedGenerator()
    feed.id(index)
    feed.title(f"{site.title}: newsletters")
    feed.link(href=index, rel="alternate")
    feed.link(href=site.absolute(f"{letters.ARCHIVE_FOLDER}/feed.xml"), rel="self")
    feed.updated(archived[0].posts[0].date)
    feed.generator("publisher")
    for letter in reversed(archived):
        entry = feed.add_entry()
        entry.id(letter.url)
        entry.title(letters.subject_of(site, list(letter.posts)))
        entry.link(href=letter.url)
        entry.updated(letter.posts[0].date)
    return feed.atom_str(pretty=True)
