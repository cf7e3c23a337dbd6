"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents, with feedgen's known traps worked around.

feedgen 1.0.0 is used for Atom and RSS. Its traps, and where each is handled:
add_entry() prepends (we append in newest-first order); updated defaults to now (always set
from the entries); naive datetimes raise (posts only carry aware ones); the RSS channel link
is the last link added (the alternate link goes last, hubs are added to RSS afterwards); RSS
drops authors without email (dc:creator); Atom entry links lose rel and type (set again
afterwards); type='CDATA' is invalid Atom (never used).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from publisher import __version__
from publisher.config import Author, Site
from publisher.posts import Post
from publisher.render import Rendered

ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = ("publisher", __version__, "https://pypi.org/project/publisher/")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """A post with its rendered HTML, ready to become a feed item."""

    post: Post
    rendered: Rendered


@dataclass(frozen=True)
class Feed:
    """One feed: the site's, a category's or a tag's, written in each format under `folder`."""

    kind: str
    name: str
    title: str
    description: str
    folder: str
    posts: tuple[Post, ...]

    def path(self, site: Site, fmt: str) -> str:
        """The feed's path inside the output folder for `fmt` (atom, rss or json)."""
        configured = getattr(site.feeds, fmt)
        if not self.folder:
            return configured
        return str(PurePosixPath(self.folder) / PurePosixPath(configured).name)


FORMATS = ("atom", "rss", "json")


def render_feed(site: Site, feed: Feed, entries: list[Entry], fmt: str) -> bytes:
    """The bytes of one feed file; the same input always gives the same bytes."""
    if fmt == "json":
        return json_feed(site, feed, entries)
    return xml_feed(site, feed, entries, fmt)


def xml_feed(site: Site, feed: Feed, entries: list[Entry], fmt: str) -> bytes:
    from feedgen.feed import FeedGenerator

    self_url = site.absolute(feed.path(site, fmt))
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(self_url)
    fg.title(feed.title)
    fg.description(feed.description or feed.title)
    fg.link(href=self_url, rel="self", type=_mime(fmt))
    fg.link(href=site.url + "/", rel="alternate", type="text/html")
    fg.language(site.language)
    fg.generator(*GENERATOR)
    fg.author(_person(site.author or Author(site.title)))
    if site.icon:
        fg.icon(site.icon)
    if site.logo:
        fg.logo(site.logo)
    fg.updated(newest_update(entries))
    for entry in entries:
        _add_entry(fg, site, entry)
    if fmt == "atom":
        return _fix_atom(fg.atom_str(pretty=True), site)
    return _fix_rss(fg.rss_str(pretty=True), site)


def _add_entry(fg, site: Site, entry: Entry) -> None:
    post, rendered = entry.post, entry.rendered
    fe = fg.add_entry(order="append")
    fe.id(post.id)
    fe.title(post.title)
    fe.link(href=post.url, rel="alternate", type="text/html")
    fe.published(post.date)
    fe.updated(post.updated)
    author = post.author or site.author
    if author:
        fe.author(_person(author))
        if not author.email:
            fe.dc.dc_creator(author.name)
    for term in (*post.categories, *post.tags):
        fe.category(term=term)
    if rendered.summary_html:
        fe.summary(rendered.summary_html, type="html")
    if not site.feeds.excerpt_only or not rendered.summary_html:
        fe.content(rendered.html, type="html")


def _fix_atom(data: bytes, site: Site) -> bytes:
    """Restore entry links' rel and type (feedgen issue #135) and add hub links."""
    from lxml import etree

    root = etree.fromstring(data)
    for link in root.iterfind(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}link"):
        link.set("rel", "alternate")
        link.set("type", "text/html")
    _insert_hubs(root, site, etree.QName(ATOM_NS, "link").text)
    return _serialize(root)


def _fix_rss(data: bytes, site: Site) -> bytes:
    from lxml import etree

    root = etree.fromstring(data)
    _insert_hubs(root.find("channel"), site, etree.QName(ATOM_NS, "link").text)
    return _serialize(root)


def _insert_hubs(parent, site: Site, tag: str) -> None:
    from lxml import etree

    anchor = parent.find(f"{{{ATOM_NS}}}link[@rel='self']")
    for hub in reversed(site.hubs):
        link = etree.Element(tag, href=hub, rel="hub")
        link.tail = anchor.tail
        anchor.addnext(link)


def _serialize(root) -> bytes:
    from lxml import etree

    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def json_feed(site: Site, feed: Feed, entries: list[Entry]) -> bytes:
    """JSON Feed 1.1, written by hand: feedgen does not produce it."""
    document: dict = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": feed.title,
        "home_page_url": site.url + "/",
        "feed_url": site.absolute(feed.path(site, "json")),
    }
    if feed.description:
        document["description"] = feed.description
    if site.logo:
        document["icon"] = site.logo
    if site.icon:
        document["favicon"] = site.icon
    if site.author:
        document["authors"] = [_json_author(site.author)]
    document["language"] = site.language
    if site.hubs:
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in site.hubs]
    document["items"] = [_json_item(site, entry) for entry in entries]
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()


def _json_item(site: Site, entry: Entry) -> dict:
    post, rendered = entry.post, entry.rendered
    item: dict = {"id": post.id, "url": post.url, "title": post.title}
    excerpt_only = site.feeds.excerpt_only and rendered.summary_html
    item["content_html"] = rendered.summary_html if excerpt_only else rendered.html
    if rendered.summary_text:
        item["summary"] = rendered.summary_text
    if rendered.image:
        item["image"] = rendered.image.src
    item["date_published"] = _rfc3339(post.date)
    item["date_modified"] = _rfc3339(post.updated)
    author = post.author or site.author
    if author:
        item["authors"] = [_json_author(author)]
    terms = list(dict.fromkeys((*post.categories, *post.tags)))
    if terms:
        item["tags"] = terms
    return item


def newest_update(entries: list[Entry]) -> datetime:
    """The newest entry's updated time, never the build time, so rebuilds do not churn."""
    return max((entry.post.updated for entry in entries), default=_EPOCH)


def _person(author: Author) -> dict[str, str]:
    person = {"name": author.name}
    if author.email:
        person["email"] = author.email
    if author.uri:
        person["uri"] = author.uri
    return person


def _json_author(author: Author) -> dict[str, str]:
    person = {"name": author.name}
    if author.uri:
        person["url"] = author.uri
    return person


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _mime(fmt: str) -> str:
    return {"atom": "application/atom+xml", "rss": "application/rss+xml"}[fmt]
