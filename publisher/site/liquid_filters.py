"""Jekyll's Liquid filters, as a post can use them: `relative_url`, `where_exp`,
`date_to_string` and the rest of Jekyll's list, each as Jekyll 4 computes it."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, quote_plus

from liquid import Environment

from publisher.site.config import Site
from publisher.site.markdown import markdown_to_html, smartify
from publisher.site.permalinks import jekyll_slugify
from publisher.site.text import ASCII_SPACE, normalize_whitespace


def jekyll_filters(site: Site, env: Environment) -> dict[str, Callable[..., Any]]:
    """Every filter Jekyll adds to Liquid, by name, for the site's posts."""

    def relative_url(value: Any) -> str:
        text = "" if value is None else str(value)
        if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE):
            return text
        path = text if text.startswith("/") else "/" + text
        return quote(site.base_path + path, safe="/:@!$&'()*+,;=-._~%#?")

    def absolute_url(value: Any) -> str:
        text = "" if value is None else str(value)
        if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE):
            return text
        return site.origin + relative_url(text)

    def where_exp(items: Any, name: str, expression: str) -> list[Any]:
        test = env.from_string(f"{{% if {expression} %}}1{{% endif %}}")
        return [item for item in _items(items) if test.render(**{name: item}) == "1"]

    def find_exp(items: Any, name: str, expression: str) -> Any:
        found = where_exp(items, name, expression)
        return found[0] if found else None

    def group_by_exp(items: Any, name: str, expression: str) -> list[dict[str, Any]]:
        key = env.from_string(f"{{{{ {expression} }}}}")
        return _grouped(_items(items), lambda item: key.render(**{name: item}))

    return {
        "relative_url": relative_url,
        "absolute_url": absolute_url,
        "markdownify": lambda value: markdown_to_html(
            str(value or ""), kramdown=site.jekyll.kramdown_input if site.jekyll else None
        ),
        "smartify": lambda value: smartify(str(value or "")),
        "slugify": _slugify,
        "xml_escape": lambda value: html.escape(str(value or ""), quote=True).replace(
            "&#x27;", "&#39;"
        ),
        "cgi_escape": lambda value: quote_plus(str(value or "")),
        "uri_escape": lambda value: quote(str(value or ""), safe="!#$&'()*+,/:;=?@[]~-._%"),
        "normalize_whitespace": lambda value: normalize_whitespace(str(value or "")),
        "number_of_words": _number_of_words,
        "array_to_sentence_string": _array_to_sentence,
        "jsonify": _jsonify,
        "inspect": _jsonify,
        "where": _where,
        "where_exp": where_exp,
        "find": lambda items, key, value: next(iter(_where(items, key, value)), None),
        "find_exp": find_exp,
        "group_by": lambda items, key: _grouped(_items(items), lambda item: _field(item, key)),
        "group_by_exp": group_by_exp,
        "sort": _sort,
        "to_integer": lambda value: int(float(value)) if value not in (None, "") else 0,
        "push": lambda items, value: [*_items(items), value],
        "pop": lambda items, count=1: _items(items)[: -int(count) or None],
        "shift": lambda items, count=1: _items(items)[int(count) :],
        "unshift": lambda items, value: [value, *_items(items)],
        "sample": lambda items, count=1: (
            _items(items)[: int(count)] if int(count) > 1 else next(iter(_items(items)), None)
        ),
        "date_to_xmlschema": lambda value: _date(value).isoformat(),
        "date_to_rfc822": lambda value: _date(value).strftime("%a, %d %b %Y %H:%M:%S %z"),
        "date_to_string": lambda value, kind=None, style=None: _date_string(
            value, "%b", kind, style
        ),
        "date_to_long_string": lambda value, kind=None, style=None: _date_string(
            value, "%B", kind, style
        ),
        "strip_index": lambda value: re.sub(r"/index\.html?$", "/", str(value or "")),
    }


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _field(item: Any, key: str) -> Any:
    for part in str(key).split("."):
        item = item.get(part) if isinstance(item, Mapping) else None
    return item


def _where(items: Any, key: str, value: Any) -> list[Any]:
    """Jekyll's where: items whose property equals the value, or holds it when a list."""
    wanted = "" if value is None else str(value)
    found = []
    for item in _items(items):
        have = _field(item, key)
        values = have if isinstance(have, (list, tuple)) else [have]
        if any(("" if v is None else str(v)) == wanted for v in values):
            found.append(item)
    return found


def _grouped(items: list[Any], key: Callable[[Any], Any]) -> list[dict[str, Any]]:
    groups: dict[str, list[Any]] = {}
    for item in items:
        name = key(item)
        groups.setdefault("" if name is None else str(name), []).append(item)
    return [{"name": name, "items": group, "size": len(group)} for name, group in groups.items()]


def _sort(items: Any, key: str | None = None, nils: str = "first") -> list[Any]:
    """Jekyll's sort: by a property if given, items without it first (or last)."""
    values = _items(items)
    if key is None:
        return sorted(values, key=_sort_key)
    present = [item for item in values if _field(item, key) is not None]
    missing = [item for item in values if _field(item, key) is None]
    ordered = sorted(present, key=lambda item: _sort_key(_field(item, key)))
    return missing + ordered if nils == "first" else ordered + missing


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, datetime):
        return (1, value.timestamp())
    if isinstance(value, date):
        return (1, datetime(value.year, value.month, value.day).timestamp())
    return (2, str(value))


def _slugify(value: Any, mode: str = "default", cased: bool = False) -> str:
    text = str(value or "")
    if mode == "raw":
        return re.sub(r"\s+", "-", text) if cased else re.sub(r"\s+", "-", text).lower()
    if mode == "none":
        return text if cased else text.lower()
    return jekyll_slugify(text, pretty=mode == "pretty", cased=cased)


def _number_of_words(value: Any, mode: str | None = None) -> int:
    text = str(value or "")
    if mode in ("cjk", "auto"):
        cjk = len(re.findall(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]", text))
        if mode == "cjk" or cjk:
            rest = re.sub(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]", " ", text)
            return cjk + len(rest.split())
    return len(ASCII_SPACE.split(text.strip())) if text.strip() else 0


def _array_to_sentence(items: Any, connector: str = "and") -> str:
    words = [str(item) for item in _items(items)]
    if len(words) <= 1:
        return "".join(words)
    if len(words) == 2:
        return f"{words[0]} {connector} {words[1]}"
    return f"{', '.join(words[:-1])}, {connector} {words[-1]}"


def _jsonify(value: Any) -> str:
    return json.dumps(_plain(value), ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """A value as JSON can hold it (dates as text)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


def _date(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    from dateutil import parser

    try:
        return parser.parse(str(value))
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value!r} is not a date") from exc


def _date_string(value: Any, month: str, kind: str | None, style: str | None) -> str:
    moment = _date(value)
    if kind != "ordinal":
        return moment.strftime(f"%d {month} %Y")
    day = moment.day
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    if style == "US":
        return moment.strftime(f"{month} ") + f"{day}{suffix}, {moment.year}"
    return f"{day}{suffix} " + moment.strftime(f"{month} %Y")
