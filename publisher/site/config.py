"""The site's settings, from `publisher.toml` or, for an existing Jekyll blog, `_config.yml`."""

from __future__ import annotations

import difflib
import hashlib
import ipaddress
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import SplitResult, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from publisher.site.problems import Problems, Refusal, SiteError
from publisher.site.stamps import stamp_of
from publisher.site.text import header_problem, strip_forbidden

T = TypeVar("T")

CONFIG_FILE = "publisher.toml"
# How often a digest goes out, for each [newsletter] period.
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=30)}
JEKYLL_CONFIG_FILE = "_config.yml"
AUTHORS_FILE = "_data/authors.yml"
# jekyll-feed styles its feeds with this file when the site has it.
JEKYLL_STYLESHEET = "feed.xslt.xml"
# Every file whose presence or content shapes the configuration.
CONFIG_FILES = (CONFIG_FILE, JEKYLL_CONFIG_FILE, AUTHORS_FILE, JEKYLL_STYLESHEET)
# Jekyll keeps drafts in _drafts/: every post there is a draft.
DRAFTS_DIR = "_drafts"
POSTS_DIR = "_posts"
# publisher's own sites keep posts in these folders of the site's root.
POSTS_DIRS = ("posts", POSTS_DIR, DRAFTS_DIR)
# Jekyll's markdown_ext default; jekyll-feed's default number of entries.
MARKDOWN_EXT = ("markdown", "mkdown", "mkdn", "mkd", "md")
JEKYLL_FEED_LIMIT = 10
# What Jekyll never reads, besides names starting with "_", "." or "#" and ending with "~".
JEKYLL_EXCLUDE = ("node_modules", "vendor", "Gemfile", "Gemfile.lock", "gemfiles")


@dataclass(frozen=True)
class Author:
    """A person as feeds describe one: a name, and an email or home page if known."""

    name: str
    email: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class FeedOptions:
    """Where the feeds go and how many entries they hold; paths are relative to `output`."""

    output: str = "_site"
    limit: int = 20
    atom: str = "feed.xml"
    rss: str = "rss.xml"
    json: str = "feed.json"
    categories: str = "categories/{slug}"
    tags: str = "tags/{slug}"
    excerpt_only: bool = False
    # Entry ids: "tag" (tag: URIs) or "url" (jekyll-feed's: the post's URL without its
    # extension); "" chooses "url" for a Jekyll site and "tag" for any other.
    ids: str = ""
    # An XSLT stylesheet (a site path or URL) that browsers use to show the Atom and RSS feeds.
    stylesheet: str = ""


@dataclass(frozen=True)
class NewsletterOptions:
    """Who newsletters come from, and what the law and the mail providers want in each one."""

    from_name: str = ""
    from_address: str = ""
    reply_to: str = ""
    postal_address: str = ""
    unsubscribe_url: str = ""
    unsubscribe_mailto: str = ""
    content: str = "summary"
    mode: str = "post"
    period: str = "weekly"
    # A web version of each newsletter sent, under the output folder's newsletter/.
    archive: bool = True
    # A picture for the masthead instead of the site's name, and one for dark mode.
    logo: str = ""
    logo_dark: str = ""


@dataclass(frozen=True)
class MailOptions:
    """How newsletters leave: into a Maildir folder (the default) or through an SMTP server.

    SMTP credentials never come from here, only from the environment.
    """

    # "maildir" or "smtp"; "" when not chosen, which means a Maildir, except on CI.
    transport: str = ""
    maildir: str = ".publisher/outbox"
    state: str = ".publisher/state.db"
    # A PostgreSQL URL, which takes the state's place; "" for the SQLite file at `state`.
    database: str = ""
    smtp_host: str = ""
    smtp_port: int = 0
    smtp_security: str = "starttls"
    concurrency: int = 1
    rate: float = 0.0
    retries: int = 3
    retry_delay: float = 2.0
    timeout: float = 30.0
    dkim_key: str = ""
    dkim_selector: str = ""


@dataclass(frozen=True)
class ServiceOptions:
    """`publisher serve`: where readers reach it, who may post its form, and its limits."""

    # The public base URL, such as https://news.example.com; "" when there is no service.
    url: str = ""
    # The origins whose pages may post the sign-up form; the site's own by default.
    allowed_origins: tuple[str, ...] = ()
    # Reverse proxies whose X-Forwarded-For names the client (addresses or networks).
    trusted_proxies: tuple[str, ...] = ()
    # How long a confirmation link works, in days.
    confirm_days: int = 7
    # Sign-ups an hour from one network (a /24 or a /64), and to one domain.
    signups_per_network: int = 10
    signups_per_domain: int = 100
    # Sign-ups waiting for their confirmation at one time.
    max_pending: int = 1000


