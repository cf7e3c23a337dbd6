"""Embedded players and scripts made into what mail can show: mail clients drop <iframe>,
<script>, <object> and <video>, so each becomes a link to what it embedded (a YouTube or
asciinema player, its picture and a link)."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

_EMBED = re.compile(
    r"<(iframe|script|object|embed|video|audio)\b([^>]*)>(?:(.*?)</\1\s*>)?",
    re.IGNORECASE | re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_SOURCE = re.compile(r"""<source\b[^>]*\bsrc\s*=\s*["']([^"']+)""", re.IGNORECASE)
_YOUTUBE = re.compile(r"(?:youtube(?:-nocookie)?\.com/embed/|youtu\.be/)([\w-]{6,})")
_VIMEO = re.compile(r"player\.vimeo\.com/video/(\d+)")
_GIST = re.compile(r"(https://gist\.github\.com/[\w.-]+/\w+)\.js")
_ASCIINEMA = re.compile(r"(https://asciinema\.org/a/[\w-]+)\.js")


def for_mail(content: str) -> str:
    """The HTML with every embed replaced by a link (and a picture, where there is one)."""
    if not _EMBED.search(content):
        return content
    return _EMBED.sub(_replacement, content)


def _replacement(match: re.Match[str]) -> str:
    kind = match.group(1).lower()
    attributes = {
        m.group(1).lower(): html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        for m in _ATTRIBUTE.finditer(match.group(2))
    }
    source = attributes.get("src") or attributes.get("data") or ""
    if not source and match.group(3):
        found = _SOURCE.search(match.group(3))
        source = html.unescape(found.group(1)) if found else ""
    if source.startswith("//"):
        source = "https:" + source
    if urlsplit(source).scheme not in ("http", "https"):
        return ""
    youtube = _YOUTUBE.search(source)
    if youtube:
        video = youtube.group(1)
        return _picture_link(
            f"https://www.youtube.com/watch?v={video}",
            f"https://i.ytimg.com/vi/{video}/hqdefault.jpg",
            attributes.get("title") or "Watch the video on YouTube",
        )
    asciinema = _ASCIINEMA.search(source)
    if asciinema:
        cast = asciinema.group(1)
        return _picture_link(cast, f"{cast}.svg", "Watch the recording on asciinema")
    vimeo = _VIMEO.search(source)
    if vimeo:
        return _link(f"https://vimeo.com/{vimeo.group(1)}", "Watch the video on Vimeo")
    gist = _GIST.search(source)
    if gist:
        return _link(gist.group(1), "See the code on GitHub")
    if kind == "script":
        return ""
    if kind in ("video", "audio") and attributes.get("poster"):
        return _picture_link(source, attributes["poster"], f"Play the {kind}")
    label = attributes.get("title") or f"Open what the post embeds ({urlsplit(source).hostname})"
    return _link(source, label)


def _link(url: str, label: str) -> str:
    return f'<p><a href="{html.escape(url, quote=True)}">{html.escape(label)}</a></p>'


def _picture_link(url: str, picture: str, label: str) -> str:
    href, alt = html.escape(url, quote=True), html.escape(label, quote=True)
    return (
        f'<p><a href="{href}"><img src="{html.escape(picture, quote=True)}" alt="{alt}" '
        f'width="480"></a><br><a href="{href}">{html.escape(label)}</a></p>'
    )
