"""Post URLs built the way Jekyll 4 builds them, so feed links point at the pages Jekyll wrote."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

# What Jekyll's pretty slugs keep besides letters, marks and digits.
_PRETTY_KEEPS = frozenset("._~!$&'()+,;=@")
_ASCII_PRETTY = re.compile(r"[^A-Za-z0-9._~!$&'()+,;=@]+")
_ASCII_DEFAULT = re.compile(r"[^A-Za-z0-9]+")
_PLACEHOLDER = re.compile(r":([a-z_]+)")
_SLASHES = re.compile("/+")
_ESCAPED_UNRESERVED = re.compile(r"%(2[dDeE]|5[fF]|7[eE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])")


class PermalinkError(ValueError):
    """The permalink template names a placeholder Jekyll does not know."""


def jekyll_slugify(text: str, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's Utils.slugify in its default and pretty modes: every run of characters other
    than letters, marks and decimal digits (and, pretty, `._~!$&'()+,;=@`) becomes one hyphen."""
    if text.isascii():  # the same rule, where letters and digits are ASCII's own
        slug = (_ASCII_PRETTY if pretty else _ASCII_DEFAULT).sub("-", text)
        slug = slug[1:] if slug.startswith("-") else slug
        slug = slug[:-1] if slug.endswith("-") else slug
        return slug if cased else slug.lower()
    keeps = _PRETTY_KEEPS if pretty else frozenset()
    pieces: list[str] = []
    for char in text:
        if char in keeps or unicodedata.category(char)[0] in "LM" or char.isdecimal():
            pieces.append(char)
        elif not pieces or pieces[-1] != "-":
            pieces.append("-")
    slug = "".join(pieces)
    slug = slug[1:] if slug.startswith("-") else slug
    slug = slug[:-1] if slug.endswith("-") else slug
    return slug if cased else slug.lower()


def permalink(
    template: str,
    date: datetime,
    slug: str,
    categories: list[str],
    basename: str,
    *,
    output_ext: str = ".html",
) -> str:
    """The site-relative URL of a post; `date` must already be in the site's timezone."""
    pattern = STYLES.get(template, template)
    post = _Post(date, slug, categories, basename, output_ext)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _PLACEHOLDERS:
            raise PermalinkError(f"unknown permalink placeholder :{name}")
        return quote(_PLACEHOLDERS[name](post), safe="-._~!$&'()*+,;=:@/")

    # Jekyll's URL#sanitize_url: ".." becomes "/", "./" goes, slashes are squeezed.
    url = ("/" + _PLACEHOLDER.sub(substitute, pattern)).replace("..", "/").replace("./", "")
    return normalized_path(_SLASHES.sub("/", url))


def normalized_path(path: str) -> str:
    """A URL path as jekyll-feed's absolute_url gives it (Addressable's normalize): escaped
    unreserved characters unescaped, characters a path cannot hold escaped, and `.` and `..`
    segments resolved, so that no link or id leaves the site or holds a space."""
    path = _ESCAPED_UNRESERVED.sub(lambda m: chr(int(m.group(1), 16)), path)
    path = quote(path, safe="/!$&'()*+,;=:@%-._~#?")
    segments: list[str] = []
    parts = path.split("/")
    for index, segment in enumerate(parts):
        last = index == len(parts) - 1
        if segment == "..":
            if len(segments) > 1:
                segments.pop()
            if last:
                segments.append("")
        elif segment == ".":
            if last:
                segments.append("")
        else:
            segments.append(segment)
    return "/".join(segments) or "/"


class _Post(NamedTuple):
    """What a permalink's placeholders read of a post."""

    date: datetime
    slug: str
    categories: list[str]
    basename: str
    output_ext: str


def _categories(post: _Post) -> list[str]:
    return list(dict.fromkeys(category.lower() for category in post.categories))


# Each placeholder's value, computed only if the template uses it. The commonest are formatted
# directly: strftime is slow, and they are in every post's URL.
_PLACEHOLDERS: dict[str, Callable[[_Post], str]] = {
    "year": lambda post: post.date.strftime("%Y"),
    "month": lambda post: f"{post.date.month:02d}",
    "day": lambda post: f"{post.date.day:02d}",
    "hour": lambda post: f"{post.date.hour:02d}",
    "minute": lambda post: f"{post.date.minute:02d}",
    "second": lambda post: f"{post.date.second:02d}",
    "i_day": lambda post: str(post.date.day),
    "i_month": lambda post: str(post.date.month),
    "short_year": lambda post: post.date.strftime("%y"),
    "y_day": lambda post: post.date.strftime("%j"),
    "short_month": lambda post: post.date.strftime("%b"),
    "long_month": lambda post: post.date.strftime("%B"),
    "week": lambda post: post.date.strftime("%V"),
    "w_year": lambda post: post.date.strftime("%G"),
    "w_day": lambda post: str(post.date.isoweekday()),
    "short_day": lambda post: post.date.strftime("%a"),
    "long_day": lambda post: post.date.strftime("%A"),
    "title": lambda post: jekyll_slugify(post.slug, pretty=True, cased=True),
    "slug": lambda post: jekyll_slugify(post.slug),
    "name": lambda post: jekyll_slugify(post.basename),
    "categories": lambda post: "/".join(_categories(post)),
    "slugified_categories": lambda post: "/".join(map(jekyll_slugify, _categories(post))),
    "collection": lambda post: "posts",
    "output_ext": lambda post: post.output_ext,
}
