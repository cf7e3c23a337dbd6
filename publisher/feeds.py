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


def render_feed(site: Site, feed: Feed, entries: list[Entry]) -> dict[str, bytes]:
    """The bytes of the feed in each format; the same input always gives the same bytes."""
    atom, rss = xml_feeds(site, feed, entries)
    return {"atom": atom, "rss": rss, "json": json_feed(site, feed, entries)}


def xml_feeds(site: Site, feed: Feed, entries: list[Entry]) -> tuple[bytes, bytes]:
    """Atom and RSS from one FeedGenerator, so each entry is converted once."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(site.absolute(feed.path(site, "atom")))
    fg.title(feed.title)
    fg.description(feed.description or feed.title)
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
    _set_links(fg, site, feed, "atom")
    atom = _fix_atom(fg, site)
    _set_links(fg, site, feed, "rss")
    return atom, _fix_rss(fg, site)


def _set_links(fg, site: Site, feed: Feed, fmt: str) -> None:
    """Self first and the site last: feedgen makes the last link RSS's channel link."""
    self_link = {"href": site.absolute(feed.path(site, fmt)), "rel": "self", "type": _mime(fmt)}
    site_link = {"href": site.url + "/", "rel": "alternate", "type": "text/html"}
    fg.link([self_link, site_link], replace=True)


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


def _fix_atom(fg, site: Site) -> bytes:
    """Restore entry links' rel and type (feedgen issue #135) and add hub links.

    feedgen's own tree (`_create_atom`, stable in the pinned 1.0 series) is edited in place
    rather than parsing its output again. In that tree Atom elements carry no namespace of
    their own: the root's default namespace covers them when serialized.
    """
    root, document = fg._create_atom(extensions=True)
    for link in root.iterfind("entry/link"):
        link.set("rel", "alternate")
        link.set("type", "text/html")
    _insert_hubs(root, site, "link")
    return _serialize(document)


def _fix_rss(fg, site: Site) -> bytes:
    root, document = fg._create_rss(extensions=True)
    _insert_hubs(root.find("channel"), site, f"{{{ATOM_NS}}}link")
    return _serialize(document)


def _insert_hubs(parent, site: Site, tag: str) -> None:
    from lxml import etree

    anchor = parent.find(f"{tag}[@rel='self']")
    for hub in reversed(site.hubs):
        anchor.addnext(etree.Element(tag, href=hub, rel="hub"))


def _serialize(document) -> bytes:
    from lxml import etree

    return etree.tostring(document, pretty_print=True, xml_declaration=True, encoding="UTF-8")


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
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


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
