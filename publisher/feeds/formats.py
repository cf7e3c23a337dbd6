"""Atom 1.0, RSS 2.0 and JSON Feed 1.1 documents, with feedgen's known traps worked around.

feedgen 1.0.0 writes every Atom and RSS element. A post usually sits in several feeds (the
site's, its categories', its tags'), so each entry is serialized once, by `entry_parts`, and
spliced into every feed that holds it. feedgen's traps, and where each is handled:
add_entry() prepends (entries are spliced in newest-first order, never added); updated
defaults to now (always set from the entries); naive datetimes raise (posts only carry aware
ones); the RSS channel link is the last link added (the alternate link goes last, hubs are
added afterwards); RSS drops authors without email (dc:creator); Atom entry links lose rel
and type (set again); type='CDATA' is invalid Atom (never used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from feedgen.entry import FeedEntry
from feedgen.ext.dc import DcEntryExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from publisher import __version__
from publisher.feeds.feed import EntryParts, Feed
from publisher.site.config import Author, Site
from publisher.site.content import Rendered
from publisher.site.files import Piece
from publisher.site.post import Post

ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"
MEDIA_NS = "http://search.yahoo.com/mrss/"
GENERATOR = ("publisher", __version__, "https://pypi.org/project/publisher-feeds/")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """A post with its rendered HTML, ready to become a feed item."""

    post: Post
    rendered: Rendered


def entry_parts(site: Site, entry: Entry) -> EntryParts:
    fe = FeedEntry()
    # What load_extension("dc") does, without its failed import of a module named dc_entry
    # for every entry.
    fe.register_extension("dc", DcEntryExtension, atom=False, rss=True)
    _fill_entry(fe, site, entry)
    atom = fe.atom_entry()
    link = atom.find("link")
    link.set("rel", "alternate")
    link.set("type", "text/html")
    # A post of one paragraph: Atom's summary would only repeat the content (RFC 4287 makes
    # it optional then). RSS keeps its description, which mail tools read.
    summary = atom.find("summary")
    repeats = entry.rendered.summary_html.strip() == entry.rendered.html.strip()
    if summary is not None and atom.find("content") is not None and repeats:
        atom.remove(summary)
    _add_jekyll_feed_data(atom, entry.post)
    # Inside a channel that declares the namespaces, content:encoded and dc:creator keep
    # their usual prefixes instead of lxml's ns0.
    holder = etree.Element("rss", nsmap=_RSS_NAMESPACES)
    holder.append(fe.rss_entry())
    item = _fragment(holder[0], level=2)
    item = b"    <item>" + item.split(b">", 1)[1]
    return EntryParts(_fragment(atom, level=1), item, orjson.dumps(_json_item(site, entry)))


def _add_jekyll_feed_data(atom, post: Post) -> None:
    """What jekyll-feed writes of a post and feedgen does not: its language and its image."""
    if post.lang:
        atom.set(f"{{{XML_NS}}}lang", post.lang)
    if post.image:
        media = {"media": MEDIA_NS}
        etree.SubElement(atom, f"{{{MEDIA_NS}}}thumbnail", nsmap=media, url=post.image)
        etree.SubElement(
            atom, f"{{{MEDIA_NS}}}content", nsmap=media, medium="image", url=post.image
        )


def _fragment(element, level: int) -> bytes:
    """The element as it reads at `level` inside a pretty-printed document."""
    etree.indent(element, level=level)
    return b"  " * level + etree.tostring(element, encoding="UTF-8") + b"\n"


_RSS_NAMESPACES = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "content": "http://purl.org/rss/1.0/modules/content/",
}


def render_feed(site: Site, feed: Feed, parts: list[EntryParts]) -> dict[str, list[Piece]]:
    """Each format's bytes, as pieces to write in order; the same input gives the same bytes.

    Pieces, not one joined string: a feed of every post can run to hundreds of megabytes.
    """
    atom, rss = xml_feeds(site, feed)
    documents = {
        "atom": _splice(atom, b"</feed>", [part.atom for part in parts]),
        "rss": _splice(rss, b"</channel>", [part.rss for part in parts]),
        "json": _splice(json_feed(site, feed), b"]}", [part.json for part in parts], b","),
    }
    return {fmt: documents[fmt] for fmt in feed.formats}


def _splice(
    document: bytes, closing: bytes, entries: list[Piece], separator: bytes = b""
) -> list[Piece]:
    """Put the entries just before the line that closes the document's list of entries."""
    at = document.rindex(closing)
    if closing.startswith(b"</"):
        at = document.rindex(b"\n", 0, at) + 1
    if separator:
        entries = [piece for entry in entries for piece in (separator, entry)][1:]
    return [document[:at], *entries, document[at:]]


