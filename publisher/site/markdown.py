"""Markdown to the HTML that feeds and newsletters carry: GitHub-flavoured, with absolute links."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urljoin

import cmarkgfm
from cmarkgfm.cmark import Options

from publisher.site.post import Post
from publisher.site.text import without_forbidden_references

_HEADING = re.compile(r"<h([1-6])>(.*?)</h\1>", re.DOTALL)
# A start tag with attributes; a quoted value is read whole, since it may hold a ">".
_START_TAG = re.compile(r"""<[a-zA-Z][^\s/>]*\s(?:[^>"']+|"[^"]*"|'[^']*')*>""")
# Inside a tag, an attribute that holds URLs, and its quoted value.
_URL_ATTR = re.compile(
    r"""(?<=\s)(?P<name>href|src|srcset|poster|cite)(?P<equals>\s*=\s*)"""
    r"""(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""",
    re.IGNORECASE,
)
_HAS_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
_IMAGE = re.compile(r"<img\s[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_TLDR = re.compile(
    r"^\s*(?:<(strong|b|em)>\s*)?TL;?\s?DR\s*:?\s*(?:</(?:strong|b|em)>)?\s*[:.\u2013\u2014-]?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    id: str


@dataclass(frozen=True)
class Image:
    src: str
    alt: str


@dataclass(frozen=True)
class Rendered:
    """A post's HTML and the parts of it that feeds and newsletters show on their own."""

    html: str
    summary_html: str
    summary_text: str
    headings: tuple[Heading, ...]
    image: Image | None


def markdown_to_html(text: str) -> str:
    """CommonMark with GitHub's extensions; authors' raw HTML passes, minus GitHub's tag filter."""
    options = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES
    text = without_forbidden_references(text)
    return cmarkgfm.github_flavored_markdown_to_html(text, options=options)


def render(post: Post, body: str) -> Rendered:
    """Render a post's body and pick out its summary, headings and first image."""
    content, headings = add_heading_ids(markdown_to_html(body))
    content = absolute_urls(content, post.url)
    summary_html = absolute_urls(_summary_html(post, body, content), post.url)
    return Rendered(
        html=content,
        summary_html=summary_html,
        summary_text=html_to_line(summary_html),
        headings=headings,
        image=first_image(content),
    )


def add_heading_ids(content: str) -> tuple[str, tuple[Heading, ...]]:
    """Give each heading the id kramdown gives it, so anchors match the pages Jekyll builds."""
    used: dict[str, int] = {}
    headings = []

    def with_id(match: re.Match[str]) -> str:
        level, inner = int(match.group(1)), match.group(2)
        text = html_to_line(inner)
        anchor = kramdown_id(text)
        if anchor in used:
            used[anchor] += 1
            anchor = f"{anchor}-{used[anchor]}"
        else:
            used[anchor] = 0
        headings.append(Heading(level, text, anchor))
        return f'<h{level} id="{anchor}">{inner}</h{level}>'

    return _HEADING.sub(with_id, content), tuple(headings)


def kramdown_id(text: str) -> str:
    """kramdown's auto_ids rule: ASCII letters, digits and hyphens, lower case."""
    anchor = re.sub(r"^[^a-zA-Z]+", "", text)
    anchor = re.sub(r"[^a-zA-Z0-9 -]", "", anchor).replace(" ", "-").lower()
    return anchor or "section"


def absolute_urls(content: str, base: str) -> str:
    """Resolve relative links and images against the post's URL: readers and mail have no base.

    Only attributes of tags are touched, never text that looks like one."""
    resolved: dict[str, str] = {}

    def fix(url: str) -> str:
        if _HAS_SCHEME.match(url):
            return url.replace('"', "&quot;")
        if url not in resolved:
            plain = html.unescape(url).strip() if "&" in url else url.strip()
            resolved[url] = html.escape(urljoin(base, plain), quote=True)
        return resolved[url]

    def attribute(match: re.Match[str]) -> str:
        double = match["double"]
        url = double if double is not None else match["single"]
        if match["name"].lower() == "srcset":
            value = _srcset(url, fix)
        elif double is not None and _HAS_SCHEME.match(url):
            return match[0]
        else:
            value = fix(url)
        return f'{match["name"]}{match["equals"]}"{value}"'

    def tag(match: re.Match[str]) -> str:
        return _URL_ATTR.sub(attribute, match[0])

    return _START_TAG.sub(tag, content)


def _srcset(value: str, fix) -> str:
    """Each candidate's URL fixed, its width or density descriptor kept."""
    candidates = []
    for candidate in value.split(","):
        parts = candidate.split()
        if parts:
            candidates.append(" ".join([fix(parts[0]), *parts[1:]]))
    return ", ".join(candidates)


def first_image(content: str) -> Image | None:
    match = _IMAGE.search(content)
    if not match:
        return None
    attrs = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or "")
        for m in _ATTR.finditer(match.group(0))
    }
    return Image(attrs["src"], attrs.get("alt", "")) if attrs.get("src") else None


def html_to_line(fragment: str) -> str:
    """Plain text of a small HTML fragment, on one line."""
    return " ".join(html.unescape(_TAG.sub("", fragment)).split())


def _summary_html(post: Post, body: str, content: str) -> str:
    if post.summary is not None:
        return _drop_tldr(markdown_to_html(post.summary).strip())
    if post.excerpt_separator and post.excerpt_separator in body.lstrip("\n"):
        excerpt = body.lstrip("\n").split(post.excerpt_separator, 1)[0]
        return _drop_tldr(markdown_to_html(excerpt).strip())
    match = _FIRST_PARAGRAPH.search(content)
    return f"<p>{_drop_tldr(match.group(1))}</p>" if match else ""


def _drop_tldr(fragment: str) -> str:
    if fragment.startswith("<p>"):
        return "<p>" + _TLDR.sub("", fragment[3:], count=1)
    return _TLDR.sub("", fragment, count=1)
