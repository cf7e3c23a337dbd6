"""Posts as Jekyll reads them: front matter, dates, drafts, categories, tags and permalinks."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml

from publisher.site.config import DRAFTS_DIR, POSTS_DIR, Author, Site, author_from, yaml_problem
from publisher.site.defaults import deep_merge, defaults_for
from publisher.site.markdown import smartify
from publisher.site.permalinks import PermalinkError, normalized_path, permalink
from publisher.site.problems import Problem, Problems
from publisher.site.text import (
    HTML_TAG,
    forbidden_references,
    header_problem,
    normalize_whitespace,
    repair,
    strip_forbidden,
)

# Jekyll's DATE_FILENAME_MATCHER, with a four-digit year.
_DATED_NAME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})-(.*)$")
_DATE_TEXT = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[T ]\s*(\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?"
    r"(?:\s+(\d{4}))?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
# Jekyll's YAML_FRONT_MATTER_REGEXP: closed by "---" or "...".
_FRONT_MATTER = re.compile(r"\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)", re.MULTILINE | re.DOTALL)
_TAG_ID = re.compile(r"tag:[^,]+,(.+)")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
# Front matter may nest YAML aliases: a few hundred bytes can stand for billions of values.
MAX_FRONT_MATTER_NODES = 10_000
DATE_HINT = "write it as YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS +HHMM"


@dataclass(frozen=True)
class Post:
    """What a post's front matter and file name say; the body is read again only when rendered."""

    source: str
    body_line: int
    id: str
    # What newsletters know the post by: the same whatever ids the feeds use.
    key: str
    slug: str
    title: str
    date: datetime
    updated: datetime
    url: str
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: Author | None
    draft: bool
    summary: str | None
    excerpt_separator: str | None
    newsletter_subject: str | None = None
    newsletter_content: str | None = None
    newsletter: bool = True
    # The body has Liquid to render: `{{` or `{%`, and no `render_with_liquid: false`.
    liquid: bool = False
    # jekyll-feed's per-post data: the post's language, and its image (absolute).
    lang: str | None = None
    image: str | None = None
    # jekyll-feed's `feed: excerpt_only:` of the post, over the site's.
    excerpt_only: bool | None = None
    # The body is Markdown; else (HTML, or a kind Jekyll has no converter for) it goes out
    # as it is.
    markdown: bool = True
    # An entry of a remote feed (see sources/): its HTML, sanitised, which is its body; its
    # `summary` is HTML too. None for a post of the site, whose body is read from its file.
    html: str | None = None


def read_post(site: Site, path: Path) -> tuple[Post | None, list[Problem], str]:
    """Parse one post file, returning the post (None when it is unusable), its problems and its
    Markdown body, for a caller that renders the post at once."""
    problems = Problems()
    name = path.relative_to(site.root).as_posix()
    if site.jekyll is not None and _not_a_jekyll_post(name):
        problems.warning(
            name,
            "is not a post: Jekyll reads only files named YYYY-MM-DD-title in _posts/",
            hint="rename it to publish it, or move it out of _posts/ to silence this",
        )
        return None, problems.items, ""
    text = _read_text(site, path, name, problems)
    if text is None:
        return None, problems.items, ""
    split = _split_front_matter(text, name, problems)
    if split is None:
        return None, problems.items, ""
    data, fm_lines, body_line, dirty = split
    data = _with_defaults(site, name, data)
    body = _body(text, body_line)
    post = _make_post(site, path, name, data, fm_lines, body_line, problems)
    if post is not None and ("{{" in body or "{%" in body):
        post = _with_liquid(site, post, data)
    for key in sorted(dirty):
        problems.warning(
            name,
            f"removed characters XML cannot carry from {key}",
            _line_of(fm_lines, key),
            "delete the escaped control characters from the front matter",
        )
    for line, reference in forbidden_references(body):
        problems.warning(
            name,
            f"the character reference {reference} stands for a character XML cannot carry; "
            "it is dropped",
            body_line + line - 1,
            "delete it",
        )
    return (None if problems.errors else post), problems.items, body


def front_matter(site: Site, post: Post) -> dict[str, Any]:
    """The post's front matter over the defaults Jekyll gives it, for Liquid's `page`."""
    split = _split_front_matter(_source_text(site, post), post.source, Problems())
    return _with_defaults(site, post.source, split[0] if split else {})