@dataclass(frozen=True)
class SourceOptions:
    """A remote feed whose entries are newsletter posts: a `[[sources]]` table."""

    feed: str = ""
    # How messages and the newsletter's byline name it; the feed's host when not given.
    name: str = ""
    # Seconds to wait for the server, on each attempt.
    timeout: float = 20.0
    # An entry dated more than this many days before the newest one seen is taken as an
    # old one republished: recorded, not mailed.
    republished_days: int = 7
    # The line of publisher.toml that names the feed, for messages.
    line: int = 0

    @property
    def label(self) -> str:
        return self.name or urlsplit(self.feed).hostname or self.feed


@dataclass(frozen=True)
class JekyllOptions:
    """What a Jekyll site's _config.yml says about reading its posts, kept as Jekyll reads it."""

    # Every key of _config.yml, which Liquid sees as `site.*`.
    config: dict[str, Any] = field(default_factory=dict)
    # Front matter defaults: each a mapping with "scope" (path, type) and "values".
    defaults: tuple[dict[str, Any], ...] = ()
    # `collections: posts: permalink:`, which comes between the defaults and `permalink:`.
    posts_permalink: str = ""
    markdown_ext: tuple[str, ...] = MARKDOWN_EXT
    exclude: tuple[str, ...] = ()
    # kramdown's input: "GFM" (Jekyll's default) or "kramdown"; they make heading ids apart.
    kramdown_input: str = "GFM"
    # jekyll-feed's per-category and per-tag feeds: `feed: categories:` and `feed: tags:`.
    feed_categories: tuple[str, ...] = ()
    feed_tags: tuple[str, ...] | None = None
    feed_tags_except: tuple[str, ...] = ()
    feed_tags_path: str = "/feed/by_tag/"
    # jekyll-feed is in the plugins: `jekyll build` writes feed.xml too.
    has_jekyll_feed: bool = False
    # Jekyll's `future: true` and `show_drafts: true`: such posts are published.
    future: bool = False
    show_drafts: bool = False


@dataclass(frozen=True)
class Site:
    """Everything a run needs to know about the site, validated once."""

    root: Path
    source: str
    title: str
    url: str
    description: str = ""
    author: Author | None = None
    language: str = "en"
    timezone: str = "UTC"
    permalink: str = "date"
    excerpt_separator: str | None = None
    icon: str | None = None
    logo: str | None = None
    hubs: tuple[str, ...] = ()
    feeds: FeedOptions = field(default_factory=FeedOptions)
    newsletter: NewsletterOptions = field(default_factory=NewsletterOptions)
    mail: MailOptions = field(default_factory=MailOptions)
    service: ServiceOptions = field(default_factory=ServiceOptions)
    sources: tuple[SourceOptions, ...] = ()
    # Jekyll's _data/authors.yml: a post's `author: key` names one of these.
    authors: dict[str, Author] = field(default_factory=dict)
    # Set for a site configured by _config.yml: it reads its posts as Jekyll does.
    jekyll: JekyllOptions | None = None
    fingerprint: str = ""
    # The stamps of the files the configuration came from, taken before they were read.
    read: dict[str, list[int] | None] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def base_path(self) -> str:
        """The path the site lives under (a Jekyll `baseurl` such as "/blog"), or ""."""
        return urlsplit(self.url).path.rstrip("/")

    @property
    def origin(self) -> str:
        """The site's url without its base path: Jekyll's `site.url`."""
        return self.url[: len(self.url) - len(self.base_path)]

    @property
    def domain(self) -> str:
        return urlsplit(self.url).hostname or ""

    def absolute(self, path: str) -> str:
        """Turn a site path such as `/feed.xml` into a full URL under the site's url."""
        return absolute_url(self.url, path)

    @property
    def markdown_extensions(self) -> tuple[str, ...]:
        """The extensions of files that are Markdown (Jekyll's markdown_ext)."""
        if not self.jekyll:
            return (".md", ".markdown")
        return tuple(f".{ext}" for ext in self.jekyll.markdown_ext)


_SITE_KEYS = {
    "title",
    "url",
    "baseurl",
    "description",
    "author",
    "language",
    "timezone",
    "permalink",
    "excerpt_separator",
    "icon",
    "logo",
    "hub",
}
_FEED_KEYS = set(FeedOptions.__dataclass_fields__)
_NEWSLETTER_KEYS = set(NewsletterOptions.__dataclass_fields__)
_MAIL_KEYS = set(MailOptions.__dataclass_fields__)
_SERVICE_KEYS = set(ServiceOptions.__dataclass_fields__)
_SOURCE_KEYS = set(SourceOptions.__dataclass_fields__) - {"line"}
_SECTIONS = {"site", "feeds", "newsletter", "mail", "service", "sources"}