def xml_feeds(site: Site, feed: Feed) -> tuple[bytes, bytes]:
    """Atom and RSS documents with the feed's metadata and no entries yet."""
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
    fg.updated(newest_update(feed.posts))
    _set_links(fg, site, feed, "atom")
    atom_root, atom = fg._create_atom(extensions=True)
    _add_stylesheet(atom_root, site)
    _insert_hubs(atom_root, site, "link")
    _set_links(fg, site, feed, "rss")
    rss_root, rss = fg._create_rss(extensions=True)
    _add_stylesheet(rss_root, site)
    _insert_hubs(rss_root.find("channel"), site, f"{{{ATOM_NS}}}link")
    return _serialize(atom), _serialize(rss)


def _set_links(fg, site: Site, feed: Feed, fmt: str) -> None:
    """Self first and the site last: feedgen makes the last link RSS's channel link."""
    self_link = {"href": site.absolute(feed.path(site, fmt)), "rel": "self", "type": _mime(fmt)}
    site_link = {"href": site.url + "/", "rel": "alternate", "type": "text/html"}
    fg.link([self_link, site_link], replace=True)


def _fill_entry(fe, site: Site, entry: Entry) -> None:
    post, rendered = entry.post, entry.rendered
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
    terms = [*post.categories, *post.tags]
    if terms:
        fe.category([{"term": term} for term in terms])
    if rendered.summary_html:
        fe.summary(rendered.summary_html, type="html")
    if not _excerpt_only(site, post) or not rendered.summary_html:
        fe.content(rendered.html, type="html")


def _excerpt_only(site: Site, post: Post) -> bool:
    """Whether the feeds carry the post's summary alone: the post's say, else the site's."""
    return site.feeds.excerpt_only if post.excerpt_only is None else post.excerpt_only


def _insert_hubs(parent, site: Site, tag: str) -> None:
    """feedgen's tree is edited in place (`_create_atom`/`_create_rss`, stable in the pinned
    1.0 series); there, Atom elements carry no namespace: the root's default covers them."""
    anchor = parent.find(f"{tag}[@rel='self']")
    for hub in reversed(site.hubs):
        anchor.addnext(etree.Element(tag, href=hub, rel="hub"))


def _add_stylesheet(root, site: Site) -> None:
    """The processing instruction that has browsers show the feed through XSLT; readers
    ignore it."""
    if site.feeds.stylesheet:
        href = site.absolute(site.feeds.stylesheet).replace('"', "%22")
        root.addprevious(etree.PI("xml-stylesheet", f'type="text/xsl" href="{href}"'))


def _serialize(document) -> bytes:
    return etree.tostring(document, pretty_print=True, xml_declaration=True, encoding="UTF-8")


def json_feed(site: Site, feed: Feed) -> bytes:
    """JSON Feed 1.1 with no items yet, written by hand: feedgen does not produce it."""
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
    document["items"] = []
    return orjson.dumps(document) + b"\n"


def _json_item(site: Site, entry: Entry) -> dict:
    post, rendered = entry.post, entry.rendered
    item: dict = {"id": post.id, "url": post.url, "title": post.title}
    excerpt_only = _excerpt_only(site, post) and rendered.summary_html
    item["content_html"] = rendered.summary_html if excerpt_only else rendered.html
    if rendered.summary_text:
        item["summary"] = rendered.summary_text
    if post.image or rendered.image:
        item["image"] = post.image or rendered.image.src
    if post.lang:
        item["language"] = post.lang
    item["date_published"] = _rfc3339(post.date)
    item["date_modified"] = _rfc3339(post.updated)
    author = post.author or site.author
    if author:
        item["authors"] = [_json_author(author)]
    terms = list(dict.fromkeys((*post.categories, *post.tags)))
    if terms:
        item["tags"] = terms
    return item


def newest_update(posts: tuple[Post, ...]) -> datetime:
    """The newest entry's updated time, never the build time, so rebuilds do not churn."""
    return max((post.updated for post in posts), default=_EPOCH)


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