def _with_defaults(site: Site, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The front matter over the values a Jekyll site's `defaults:` give the post."""
    if site.jekyll is None:
        return data
    defaults = defaults_for(site.jekyll, site.root, name)
    return deep_merge(defaults, data) if defaults else data


def _with_liquid(site: Site, post: Post, data: dict[str, Any]) -> Post:
    """The post, marked for Liquid unless it, or its defaults, say render_with_liquid: false.
    Only a Jekyll site's posts are Liquid templates: publisher's own keep `{{` as text."""
    if site.jekyll is None or data.get("render_with_liquid") is False:
        return post
    return replace(post, liquid=True)


def read_body(site: Site, post: Post) -> str:
    """The post's Markdown body, repaired the same way as when the post was first read."""
    if post.html is not None:
        return post.html
    return _body(_source_text(site, post), post.body_line)


def _source_text(site: Site, post: Post) -> str:
    raw = (site.root / post.source).read_bytes().decode("utf-8-sig")
    text, _ = repair(raw.replace("\r\n", "\n"))
    return text


def _body(text: str, body_line: int) -> str:
    """The text from line `body_line` on (found by its line breaks, not by splitting it)."""
    start = 0
    for _ in range(body_line - 1):
        start = text.find("\n", start) + 1
        if not start:
            return ""
    return text[start:]


def is_future(post: Post, now: datetime) -> bool:
    return post.date > now


def _read_text(site: Site, path: Path, name: str, problems: Problems) -> str | None:
    """The file's text, repaired; None when it is unusable or, as for Jekyll, not a post:
    a YAML file, or (with a warning) a file that is not text."""
    root = site.root
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.error(
            name, f"cannot be read ({exc.strerror})", hint="check the file's permissions"
        )
        return None
    if path.suffix in (".yml", ".yaml"):
        return None
    if path.is_symlink() and not path.resolve().is_relative_to(root):
        problems.warning(
            name,
            f"is a link to {path.resolve()}, outside the site",
            hint="a file from elsewhere may go out by mistake: copy it in, or remove the link",
        )
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not _is_markup(site, path):
            problems.warning(name, "is not text, so not a post", hint="move it out of _posts/")
            return None
        line = data[: exc.start].count(b"\n") + 1
        problems.error(
            name, f"not UTF-8 text (byte 0x{data[exc.start]:02x})", line, "save the file as UTF-8"
        )
        return None
    if not raw.strip():
        problems.error(name, "the file is empty", hint="add front matter and text, or delete it")
        return None
    text, repairs = repair(raw.replace("\r\n", "\n"))
    for fix in repairs:
        before, after = _changed_part(fix.before, fix.after)
        if fix.kind == "mojibake":
            message = f"repaired mojibake {before!r} to {after!r}"
            hint = "the file was saved in the wrong encoding; fix it at the source to silence this"
        else:
            message = f"removed characters XML cannot carry: {before!r}"
            hint = "delete the control characters from the file"
        problems.warning(name, message, fix.line, hint)
    return text


def _is_markup(site: Site, path: Path) -> bool:
    return path.suffix in (*site.markdown_extensions, ".html", ".htm")


def _not_a_jekyll_post(name: str) -> bool:
    folders = name.split("/")[:-1]
    undated = not _DATED_NAME.match(PurePosixPath(name).stem)
    return undated and POSTS_DIR in folders and DRAFTS_DIR not in folders


def _in_jekyll_folder(name: str) -> bool:
    return any(part in (POSTS_DIR, DRAFTS_DIR) for part in name.split("/")[:-1])


def _line_of(fm_lines: list[str], key: str) -> int | None:
    """The line of the file that sets `key` (the front matter starts on line 2)."""
    for number, line in enumerate(fm_lines):
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number + 1
    return None


def _changed_part(before: str, after: str) -> tuple[str, str]:
    """The shortest stretch that differs, so a warning shows the damage and not a whole line."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end = 0
    while end < min(len(before), len(after)) - start and before[-1 - end] == after[-1 - end]:
        end += 1
    return before[start : len(before) - end], after[start : len(after) - end]


def _split_front_matter(
    text: str, name: str, problems: Problems
) -> tuple[dict[str, Any], list[str], int, set[str]] | None:
    """The front matter's data, its lines, the body's first line, and the keys whose text
    held characters XML cannot carry (removed)."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        if not _in_jekyll_folder(name):
            problems.error(
                name,
                "no front matter",
                1,
                "start the file with a '---' line, a title: line and '---'",
            )
            return None
        # Jekyll publishes a file in _posts/ without front matter: all of it is the body.
        return {}, [], 1, set()
    opening = match.group(1)
    fm = opening[
        opening.index("\n") :
    ]  # from the end of the "---" line: YAML's lines are the file's
    content = text[match.end() :]
    try:
        data = yaml.load(fm, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        yaml_problem(exc, name, problems, where=" in front matter")
        return None
    except ValueError as exc:
        problems.error(name, f"impossible value in front matter: {exc}", hint="check its dates")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.error(
            name,
            f"front matter is a {type(data).__name__}, not a mapping of keys",
            2,
            "write key: value lines",
        )
        return None
    budget = [MAX_FRONT_MATTER_NODES]
    dirty: set[str] = set()
    try:
        # The text itself was repaired already: only an escape can write a character XML
        # cannot carry, and only an alias can multiply values.
        if "\\" in fm or "*" in fm:
            data = {key: _cleaned(value, str(key), budget, dirty) for key, value in data.items()}
    except _TooLarge:
        problems.error(
            name,
            f"the front matter holds over {MAX_FRONT_MATTER_NODES:,} values once its YAML "
            "aliases are expanded",
            2,
            "write the values out instead of nesting aliases",
        )
        return None
    body_line = text[: len(text) - len(content)].count("\n") + 1
    return data, fm.split("\n"), body_line, dirty


class _TooLarge(Exception):
    pass


def _cleaned(value: Any, key: str, budget: list[int], dirty: set[str]) -> Any:
    """A copy of a front matter value without the characters XML cannot carry (a YAML escape
    can write them); each value counts against `budget`, since aliases can make billions."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooLarge
    if isinstance(value, str):
        clean = strip_forbidden(value)
        if clean != value:
            dirty.add(key)
        return clean
    if isinstance(value, list):
        return [_cleaned(item, key, budget, dirty) for item in value]
    if isinstance(value, dict):
        return {k: _cleaned(item, key, budget, dirty) for k, item in value.items()}
    return value


def _make_post(
    site: Site,
    path: Path,
    name: str,
    data: dict[str, Any],
    fm_lines: list[str],
    body_line: int,
    problems: Problems,
) -> Post | None:
    def error(key: str, message: str, hint: str = "") -> None:
        problems.error(name, message, _line_of(fm_lines, key), hint)

    def warn(key: str, message: str, hint: str = "") -> None:
        problems.warning(name, message, _line_of(fm_lines, key), hint)

    stem = path.stem
    named = _DATED_NAME.match(stem)
    file_date = None
    if named:
        try:
            file_date = date(int(named[1]), int(named[2]), int(named[3]))
        except ValueError:
            problems.error(
                name, f"the file name has an impossible date {stem[:10]!r}", hint="rename it"
            )
        else:
            if len(named[2]) == 1 or len(named[3]) == 1:
                problems.warning(
                    name,
                    "the date in the file name has a one-digit month or day",
                    hint=f"Jekyll reads it as {file_date}; rename it {file_date}-{named[4]}"
                    f"{path.suffix} to be plain",
                )
    # Jekyll's slug: a file name's, without the date or trailing dots.
    file_slug = (named[4] if named else stem).rstrip(".")
    tz = site.tz

    in_drafts = DRAFTS_DIR in name.split("/")[:-1]
    if in_drafts and "date" not in data and file_date is None:
        # Jekyll dates an undated draft by the file's modification time.
        published = datetime.fromtimestamp(int(path.stat().st_mtime), tz)
    else:
        published = _post_date(data, file_date, tz, error, warn, name, problems)
    if published is None:
        return None
    updated = published
    for key in ("last_modified_at", "updated"):
        if key in data:
            updated = _parse_date(data[key], tz, key, error, warn) or published
            break

    title = _text_field(data, "title", error)
    if title is None:
        return None
    title = title or titleize_slug(file_slug)
    if site.jekyll is not None:
        # jekyll-feed's title: smartify | strip_html | normalize_whitespace.
        title = normalize_whitespace(smartify(HTML_TAG.sub("", title)))
    categories = _taxonomy(data, "category", "categories")
    if site.jekyll is not None:
        categories = tuple(dict.fromkeys([*_path_categories(name), *categories]))
    tags = _taxonomy(data, "tag", "tags")
    url_slug = str(data.get("slug") or file_slug)
    template = data.get("permalink") or (site.jekyll and site.jekyll.posts_permalink)
    markdown = path.suffix in site.markdown_extensions
    try:
        path_url = permalink(
            str(template or site.permalink),
            published.astimezone(tz),
            url_slug,
            list(categories),
            stem,
            output_ext=".html" if _is_markup(site, path) else path.suffix,
        )
    except PermalinkError as exc:
        error("permalink", str(exc), "see Jekyll's permalink placeholders")
        return None

    day = file_date or published.astimezone(tz).date()
    tag_id = _post_id(data, site, day, file_slug, error)
    if tag_id is None:
        return None
    post_id = tag_id
    if site.feeds.ids == "url" and tag_id.startswith(f"tag:{site.domain},"):
        post_id = site.absolute(normalized_path(jekyll_id(path_url, url_slug)))
    summary = next(
        (data[key] for key in ("summary", "description", "excerpt") if key in data), None
    )
    if summary is not None and not isinstance(summary, str):
        error("summary", "the summary must be text", "quote it as a string")
        summary = None
    separator = data.get("excerpt_separator", site.excerpt_separator)
    newsletter_content = data.get("newsletter_content")
    if newsletter_content not in (None, "summary", "full"):
        error("newsletter_content", "newsletter_content must be summary or full")
    newsletter_subject = _text_field(data, "newsletter_subject", error)
    wants_newsletter = data.get("newsletter") is not False
    if wants_newsletter:
        _check_subject(
            newsletter_subject or title,
            "newsletter_subject" if newsletter_subject else "title",
            error,
        )
    return Post(
        source=name,
        body_line=body_line,
        id=post_id,
        key=mail_key(tag_id),
        slug=url_slug,
        title=title,
        date=published,
        updated=updated,
        url=site.absolute(path_url),
        categories=categories,
        tags=tags,
        author=_post_author(_first_author(data), site) or site.author,
        draft=in_drafts or data.get("published") is False or data.get("draft") is True,
        summary=summary,
        excerpt_separator=str(separator) if separator else None,
        newsletter_subject=newsletter_subject or None,
        newsletter_content=newsletter_content,
        newsletter=wants_newsletter,
        markdown=markdown,
        lang=str(data["lang"]) if data.get("lang") else None,
        excerpt_only=_feed_excerpt_only(data.get("feed")),
        image=_image(data.get("image"), site),
    )


def titleize_slug(slug: str) -> str:
    """Jekyll's title for a post without one: its slug's words, capitalized."""
    return " ".join(word.capitalize() for word in slug.split("-"))


def jekyll_id(url: str, slug: str) -> str:
    """Jekyll's post.id: the URL's folder and the slug (`/2024/01/02/hello.html` gives
    `/2024/01/02/hello`), which jekyll-feed makes absolute for the entry's id."""
    folder = posixpath.dirname(url.rstrip("/")) if url.rstrip("/") else "/"
    return posixpath.join(folder, slug)


def mail_key(post_id: str) -> str:
    """What newsletters know a post by: its tag id without the site's domain, so a site that
    moves to another domain, or to jekyll-feed's ids, mails nothing again
    (`tag:example.com,2024-01-01:hello` is known as `2024-01-01:hello`)."""
    match = _TAG_ID.match(post_id)
    return match.group(1) if match else post_id


def _path_categories(name: str) -> list[str]:
    """Jekyll's categories from a post's path: the folders above its _posts/ or _drafts/."""
    parts = name.split("/")[:-1]
    for index, part in enumerate(parts):
        if part in (POSTS_DIR, DRAFTS_DIR):
            return parts[:index]
    return []


def _check_subject(subject: str, key: str, error) -> None:
    """The newsletter's subject goes into a mail header: found here, `check` reports it."""
    problem = header_problem(subject)
    if problem:
        error(
            key,
            f"the newsletter subject ({key}) {problem}",
            "fix it, or set newsletter_subject to plain text on one line",
        )


def _post_date(data, file_date, tz, error, warn, name, problems) -> datetime | None:
    if "date" in data:
        return _parse_date(data["date"], tz, "date", error, warn)
    if file_date is not None:
        return _in_range(datetime.combine(file_date, time(), tz), tz, "date", error)
    problems.error(
        name,
        "the post has no date",
        hint="name the file YYYY-MM-DD-slug.md or add 'date: YYYY-MM-DD' to the front matter",
    )
    return None


def _parse_date(value: Any, tz: ZoneInfo, key: str, error, warn) -> datetime | None:
    """A front matter date as an aware datetime; times without an offset are in the site's zone."""
    if isinstance(value, datetime):
        return _in_range(value if value.tzinfo else value.replace(tzinfo=tz), tz, key, error)
    if isinstance(value, date):
        return _in_range(datetime.combine(value, time(), tz), tz, key, error)
    match = _DATE_TEXT.match(str(value).strip())
    if not match:
        return _loose_date(value, tz, key, error, warn)
    year, month, day, hour, minute, second, fraction, stray_year, zone = match.groups()
    if stray_year:
        # Ruby's Time.parse, and so Jekyll, reads no zone after a second year: the time is
        # in the site's zone.
        report = warn if stray_year == year else error
        report(
            key,
            f"the {key} {value!r} names its year twice; as Jekyll does, its zone is ignored "
            "and the time is in the site's timezone",
            DATE_HINT,
        )
        zone = None
    iso = f"{year}-{int(month):02}-{int(day):02}T{int(hour or 0):02}:{minute or '00'}"
    iso += f":{second or '00'}{fraction or ''}"
    if zone and zone.upper() not in ("Z", "UTC", "GMT"):
        iso += zone if ":" in zone else f"{zone[:3]}:{zone[3:]}"
    elif zone:
        iso += "+00:00"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        error(key, f"impossible date {value!r} in {key}", DATE_HINT)
        return None
    return _in_range(parsed if parsed.tzinfo else parsed.replace(tzinfo=tz), tz, key, error)


def _loose_date(value: Any, tz: ZoneInfo, key: str, error, warn) -> datetime | None:
    """A date in another form that Ruby's Time.parse, and so Jekyll, reads (`11-9-2017`,
    `Nov 22, 2013`), with a warning; an unreadable one is an error."""
    from dateutil import parser

    try:
        parsed = parser.parse(str(value), dayfirst=True)
    except (ValueError, OverflowError):
        error(key, f"unknown date format {value!r} in {key}", DATE_HINT)
        return None
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    warn(key, f"the {key} {value!r} is read as {moment.isoformat()}, as Jekyll reads it", DATE_HINT)
    return _in_range(moment, tz, key, error)


def _in_range(moment: datetime, tz: ZoneInfo, key: str, error) -> datetime | None:
    """The moment, if every feed format can write it (in UTC and in the site's zone)."""
    if 1 < moment.year < 9999:  # a day's offset from the edge of time at most
        return moment
    try:
        moment.astimezone(UTC)
        moment.astimezone(tz)
    except OverflowError:
        error(key, f"the {key} is out of range", "use a year from 1 to 9999, in full")
        return None
    return moment


def _text_field(data: dict[str, Any], key: str, error) -> str | None:
    value = data.get(key)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        error(key, f"{key} must be text, not a {type(value).__name__}", "quote it as a string")
        return None
    return str(value).strip()


def _taxonomy(data: dict[str, Any], singular: str, plural: str) -> tuple[str, ...]:
    """Jekyll's rule: the singular key wins; a plural string is split on white space."""
    if singular in data:
        value = data[singular]
        values = value if isinstance(value, list) else [value]
    else:
        value = data.get(plural)
        values = value.split() if isinstance(value, str) else list(value or [])
    names = (str(v).strip() for v in values if v is not None)
    return tuple(dict.fromkeys(n for n in names if n))


def _post_id(data, site: Site, day: date, file_slug: str, error) -> str | None:
    """The post's tag: URI, or the absolute URI its front matter gives as id. A Jekyll site's
    other ids (a number, from a WordPress import) are Jekyll's data, not ours."""
    value = str(data.get("id", "")).strip()
    if value and (_URI.match(value) or site.jekyll is None):
        if not _URI.match(value):
            error(
                "id",
                f"id {value!r} is not an absolute URI",
                f"use e.g. tag:{site.domain},{day}:{file_slug}",
            )
            return None
        return value
    return f"tag:{site.domain},{day.isoformat()}:{quote(file_slug, safe='-._~!$&()*+,;=:@')}"


def _feed_excerpt_only(value: Any) -> bool | None:
    excerpt_only = value.get("excerpt_only") if isinstance(value, dict) else None
    return excerpt_only if isinstance(excerpt_only, bool) else None


def _image(value: Any, site: Site) -> str | None:
    """jekyll-feed's post image: `image`, or `image.path`, made absolute."""
    if isinstance(value, dict):
        value = value.get("path")
    if not isinstance(value, str) or not value.strip() or re.search(r"[\s<>\"]", value.strip()):
        return None
    return site.absolute(value.strip())


def _first_author(data: dict[str, Any]) -> Any:
    """jekyll-feed's author: `author`, else the first of `authors`; of a list written as
    `author` (which jekyll-feed prints as a list), the first too."""
    author = data.get("author") or data.get("authors")
    if isinstance(author, list):
        return author[0] if author else None
    return author


def _post_author(value: Any, site: Site) -> Author | None:
    """A name that _data/authors.yml knows is that author; anything else as written."""
    if isinstance(value, str) and value.strip() in site.authors:
        return site.authors[value.strip()]
    return author_from(value)