def load_site(root: Path) -> tuple[Site, Problems]:
    """Read the site's configuration and its warnings, raising SiteError on any error."""
    problems = Problems()
    read = {name: stamp_of(root / name) for name in CONFIG_FILES}
    toml_path = root / CONFIG_FILE
    jekyll_path = root / JEKYLL_CONFIG_FILE
    if toml_path.is_file():
        raw = _read_toml(toml_path, problems)
        site = _site_from_toml(root, CONFIG_FILE, raw, problems) if raw is not None else None
        if site is not None and jekyll_path.is_file():
            site = _beside_jekyll(site, raw, _read_yaml(jekyll_path, problems), problems)
    elif jekyll_path.is_file():
        raw = _read_yaml(jekyll_path, problems)
        site = (
            _site_from_jekyll(root, JEKYLL_CONFIG_FILE, raw, problems) if raw is not None else None
        )
    else:
        problems.error(
            CONFIG_FILE,
            f"no site configuration found in {root}",
            hint=f"create {CONFIG_FILE} with at least [site] title and url (a Jekyll site's "
            f"{JEKYLL_CONFIG_FILE} is read too), or point --site at the site's folder",
        )
        site = None
    if site is not None and (root / AUTHORS_FILE).is_file():
        site = _with_authors(site, problems)
    if problems.errors or site is None:
        raise SiteError(problems)
    return replace(site, read=read), problems


def _with_authors(site: Site, problems: Problems) -> Site:
    """The site with the authors of Jekyll's _data/authors.yml, as jekyll-feed reads them."""
    raw = _read_yaml(site.root / AUTHORS_FILE, problems, AUTHORS_FILE)
    if raw is None:
        return site
    authors = {}
    for key, value in raw.items():
        author = author_from(value) if isinstance(value, dict) else None
        if author:
            authors[str(key)] = author
        else:
            problems.warning(
                AUTHORS_FILE, f"author {key!r} has no name and is ignored", hint="add name: ..."
            )
    fingerprint = _fingerprint({"site": site.fingerprint, "authors": raw})
    return replace(site, authors=authors, fingerprint=fingerprint)


def _read_toml(path: Path, problems: Problems) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        problems.error(path.name, f"not UTF-8 text ({exc.reason})", hint="save it as UTF-8")
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else None
        message = re.sub(r"\s*\(at line.*\)", "", str(exc))
        problems.error(path.name, f"invalid TOML: {message}", line, "fix the syntax on that line")
    return None


def _read_yaml(path: Path, problems: Problems, name: str = "") -> dict[str, Any] | None:
    import yaml

    name = name or path.name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except UnicodeDecodeError as exc:
        problems.error(name, f"not UTF-8 text ({exc.reason})", hint="save it as UTF-8")
        return None
    except yaml.YAMLError as exc:
        yaml_problem(exc, name, problems)
        return None
    if not isinstance(data, dict):
        problems.error(name, "not a mapping of keys to values")
        return None
    return data


def yaml_problem(error: Exception, name: str, problems: Problems, *, where: str = "") -> None:
    """Report a YAML parser's error with its line, as the writer sees the file."""
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark else None
    reason = getattr(error, "problem", None) or str(error)
    problems.error(name, f"invalid YAML{where}: {reason}", line, "fix the syntax on that line")


def _site_from_toml(root: Path, name: str, raw: dict[str, Any], problems: Problems) -> Site:
    for section in sorted(set(raw) - _SECTIONS):
        problems.error(name, f"unknown section [{section}]", hint=_did_you_mean(section, _SECTIONS))
    site = _table(raw, "site", name, problems)
    feeds = _table(raw, "feeds", name, problems)
    newsletter = _table(raw, "newsletter", name, problems)
    mail = _table(raw, "mail", name, problems)
    service = _table(raw, "service", name, problems)
    for section, table, known in (
        ("site", site, _SITE_KEYS),
        ("feeds", feeds, _FEED_KEYS),
        ("newsletter", newsletter, _NEWSLETTER_KEYS),
        ("mail", mail, _MAIL_KEYS),
        ("service", service, _SERVICE_KEYS),
    ):
        _unknown_keys(table, known, section, name, problems)
    sections = {"feeds": feeds, "newsletter": newsletter, "mail": mail, "service": service}
    made = _make_site(root, name, site, sections, problems, _fingerprint(raw))
    return replace(made, sources=_sources(raw.get("sources", []), root / name, problems))


