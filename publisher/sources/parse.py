"""A fetched feed read into entries: RSS 0.9x/2.0 and Atom 1.0 by feedparser, JSON Feed 1.x
by its spec. Content is sanitised for mail, its embeds made links and its links absolute."""

from __future__ import annotations

import calendar
import html
import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import nh3
from dateutil import parser as date_parser

from publisher.site.content import absolute_urls
from publisher.site.embeds import for_mail
from publisher.site.text import ASCII_SPACE, HTML_TAG, line_safe, strip_forbidden
from publisher.sources.records import RemoteEntry

# What mail may show: nh3's tags, with pictures stripped of sizes a phone cannot fit.
_ATTRIBUTES = {**nh3.ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title"}, "a": {"href", "title"}}
_URL_SCHEMES = {"http", "https", "mailto"}
# feedparser's complaints that leave a feed whole: an encoding declared wrongly, a content
# type that is not XML's, an HTML entity such as &nbsp; that XML does not define.
_HARMLESS = ("CharacterEncodingOverride", "NonXMLContentType")
_JSON_FEED = re.compile(r"^https?://jsonfeed\.org/version/1(\.\d+)?/?$")


class FeedError(Exception):
    """The body is not a feed that can be read whole; the message says what is wrong."""


def parse(body: bytes, url: str, content_type: str) -> list[RemoteEntry]:
    """Every entry of the feed, or FeedError: a feed read in part is never taken for all of it."""
    if _looks_like_json(body, content_type):
        return _json_feed(body, url)
    return _xml_feed(body, url, content_type)


def _looks_like_json(body: bytes, content_type: str) -> bool:
    return "json" in content_type.lower() or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _xml_feed(body: bytes, url: str, content_type: str) -> list[RemoteEntry]:
    import feedparser

    parsed = feedparser.parse(
        body,
        response_headers={"content-location": url, "content-type": content_type or "text/xml"},
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    problem = parsed.get("bozo_exception")
    if parsed.get("bozo") and not _harmless(problem):
        line = getattr(problem, "getLineNumber", lambda: None)()
        where = f" on line {line}" if line else ""
        raise FeedError(f"the feed is not well-formed XML{where}: {_problem_text(problem)}")
    if not parsed.get("version"):
        raise FeedError("this is not an RSS, Atom or JSON feed")
    feed = parsed.get("feed", {})
    base = feed.get("link") or url
    return [_xml_entry(entry, feed, base, url) for entry in parsed.entries]


def _harmless(problem: Exception | None) -> bool:
    if problem is None:
        return True
    return type(problem).__name__ in _HARMLESS or "undefined entity" in str(problem)


def _problem_text(problem: Exception | None) -> str:
    text = str(getattr(problem, "getMessage", lambda: problem)())
    return text.split(":")[-1].strip() or "it could not be parsed"


def _xml_entry(entry: Any, feed: Any, base: str, url: str) -> RemoteEntry:
    link = _absolute(entry.get("link", ""), url)
    content = _best_content(entry)
    summary = entry.get("summary", "")
    if summary and _same_text(summary, content):
        summary = ""
    author = entry.get("author_detail") or feed.get("author_detail") or {}
    return RemoteEntry(
        id=strip_forbidden(entry.get("id", "")).strip(),
        link=link,
        title=_title(entry.get("title", ""), entry.get("title_detail", {})),
        date=_struct_date(entry.get("published_parsed") or entry.get("updated_parsed")),
        content=_for_mail(content or summary, link or base) + _enclosures(entry, link or url),
        summary=_for_mail(summary, link or base) if content else "",
        author=line_safe(author.get("name", "")),
        author_email=line_safe(author.get("email", "")),
        image=_image(entry, link or url),
        tags=tuple(line_safe(tag.get("term") or "") for tag in entry.get("tags", [])),
    )


def _best_content(entry: Any) -> str:
    """The longest HTML of the entry's contents; plain text made paragraphs."""
    best = ""
    for content in entry.get("content", []):
        value = content.get("value", "")
        if content.get("type") == "text/plain":
            value = _paragraphs(value)
        if len(value) > len(best):
            best = value
    return best


def _struct_date(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _image(entry: Any, base: str) -> str:
    """The entry's own picture: media:thumbnail, media:content or an image enclosure."""
    for item in [*entry.get("media_thumbnail", []), *entry.get("media_content", [])]:
        medium = item.get("medium") or item.get("type", "image").split("/")[0]
        if item.get("url") and medium == "image":
            return _absolute(item["url"], base)
    for enclosure in entry.get("enclosures", []):
        if enclosure.get("type", "").startswith("image/") and enclosure.get("href"):
            return _absolute(enclosure["href"], base)
    return ""


def _enclosures(entry: Any, base: str) -> str:
    """A podcast's episode, or any file but a picture, as a link mail can follow."""
    links = []
    for enclosure in entry.get("enclosures", []):
        kind = enclosure.get("type", "")
        href = _absolute(enclosure.get("href", ""), base)
        if not href or kind.startswith("image/"):
            continue
        verb = {"audio": "Listen", "video": "Watch"}.get(kind.split("/")[0], "Download")
        size = enclosure.get("length", "")
        megabytes = f", {int(size) / 2**20:.0f} MB" if str(size).isdigit() and int(size) else ""
        label = f"{verb} ({kind or 'file'}{megabytes})"
        links.append(f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>')
    return "".join(links)


def _json_feed(body: bytes, url: str) -> list[RemoteEntry]:
    try:
        feed = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FeedError(f"the JSON feed is not valid JSON: {exc}") from None
    version = feed.get("version") if isinstance(feed, dict) else None
    if not isinstance(version, str) or not _JSON_FEED.match(version):
        raise FeedError("this JSON is not a JSON Feed (no jsonfeed.org version)")
    items = feed.get("items")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise FeedError("the JSON feed's items must be a list of objects")
    base = _text(feed.get("home_page_url")) or url
    authors = _json_authors(feed)
    return [_json_entry(item, base, url, authors) for item in items]


def _json_entry(item: dict, base: str, url: str, authors: list[dict]) -> RemoteEntry:
    link = _absolute(_text(item.get("url")) or _text(item.get("external_url")), url)
    content = _text(item.get("content_html")) or _paragraphs(_text(item.get("content_text")))
    summary = _text(item.get("summary"))
    author = (_json_authors(item) or authors or [{}])[0]
    return RemoteEntry(
        id=strip_forbidden(_text(item.get("id"))).strip(),
        link=link,
        title=line_safe(_text(item.get("title"))),
        date=_iso_date(item.get("date_published")) or _iso_date(item.get("date_modified")),
        content=_for_mail(content or html.escape(summary), link or base),
        summary=_for_mail(html.escape(summary), link or base) if content and summary else "",
        author=line_safe(_text(author.get("name"))),
        image=_absolute(_text(item.get("image")) or _text(item.get("banner_image")), url),
        tags=tuple(line_safe(_text(tag)) for tag in item.get("tags") or [] if _text(tag)),
    )


def _json_authors(value: dict) -> list[dict]:
    authors = value.get("authors") or ([value["author"]] if value.get("author") else [])
    return [a for a in authors if isinstance(a, dict)] if isinstance(authors, list) else []


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _iso_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = date_parser.isoparse(value)
    except (ValueError, OverflowError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _title(value: str, detail: Any) -> str:
    """The title as one line of text, whatever markup or control characters it came with."""
    if detail.get("type") in ("text/html", "application/xhtml+xml"):
        value = html.unescape(HTML_TAG.sub("", value))
    return line_safe(value)


def _for_mail(fragment: str, base: str) -> str:
    """Embeds made links, then nothing a mail client would run or fetch unasked, and every
    link absolute against the entry."""
    if not fragment.strip():
        return ""
    cleaned = nh3.clean(
        for_mail(strip_forbidden(fragment)),
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener",
    )
    return absolute_urls(cleaned, base)


def _paragraphs(text: str) -> str:
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text) if block.strip()]
    return "".join(f"<p>{html.escape(block)}</p>" for block in blocks)


def _same_text(one: str, other: str) -> bool:
    def words(fragment: str) -> str:
        return ASCII_SPACE.sub(" ", html.unescape(HTML_TAG.sub(" ", fragment))).strip()

    return words(one) == words(other) or words(other).startswith(words(one).rstrip(".… "))


def _absolute(link: str, base: str) -> str:
    link = strip_forbidden(link).strip()
    if not link:
        return ""
    joined = urljoin(base, link)
    return joined if urlsplit(joined).scheme in ("http", "https") else ""
