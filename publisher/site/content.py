"""A post's content as feeds and newsletters carry it: its Liquid rendered, then its
Markdown, with absolute links, and the parts shown on their own (summary, headings, image)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from publisher.site.catalog import read_posts
from publisher.site.config import Site
from publisher.site.markdown import Heading, markdown_to_html, restore_raw, to_html
from publisher.site.post import Post, front_matter
from publisher.site.problems import Problem, Problems
from publisher.site.text import HTML_TAG

# A start tag with attributes; a quoted value is read whole, since it may hold a ">".
_START_TAG = re.compile(r"""<[a-zA-Z][^\s/>]*\s(?:[^>"']+|"[^"]*"|'[^']*')*>""")
# Inside a tag, an attribute that holds URLs, and its quoted value.
_URL_ATTR = re.compile(
    r"""(?<=\s)(?P<name>href|src|srcset|poster|cite)(?P<equals>\s*=\s*)"""
    r"""(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)')""",
    re.IGNORECASE,
)
_HAS_SCHEME = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*:")
# A path from the site's root that urljoin would keep as it is, so joining it onto the base's
# origin is enough: no "//" or dot segment (which urljoin folds), no empty query or fragment
# (which it drops), no ";" (its "params") and no tab or line break (which it removes).
_FROM_ROOT = re.compile(r"/(?![/.])(?:[^/;?#\t\r\n]|/(?![/.]))*(?:[?#][^#?;\t\r\n]*[^#?;\t\r\n])?")
_IMAGE = re.compile(r"<img\s[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"""([a-z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_FIRST_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.DOTALL)
_TLDR = re.compile(
    r"^\s*(?:<(strong|b|em)>\s*)?TL;?\s?DR\s*:?\s*(?:</(?:strong|b|em)>)?\s*[:.\u2013\u2014-]?\s*",
    re.IGNORECASE,
)


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
    # What went wrong rendering the post's Liquid; the post is then rendered without it.
    problems: tuple[Problem, ...] = field(default=())


def render(
    site: Site, post: Post, body: str, *, posts: Callable[[], Sequence[Post]] | None = None
) -> Rendered:
    """Render a post's body and pick out its summary, headings and first image.

    `posts` gives every post of the site, for Liquid that asks (`site.posts`, `post_url`);
    without it they are read when asked for."""
    problems: tuple[Problem, ...] = ()
    blocks: list[str] = []
    if post.liquid:
        body, blocks, problems = _render_liquid(site, post, body, posts or _all_posts(site))
    kramdown = site.jekyll.kramdown_input if site.jekyll else None
    if post.markdown:
        content, headings = to_html(body, kramdown=kramdown, raw=blocks)
    else:
        content, headings = restore_raw(body.strip(), blocks), ()
    content = absolute_urls(content, post.url)
    summary_html = absolute_urls(_summary_html(post, body, content, kramdown, blocks), post.url)
    return Rendered(
        html=content,
        summary_html=summary_html,
        summary_text=html_to_line(summary_html),
        headings=headings,
        image=first_image(content),
        problems=problems,
    )


def _render_liquid(
    site: Site, post: Post, body: str, posts: Callable[[], Sequence[Post]]
) -> tuple[str, list[str], tuple[Problem, ...]]:
    """The body with its Liquid rendered, the raw HTML it made, and what went wrong. Liquid
    is imported here, for the posts that use it: it costs a site without any nothing."""
    from publisher.site.liquid import LiquidProblem, render_liquid

    try:
        rendering = render_liquid(site, post, front_matter(site, post), body, posts)
    except LiquidProblem as exc:
        line = post.body_line + exc.line - 1 if exc.line else None
        return body, [], (Problem("error", post.source, exc.message, line, exc.hint),)
    return rendering.text, rendering.blocks, ()


def _all_posts(site: Site) -> Callable[[], Sequence[Post]]:
    return lambda: read_posts(site, Problems())


def absolute_urls(content: str, base: str) -> str:
    """Resolve relative links and images against the post's URL: readers and mail have no base.

    Only attributes of tags are touched, never text that looks like one."""
    resolved: dict[str, str] = {}
    origin = _origin(base)

    def fix(url: str) -> str:
        if _HAS_SCHEME.match(url):
            return url.replace('"', "&quot;")
        if url not in resolved:
            plain = html.unescape(url).strip() if "&" in url else url.strip()
            joined = origin + plain if origin and _FROM_ROOT.fullmatch(plain) else None
            resolved[url] = html.escape(joined or urljoin(base, plain), quote=True)
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


def _origin(base: str) -> str:
    """The base's scheme and host, where a path from the root joins onto them as it is."""
    parts = urlsplit(base)
    web = parts.scheme in ("http", "https") and parts.netloc
    return f"{parts.scheme}://{parts.netloc}" if web else ""


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


def without_images(fragment: str) -> str:
    return _IMAGE.sub("", fragment)


def first_paragraph_with_text(content: str) -> str:
    """The first paragraph that has words once its images are gone, as `<p>...</p>`; ""
    when none has."""
    for paragraph in _PARAGRAPH.finditer(content):
        text = without_images(paragraph.group(1))
        if html_to_line(text):
            return f"<p>{text.strip()}</p>"
    return ""


def html_to_line(fragment: str) -> str:
    """Plain text of a small HTML fragment, on one line."""
    return " ".join(html.unescape(HTML_TAG.sub("", fragment)).split())


def _summary_html(post: Post, body: str, content: str, kramdown: str | None, raw: list[str]) -> str:
    if post.html is not None and post.summary:
        return post.summary
    if post.summary is not None and post.html is None:
        return _drop_tldr(markdown_to_html(post.summary, kramdown=kramdown).strip())
    if post.excerpt_separator and post.excerpt_separator in body.lstrip("\n"):
        excerpt = body.lstrip("\n").split(post.excerpt_separator, 1)[0]
        return _drop_tldr(markdown_to_html(excerpt, kramdown=kramdown, raw=raw).strip())
    match = _FIRST_PARAGRAPH.search(content)
    return f"<p>{_drop_tldr(match.group(1))}</p>" if match else ""


def _drop_tldr(fragment: str) -> str:
    if fragment.startswith("<p>"):
        return "<p>" + _TLDR.sub("", fragment[3:], count=1)
    return _TLDR.sub("", fragment, count=1)