def _site_from_jekyll(root: Path, name: str, raw: dict[str, Any], problems: Problems) -> Site:
    site = {key: raw[key] for key in _SITE_KEYS & raw.keys()}
    if "lang" in raw:
        site["language"] = raw["lang"]
    if not site.get("title"):
        site["title"] = _jekyll_title(raw, name, problems)
    feed = raw.get("feed") if isinstance(raw.get("feed"), dict) else {}
    feeds: dict[str, Any] = {"limit": JEKYLL_FEED_LIMIT, "ids": "url"}
    for key, ours in (
        ("path", "atom"),
        ("posts_limit", "limit"),
        ("excerpt_only", "excerpt_only"),
        ("ids", "ids"),
    ):
        if key in feed:
            feeds[ours] = feed[key]
    for key in ("icon", "logo"):
        if key in feed:
            site[key] = feed[key]
    if (root / JEKYLL_STYLESHEET).is_file():
        feeds["stylesheet"] = f"/{JEKYLL_STYLESHEET}"
    sections = {"feeds": feeds}
    for key, known in (
        ("newsletter", _NEWSLETTER_KEYS),
        ("mail", _MAIL_KEYS),
        ("service", _SERVICE_KEYS),
    ):
        sections[key] = raw[key] if isinstance(raw.get(key), dict) else {}
        _unknown_keys(sections[key], known, key, name, problems)
    for key in raw:
        close = difflib.get_close_matches(str(key), ["newsletter", "service"], n=1, cutoff=0.8)
        if close and key not in close:
            problems.error(name, f"unknown setting {key!r}", hint=f"did you mean {close[0]}?")
    made = _make_site(root, name, site, sections, problems, _fingerprint(raw))
    jekyll = _jekyll_options(raw, feed, name, problems)
    if jekyll.has_jekyll_feed:
        problems.warning(
            name,
            f"jekyll-feed is in the plugins: `jekyll build` writes {made.feeds.atom} too",
            hint="run publisher build after jekyll build, so that its feeds replace "
            "jekyll-feed's, or take jekyll-feed out of the plugins",
        )
    return replace(made, jekyll=jekyll)


def _beside_jekyll(
    site: Site, toml: dict[str, Any], raw: dict[str, Any] | None, problems: Problems
) -> Site:
    """A Jekyll site with a publisher.toml: its settings come from the TOML, but its posts are
    still Jekyll's, read as Jekyll reads them, with jekyll-feed's ids unless the TOML says."""
    if raw is None:
        return site
    feed = raw.get("feed") if isinstance(raw.get("feed"), dict) else {}
    jekyll = _jekyll_options(raw, feed, JEKYLL_CONFIG_FILE, problems)
    feeds = site.feeds
    if not feeds.ids:
        feeds = replace(feeds, ids="url")
    # Jekyll builds the pages, so its permalink and timezone make their URLs.
    table = toml.get("site") if isinstance(toml.get("site"), dict) else {}
    urls = {
        key: _string(raw, key, JEKYLL_CONFIG_FILE, problems)
        for key in ("permalink", "timezone")
        if key not in table and raw.get(key)
    }
    if "timezone" in urls:
        urls["timezone"] = _timezone(urls["timezone"], JEKYLL_CONFIG_FILE, problems)
    fingerprint = _fingerprint({"toml": toml, "jekyll": raw})
    return replace(site, jekyll=jekyll, feeds=feeds, fingerprint=fingerprint, **urls)


def _jekyll_title(raw: dict[str, Any], name: str, problems: Problems) -> str:
    """jekyll-feed's title (the site's title, else its name); a feed needs one, so the
    site's host stands in for a site with neither."""
    if raw.get("name"):
        return str(raw["name"])
    fallback = urlsplit(str(raw.get("url") or "")).hostname or "Blog"
    problems.warning(
        name,
        f"the site has no title; the feeds are titled {fallback!r}",
        hint='add title: "..." to _config.yml',
    )
    return fallback


def _jekyll_options(
    raw: dict[str, Any], feed: dict[str, Any], name: str, problems: Problems
) -> JekyllOptions:
    defaults = raw.get("defaults") or []
    if not isinstance(defaults, list):
        problems.error(name, "defaults must be a list of scope: and values: pairs")
        defaults = []
    valid = tuple(d for d in defaults if isinstance(d, dict) and isinstance(d.get("values"), dict))
    if len(valid) != len(defaults):
        problems.warning(
            name,
            f"{len(defaults) - len(valid)} front matter defaults without values: are ignored",
            hint="give each default a values: mapping, as Jekyll requires",
        )
    collections = raw.get("collections")
    posts = collections.get("posts") if isinstance(collections, dict) else None
    markdown_ext = str(raw.get("markdown_ext") or ",".join(MARKDOWN_EXT))
    kramdown = raw.get("kramdown") if isinstance(raw.get("kramdown"), dict) else {}
    tags = feed.get("tags")
    tag_options = tags if isinstance(tags, dict) else {}
    plugins = [*_names(raw.get("plugins")), *_names(raw.get("gems"))]
    return JekyllOptions(
        config=raw,
        defaults=valid,
        posts_permalink=str(posts.get("permalink") or "") if isinstance(posts, dict) else "",
        markdown_ext=tuple(ext.strip().lstrip(".") for ext in markdown_ext.split(",") if ext),
        exclude=tuple(str(path) for path in _names(raw.get("exclude"))),
        kramdown_input=str(kramdown.get("input") or "GFM"),
        feed_categories=tuple(str(c) for c in _names(feed.get("categories"))),
        feed_tags=_feed_tags(tags),
        feed_tags_except=tuple(map(str, _names(tag_options.get("except")))),
        feed_tags_path=str(tag_options.get("path") or "/feed/by_tag/"),
        has_jekyll_feed="jekyll-feed" in plugins,
        future=raw.get("future") is True,
        show_drafts=raw.get("show_drafts") is True,
    )


