"""Post URLs built the way Jekyll 4 builds them, so feed links point at the pages Jekyll wrote."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import quote

STYLES = {
    "date": "/:categories/:year/:month/:day/:title:output_ext",
    "pretty": "/:categories/:year/:month/:day/:title/",
    "ordinal": "/:categories/:year/:y_day/:title:output_ext",
    "weekdate": "/:categories/:year/W:week/:short_day/:title:output_ext",
    "none": "/:categories/:title:output_ext",
}

_DEFAULT = re.compile(r"[^\w]+|_+")
_PRETTY = re.compile(r"[^\w._~!$&'()+,;=@]+|_+")
_PLACEHOLDER = re.compile(r":([a-z_]+)")


class PermalinkError(ValueError):
    """The permalink template names a placeholder Jekyll does not know."""


def jekyll_slugify(text: str, pretty: bool = False, cased: bool = False) -> str:
    """Jekyll's Utils.slugify in its default and pretty modes."""
    pattern = _PRETTY if pretty else _DEFAULT
    slug = pattern.sub("-", text).strip("-")
    return slug if cased else slug.lower()


def permalink(
    template: str, date: datetime, slug: str, categories: list[str], basename: str
) -> str:
    """The site-relative URL of a post; `date` must already be in the site's timezone."""
    pattern = STYLES.get(template, template)
    values = _placeholders(date, slug, categories)
    values["name"] = jekyll_slugify(basename)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise PermalinkError(f"unknown permalink placeholder :{name}")
        return quote(values[name], safe="-._~!$&'()*+,;=:@/")

    url = re.sub("/+", "/", _PLACEHOLDER.sub(substitute, pattern))
    url = re.sub(r"/\.+/", "/", url)
    return url if url.startswith("/") else "/" + url


def _placeholders(date: datetime, slug: str, categories: list[str]) -> dict[str, str]:
    unique_categories = list(dict.fromkeys(category.lower() for category in categories))
    return {
        "year": date.strftime("%Y"),
        "month": date.strftime("%m"),
        "day": date.strftime("%d"),
        "hour": date.strftime("%H"),
        "minute": date.strftime("%M"),
        "second": date.strftime("%S"),
        "i_day": str(date.day),
        "i_month": str(date.month),
        "short_year": date.strftime("%y"),
        "y_day": date.strftime("%j"),
        "short_month": date.strftime("%b"),
        "long_month": date.strftime("%B"),
        "week": date.strftime("%V"),
        "w_year": date.strftime("%G"),
        "w_day": str(date.isoweekday()),
        "short_day": date.strftime("%a"),
        "long_day": date.strftime("%A"),
        "title": jekyll_slugify(slug, pretty=True, cased=True),
        "slug": jekyll_slugify(slug),
        "categories": "/".join(unique_categories),
        "slugified_categories": "/".join(jekyll_slugify(c) for c in unique_categories),
        "collection": "posts",
        "output_ext": ".html",
    }