def _names(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _feed_tags(value: Any) -> tuple[str, ...] | None:
    """jekyll-feed's `feed: tags:`: None when off; the tags asked for, or () for every tag."""
    if not value:
        return None
    if isinstance(value, dict) and value.get("only"):
        return tuple(str(tag) for tag in _names(value["only"]))
    return ()


def _unknown_keys(
    table: dict[str, Any], known: set[str], section: str, name: str, problems: Problems
) -> None:
    for key in sorted(set(table) - known, key=str):
        hint = _did_you_mean(str(key), known)
        problems.error(name, f"unknown setting {section}.{key}", hint=hint)


def _did_you_mean(word: str, known: set[str]) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1)
    return f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(known))}"


def _table(raw: dict[str, Any], key: str, name: str, problems: Problems) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        problems.error(name, f"[{key}] must be a table of settings")
        return {}
    return value


def _make_site(
    root: Path,
    name: str,
    site: dict[str, Any],
    sections: dict[str, dict[str, Any]],
    problems: Problems,
    fingerprint: str,
) -> Site:
    url = _site_url(site, name, problems)
    title = _string(site, "title", name, problems, required=True)
    problem = header_problem(title)
    if problem:
        problems.error(
            name,
            f"site title {problem}",
            hint="it names the newsletter's sender: keep it on one line",
        )
    return Site(
        root=root,
        source=name,
        title=title,
        url=url,
        description=_string(site, "description", name, problems),
        author=_author(site.get("author"), name, problems),
        language=_string(site, "language", name, problems) or "en",
        timezone=_timezone(site.get("timezone", "UTC"), name, problems),
        permalink=_string(site, "permalink", name, problems) or "date",
        excerpt_separator=site.get("excerpt_separator"),
        icon=absolute_url(url, str(site["icon"])) if site.get("icon") else None,
        logo=absolute_url(url, str(site["logo"])) if site.get("logo") else None,
        hubs=_hubs(site.get("hub"), name, problems),
        feeds=_feed_options(sections["feeds"], name, problems),
        newsletter=_newsletter_options(sections["newsletter"], name, problems),
        mail=_mail_options(sections["mail"], name, problems),
        service=_service_options(sections["service"], url, name, problems),
        fingerprint=fingerprint,
    )


def _string(
    table: dict[str, Any], key: str, name: str, problems: Problems, required: bool = False
) -> str:
    value = table.get(key)
    if value is None or value == "":
        if required:
            problems.error(name, f"site {key} is missing", hint=_add_hint(name, key, '"..."'))
        return ""
    if not isinstance(value, str):
        problems.error(name, f"site {key} must be text, not {type(value).__name__}")
        return ""
    return strip_forbidden(value)


def _site_url(site: dict[str, Any], name: str, problems: Problems) -> str:
    url = site.get("url")
    if not url:
        problems.error(
            name,
            "site url is missing; feeds need absolute links",
            hint=_add_hint(name, "url", '"https://example.com"'),
        )
        return ""
    text = str(url)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not _valid_host(parts) or re.search(r"\s", text):
        problems.error(name, f"site url {url!r} is not an absolute http(s) URL")
        return ""
    if parts.query or parts.fragment or text.rstrip("/").endswith(("?", "#")):
        problems.error(
            name,
            f"site url {url!r} has a query or a fragment",
            hint="write the site's address alone, like https://example.com",
        )
        return ""
    baseurl = str(site.get("baseurl") or "").strip("/")
    full = str(url).rstrip("/")
    return f"{full}/{baseurl}" if baseurl else full


def _add_hint(name: str, key: str, example: str) -> str:
    """How to add a site setting, in the language of the file it goes in."""
    if name == JEKYLL_CONFIG_FILE:
        return f"add {key}: {example} to {JEKYLL_CONFIG_FILE}"
    return f"add {key} = {example} under [site]"


def _valid_host(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return False
    return bool(parts.hostname)


def author_from(value: Any) -> Author | None:
    """An author written as a name, or as a mapping with a name and perhaps an email and a
    uri (or url, as Jekyll themes write it); None for anything else."""
    if isinstance(value, str) and value.strip():
        return Author(value.strip())
    if isinstance(value, dict) and value.get("name"):
        return Author(str(value["name"]), value.get("email"), value.get("uri") or value.get("url"))
    return None


def _author(value: Any, name: str, problems: Problems) -> Author | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    author = author_from(value)
    if author is None:
        kind = "mapping" if name == JEKYLL_CONFIG_FILE else "table"
        problems.error(name, f"site author must be a name or a {kind} with a name")
    return author


def _timezone(value: Any, name: str, problems: Problems) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        problems.error(
            name, f"unknown timezone {value!r}", hint="use an IANA name such as Europe/Paris"
        )
        return "UTC"
    return str(value)


def absolute_url(site_url: str, path: str) -> str:
    """A site path such as `/feed.xml` as a full URL under `site_url`; a URL stays as it is."""
    if not path.startswith("/") and urlsplit(path).scheme:
        return path
    return site_url + "/" + path.lstrip("/")


def _hubs(value: Any, name: str, problems: Problems) -> tuple[str, ...]:
    hubs = [value] if isinstance(value, str) else value or []
    if not isinstance(hubs, list):
        problems.error(name, "site hub must be a URL or a list of URLs")
        return ()
    for hub in hubs:
        if not isinstance(hub, str) or urlsplit(hub).scheme not in ("http", "https"):
            problems.error(name, f"hub {hub!r} is not an http(s) URL")
            return ()
    return tuple(hubs)


def _options(
    kind: type[T], section: str, table: dict[str, Any], name: str, problems: Problems
) -> T:
    """A section's settings over its defaults, each of the default's type."""
    values: dict[str, Any] = {}
    for key, default in vars(kind()).items():
        value = table.get(key, default)
        if type(default) is float and type(value) is int:
            value = float(value)
        if type(value) is not type(default):
            problems.error(
                name, f"{section} {key} must be {type(default).__name__}, like {default!r}"
            )
            continue
        values[key] = value
    return kind(**values)


def _feed_options(feeds: dict[str, Any], name: str, problems: Problems) -> FeedOptions:
    options = _options(FeedOptions, "feeds", feeds, name, problems)
    if options.limit < 0:
        problems.error(name, "feeds limit must be 0 (all posts) or more")
    if options.ids not in ("", "tag", "url"):
        problems.error(
            name,
            f"feeds ids {options.ids!r} is not tag or url",
            hint="tag: tag: URIs; url: jekyll-feed's, the post's URL without its extension",
        )
    _check_output(options.output, name, problems)
    for key in ("atom", "rss", "json", "categories", "tags"):
        path = getattr(options, key)
        if path and not is_inside(path):
            problems.error(name, f"feeds {key} {path!r} leaves the output folder")
    names = [PurePosixPath(options.atom).name, PurePosixPath(options.rss).name, options.json]
    if len({options.atom, options.rss, options.json}) < 3 or len(set(names)) < 3:
        problems.error(
            name,
            "feeds atom, rss and json must be three different files",
            hint="each feed of a tag or category uses the same names in its own folder",
        )
    for key in ("categories", "tags"):
        _check_folder_template(key, getattr(options, key), name, problems)
    if options.categories and options.categories == options.tags:
        problems.error(
            name,
            "feeds categories and tags are the same folder: a tag and a category of one name "
            "would share files",
            hint='keep the defaults, "categories/{slug}" and "tags/{slug}"',
        )
    if re.search(r'[\s"<>]', options.stylesheet):
        problems.error(
            name,
            f"feeds stylesheet {options.stylesheet!r} is not a URL",
            hint="write a site path such as /feed.xsl, or percent-encode the URL",
        )
    return options


# Folders of the site that an output folder must neither be nor hold.
_SOURCE_FOLDERS = {*POSTS_DIRS, "templates", ".publisher", "_data", "_includes", "_layouts"}


def _check_output(output: str, name: str, problems: Problems) -> None:
    """The output folder is a folder of its own inside the site: writing it never replaces
    a post, the configuration, a template or the state."""
    parts = PurePosixPath(output.replace("\\", "/")).parts
    if not output.strip() or not is_inside(output) or parts in ((), (".",)):
        problems.error(
            name,
            f"feeds output {output!r} must be a folder inside the site, not the site itself",
            hint='keep the default, "_site"',
        )
    elif parts[0] in _SOURCE_FOLDERS:
        problems.error(
            name,
            f"feeds output {output!r} is inside {parts[0]}/, which holds the site's own files",
            hint='keep the default, "_site"',
        )


def _check_folder_template(key: str, template: str, name: str, problems: Problems) -> None:
    """A tag's or category's folder is named by its {slug}: without it, every tag would
    write the same files."""
    if not template:
        return
    if "{slug}" not in template or re.search(r"[{}]", template.replace("{slug}", "")):
        problems.error(
            name,
            f"feeds {key} {template!r} must name each folder by {{slug}}, and by nothing else",
            hint=f'write it like "{key}/{{slug}}", or "" for no {key} feeds',
        )


def _sources(value: Any, path: Path, problems: Problems) -> tuple[SourceOptions, ...]:
    """The `[[sources]]` tables: each an http(s) feed, named once."""
    name = path.name
    if not isinstance(value, list) or not all(isinstance(table, dict) for table in value):
        problems.error(name, "sources must be [[sources]] tables, each with a feed = URL")
        return ()
    lines = path.read_text(encoding="utf-8").split("\n")
    sources: list[SourceOptions] = []
    for table in value:
        _unknown_keys(table, _SOURCE_KEYS, "sources", name, problems)
        source = _options(SourceOptions, "sources", table, name, problems)
        line = next(
            (n for n, text in enumerate(lines, 1) if source.feed and source.feed in text), 0
        )
        source = replace(source, line=line)
        parts = urlsplit(source.feed)
        if parts.scheme not in ("http", "https") or not _valid_host(parts) or " " in source.feed:
            problems.error(
                name,
                f"sources feed {source.feed!r} is not an http(s) URL",
                line or None,
                'write it like feed = "https://example.org/index.xml"',
            )
            continue
        if source.timeout <= 0 or source.republished_days < 0:
            problems.error(
                name,
                "sources timeout must be more than 0 seconds, republished_days 0 or more",
                line or None,
            )
        if header_problem(source.name):
            problems.error(name, f"sources name {header_problem(source.name)}", line or None)
        if any(other.feed == source.feed for other in sources):
            problems.error(name, f"sources feed {source.feed} is named twice", line or None)
        sources.append(source)
    return tuple(sources)


def _newsletter_options(table: dict[str, Any], name: str, problems: Problems) -> NewsletterOptions:
    options = _options(NewsletterOptions, "newsletter", table, name, problems)
    for key, value in vars(options).items():
        problem = header_problem(value) if isinstance(value, str) else None
        if problem:
            problems.error(name, f"newsletter {key} {problem}", hint="keep it plain, on one line")
    if options.mode not in ("post", "digest"):
        problems.error(name, f"newsletter mode must be 'post' or 'digest', not {options.mode!r}")
    if options.period not in PERIODS:
        problems.error(name, f"newsletter period must be one of {', '.join(PERIODS)}")
    if options.content not in ("summary", "full"):
        problems.error(
            name, f"newsletter content must be 'summary' or 'full', not {options.content!r}"
        )
    for key in ("from_address", "reply_to", "unsubscribe_mailto"):
        if getattr(options, key):
            _check_address(name, key, getattr(options, key), problems)
    if not options.unsubscribe_url.isascii():
        problems.error(name, "newsletter unsubscribe_url must be ASCII", hint="percent-encode it")
    if options.unsubscribe_url and "{token}" not in options.unsubscribe_url:
        problems.error(
            name,
            "newsletter unsubscribe_url has no {token}",
            hint='write it like "https://example.com/unsubscribe?token={token}"',
        )
    return options


def _mail_options(table: dict[str, Any], name: str, problems: Problems) -> MailOptions:
    """The [mail] settings, with PUBLISHER_SMTP_* and PUBLISHER_DATABASE_URL from the
    environment taking precedence."""
    table = dict(table)
    _check_database(table.get("database"), name, problems)
    if os.environ.get("PUBLISHER_DATABASE_URL", "").strip():
        table["database"] = os.environ["PUBLISHER_DATABASE_URL"].strip()
    environment = {
        "smtp_host": os.environ.get("PUBLISHER_SMTP_HOST"),
        "smtp_port": os.environ.get("PUBLISHER_SMTP_PORT"),
        "smtp_security": os.environ.get("PUBLISHER_SMTP_SECURITY"),
    }
    if environment["smtp_host"] and environment["smtp_host"].strip():
        table["transport"] = "smtp"
    for key, value in environment.items():
        if value and key == "smtp_port":
            if not value.isdigit():
                problems.error(name, f"PUBLISHER_SMTP_PORT {value!r} is not a port number")
                continue
            table[key] = int(value)
        elif value:
            table[key] = value
    options = _options(MailOptions, "mail", table, name, problems)
    if options.database and not is_database_url(options.database):
        problems.error(
            name,
            "mail database (or PUBLISHER_DATABASE_URL) must be a postgresql:// URL",
            hint="write it like postgresql://publisher@db.example.com:5432/blog",
        )
    if options.transport not in ("", "maildir", "smtp"):
        problems.error(name, f"mail transport must be maildir or smtp, not {options.transport!r}")
    if options.transport == "smtp" and not options.smtp_host:
        problems.error(name, "mail transport smtp needs a host", hint="set PUBLISHER_SMTP_HOST")
    if options.smtp_security not in ("starttls", "ssl", "none"):
        problems.error(name, "mail smtp_security must be starttls, ssl or none")
    if options.dkim_key and not options.dkim_selector:
        example = (
            "dkim_selector: ... under mail:"
            if name == JEKYLL_CONFIG_FILE
            else ('dkim_selector = "..." under [mail]')
        )
        problems.error(name, "mail dkim_key needs a dkim_selector", hint=f"add {example}")
    if options.concurrency < 1 or options.retries < 0 or options.rate < 0:
        problems.error(name, "mail concurrency must be 1 or more, retries and rate 0 or more")
    if options.timeout <= 0 or options.retry_delay <= 0:
        problems.error(name, "mail timeout and retry_delay must be more than 0 seconds")
    return options


def is_database_url(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def _check_database(url: object, name: str, problems: Problems) -> None:
    """A database URL in a file that is committed carries no password."""
    if isinstance(url, str) and is_database_url(url) and urlsplit(url).password is not None:
        problems.error(
            name,
            "mail database holds a password, and this file may be committed or shown",
            hint="remove it from the URL; give it in PGPASSWORD, ~/.pgpass, or set the whole "
            "URL in PUBLISHER_DATABASE_URL",
        )


def _service_options(
    table: dict[str, Any], site_url: str, name: str, problems: Problems
) -> ServiceOptions:
    lists = {key: table.get(key, []) for key in ("allowed_origins", "trusted_proxies")}
    scalars = {key: value for key, value in table.items() if key not in lists}
    options = _options(ServiceOptions, "service", scalars, name, problems)
    url = options.url.rstrip("/")
    if url and not _is_base_url(url):
        problems.error(
            name,
            f"service url {options.url!r} is not an http(s) address without a query",
            hint='write it like "https://news.example.com"',
        )
    origins = _text_list(lists["allowed_origins"], "allowed_origins", name, problems)
    for origin in origins:
        if not _is_base_url(origin) or urlsplit(origin).path:
            problems.error(
                name,
                f"service allowed_origins {origin!r} is not an origin",
                hint='write each like "https://blog.example.com", with no path',
            )
    proxies = _text_list(lists["trusted_proxies"], "trusted_proxies", name, problems)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.error(
                name,
                f"service trusted_proxies {proxy!r} is not an IP address or network",
                hint='write each like "127.0.0.1" or "10.0.0.0/8"',
            )
    numbers = ("confirm_days", "signups_per_network", "signups_per_domain", "max_pending")
    if any(getattr(options, key) < 1 for key in numbers):
        problems.error(name, f"service {', '.join(numbers)} must each be 1 or more")
    own = site_url[: len(site_url) - len(urlsplit(site_url).path)] if site_url else ""
    return replace(
        options,
        url=url,
        allowed_origins=tuple(o.rstrip("/") for o in origins) or ((own,) if own else ()),
        trusted_proxies=tuple(proxies),
    )


def _is_base_url(text: str) -> bool:
    parts = urlsplit(text)
    return (
        parts.scheme in ("http", "https")
        and _valid_host(parts)
        and not (parts.query or parts.fragment or "?" in text or "#" in text)
        and not re.search(r"\s", text)
    )


def _text_list(value: Any, key: str, name: str, problems: Problems) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        problems.error(name, f"service {key} must be a list of text")
        return []
    return value


class BadTime(Refusal):
    """A time given on the command line that is not one."""

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument


def moment(site: Site, text: str | None, *, argument: str = "--now") -> datetime:
    """The moment a run acts as if it were (now, unless told); a time without an offset is
    in the site's timezone, as post dates are."""
    if text is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadTime(f"{text!r} is not an ISO-8601 date or time", argument) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=site.tz)


class BadRate(Refusal):
    """A --rate that is not a rate."""

    argument = "--rate"


def with_sending(site: Site, *, concurrency: int | None, rate: str | None) -> Site:
    """The site with a send's own connections and pace (a rate written like 14/s)."""
    overrides: dict[str, Any] = {}
    if concurrency:
        overrides["concurrency"] = concurrency
    if rate:
        try:
            overrides["rate"] = float(rate.removesuffix("/s"))
        except ValueError:
            raise BadRate(f"{rate!r} is not a rate like 14/s") from None
    return replace(site, mail=replace(site.mail, **overrides))


def is_inside(path: str) -> bool:
    """True when a relative path stays below the folder it is relative to."""
    pure = PurePosixPath(path.replace("\\", "/"))
    return not pure.is_absolute() and ".." not in pure.parts


def _fingerprint(raw: dict[str, Any]) -> str:
    return hashlib.sha256(repr(sorted(raw.items(), key=str)).encode()).hexdigest()[:16]


def _check_address(name: str, key: str, address: str, problems: Problems) -> None:
    """Addresses go into headers and SMTP's MAIL command as they are: each must be a plain
    ASCII address."""
    from email_validator import EmailNotValidError, validate_email

    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        problems.error(
            name,
            f"newsletter {key} {address!r} is not an address: {exc}",
            hint="write it like news@example.com",
        )
