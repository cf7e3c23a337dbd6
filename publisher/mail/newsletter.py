"""Newsletters: one post's summary, or a digest of several, as HTML and plain text.

A newsletter is rendered once. What differs per subscriber (the greeting and the unsubscribe
link) is left as placeholder tokens that `personalize` fills in with plain string work, so
sending to many subscribers never renders a template again.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.site.config import Site
from publisher.site.content import (
    Image,
    Rendered,
    first_paragraph_with_text,
    html_to_line,
    render,
    without_images,
)
from publisher.site.discovery import posts_dirs
from publisher.site.embeds import for_mail
from publisher.site.markdown import Heading
from publisher.site.post import Post, read_body
from publisher.site.problems import Problems, Refusal, SiteError
from publisher.site.text import header_problem

# Gmail clips an HTML part over about 102 KB and hides what follows, the footer included.
MAX_HTML_BYTES = 100_000
GREETING = "%%publisher:greeting%%"
UNSUBSCRIBE = "%%publisher:unsubscribe_url%%"
CONFIRM = "%%publisher:confirm_url%%"
_TOKENS = re.compile("|".join(re.escape(token) for token in (GREETING, UNSUBSCRIBE, CONFIRM)))
_RTL_LANGUAGES = {"ar", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"}
# After the preheader, so an inbox's preview stops there and does not run on into the body.
PREHEADER_SPACER = "&#847;&zwnj;&nbsp;" * 90
WORDS_A_MINUTE = 230
# The web archive's folder, under the site's output folder.
ARCHIVE_FOLDER = "newsletter"
_UNSAFE_IN_PATH = re.compile(r"[^\w-]+")
# The text part's lines: wrapped at 76, so none is over 78 but an unbreakable URL.
TEXT_WIDTH = 76
_SAME_LINK = re.compile(r"\[([^\]\n]+)\]\(\1\)")
_LIST_MARK = re.compile(r"\s*(?:[*+-]|\d+\.)?\s*")


@dataclass(frozen=True)
class Newsletter:
    """A rendered newsletter, the same for every subscriber until personalized."""

    subject: str
    html: str
    text: str
    posts: tuple[Post, ...]


@dataclass(frozen=True)
class Recipient:
    """One subscriber as a message addresses them."""

    email: str
    name: str
    unsubscribe_url: str
    # The link of a sign-up's confirmation message.
    confirm_url: str = ""
    # Their unsubscribe token, which the mailto: unsubscribe carries in its subject.
    token: str = ""


class HeaderError(Refusal):
    """A value meant for a mail header that could forge headers (see `header_problem`)."""


def check_header(name: str, value: str) -> str:
    problem = header_problem(value)
    if problem:
        raise HeaderError(f"{name} {problem}; write it as plain text on one line")
    return value


def post_newsletter(site: Site, post: Post, problems: Problems) -> Newsletter | None:
    """The newsletter for one post: its summary, outline and a link to read it all."""
    rendered = _rendered(site, post, problems)
    if rendered is None:
        return None
    subject = subject_of(site, [post])
    try:
        check_header("the subject", subject)
    except HeaderError as exc:
        problems.error(post.source, str(exc), hint="fix newsletter_subject or title")
        return None
    full = (post.newsletter_content or site.newsletter.content) == "full"
    item = _item(post, rendered, full=full)
    newsletter = _render(site, "post", subject, [item], (post,), item["preheader"])
    if full and len(newsletter.html.encode()) > MAX_HTML_BYTES:
        problems.warning(
            post.source,
            "the whole post makes the email longer than Gmail shows; sending the summary",
            hint="shorten the post or drop newsletter_content: full",
        )
        item = _item(post, rendered, full=False)
        newsletter = _render(site, "post", subject, [item], (post,), item["preheader"])
    return newsletter


def digest_newsletter(site: Site, posts: list[Post], problems: Problems) -> Newsletter | None:
    """One email for several posts, newest first: each one's title, date and summary."""
    rendered = [_rendered(site, post, problems) for post in posts]
    if None in rendered:
        return None
    items = [_item(post, done, full=False) for post, done in zip(posts, rendered, strict=True)]
    subject = _digest_subject(site, posts)
    try:
        check_header("the subject", subject)
    except HeaderError as exc:
        problems.error(posts[0].source, str(exc), hint="fix the title")
        return None
    preheader = " · ".join(post.title for post in posts)
    shown = len(items)
    newsletter = _render(site, "digest", subject, items, tuple(posts), preheader)
    while len(newsletter.html.encode()) > MAX_HTML_BYTES and shown > 1:
        shown = shown * 3 // 4
        newsletter = _render(
            site, "digest", subject, items[:shown], tuple(posts), preheader, len(items) - shown
        )
    return newsletter


def _digest_subject(site: Site, posts: list[Post]) -> str:
    """Named for the newest post, as a reader scanning an inbox wants it."""
    newest = posts[0].newsletter_subject or posts[0].title
    if len(posts) == 1:
        return f"{newest}, from {site.title}"
    return f"{newest}, and {len(posts) - 1} more from {site.title}"


def _digest_intro(site: Site, count: int) -> str:
    if count == 1:
        return f"One new post on {site.title} since the last newsletter."
    return f"{count} new posts on {site.title} since the last newsletter, the newest first."


def confirmation_newsletter(site: Site) -> Newsletter:
    """The message that asks whoever signed up to confirm, the same for all until personalized
    with their link; it greets nobody by name and repeats nothing they typed."""
    subject = f"Confirm your subscription to {site.title}"
    context = _context(site, subject, f"One click confirms your subscription to {site.title}.")
    context |= {"confirm_url": CONFIRM, "confirm_days": site.service.confirm_days}
    page = _render_template(site, "confirm.html", context)
    text = _wrapped(_render_template(site, "confirm.txt", context))
    return Newsletter(subject, _inline_css(page), text, ())


def _rendered(site: Site, post: Post, problems: Problems) -> Rendered | None:
    """The post rendered, or None with its Liquid's errors in `problems`."""
    rendered = render(site, post, read_body(site, post))
    problems.extend(list(rendered.problems))
    return None if rendered.problems else rendered


def personalize(newsletter: Newsletter, recipient: Recipient) -> tuple[str, str]:
    """The HTML and text for one subscriber; their name is escaped like any untrusted text."""
    greeting = f"Hi {recipient.name}," if recipient.name else "Hello,"
    text_values = {
        GREETING: greeting,
        UNSUBSCRIBE: recipient.unsubscribe_url,
        CONFIRM: recipient.confirm_url,
    }
    html_values = {token: html.escape(value) for token, value in text_values.items()}
    return (
        _TOKENS.sub(lambda m: html_values[m.group(0)], newsletter.html),
        _TOKENS.sub(lambda m: text_values[m.group(0)], newsletter.text),
    )


def _item(post: Post, rendered: Rendered, *, full: bool) -> dict:
    summary = _mail_summary(rendered)
    content = for_mail(rendered.html) if full else ""
    image = _hero(post, rendered)
    if full and image and image.src == getattr(rendered.image, "src", None):
        image = None  # the content shows it where the writer put it
    return {
        "title": post.title,
        "url": post.url,
        "date": long_date(post.date),
        "byline": _byline(post, rendered),
        "iso_date": post.date.date().isoformat(),
        "categories": post.categories,
        "tags": post.tags,
        "summary_html": summary,
        "summary_text": _html_to_text(summary),
        "content_html": content,
        "content_text": _html_to_text(content),
        "outline": [(h.text, f"{post.url}#{h.id}") for h in _outline(rendered.headings)],
        "image": image,
        "call_to_action": _call_to_action(post),
        "preheader": html_to_line(summary) or post.title,
    }


def _mail_summary(rendered: Rendered) -> str:
    """The excerpt without its images (the hero shows the first); for a post that opens
    with an image, whose excerpt has no text, its first paragraph that has some."""
    summary = without_images(for_mail(rendered.summary_html))
    return summary if html_to_line(summary) else first_paragraph_with_text(rendered.html)


def _hero(post: Post, rendered: Rendered) -> Image | None:
    """The front matter's `image`, else the post's first picture."""
    return Image(post.image, "") if post.image else rendered.image


def _byline(post: Post, rendered: Rendered) -> str:
    minutes = max(1, round(len(html_to_line(rendered.html).split()) / WORDS_A_MINUTE))
    parts = [long_date(post.date)]
    if post.author and post.author.name:
        parts.append(f"by {post.author.name}")
    if post.html is None:  # a remote feed's entry is often its summary alone
        parts.append(f"{minutes} min read")
    return " · ".join(parts)


def _outline(headings: tuple[Heading, ...]) -> list[Heading]:
    """The post's sections: its headings of the highest level below the title."""
    sections = [h for h in headings if h.level > 1]
    top = min((h.level for h in sections), default=0)
    return [h for h in sections if h.level == top]


def _call_to_action(post: Post) -> str:
    labels = {name.casefold() for name in (*post.categories, *post.tags)}
    return "Read the full review" if labels & {"review", "reviews"} else "Read the full post"


def _render(
    site: Site,
    kind: str,
    subject: str,
    items: list[dict],
    posts: tuple[Post, ...],
    preheader: str,
    more: int = 0,
) -> Newsletter:
    context = _context(site, subject, preheader) | {
        "items": items,
        "more": more,
        "intro": _digest_intro(site, len(items) + more),
        "archive_url": archive_url(site, posts) if site.newsletter.archive else "",
    }
    page = _render_template(site, f"{kind}.html", context)
    text = _wrapped(_render_template(site, f"{kind}.txt", context))
    return Newsletter(subject, _inline_css(page), text, posts)


def web_version(site: Site, posts: list[Post], problems: Problems) -> str | None:
    """The newsletter of `posts` (one post's, or a digest) as its archive page shows it to
    anyone: no greeting, no token, a sign-up link where the service has one. A web page has
    no size limit, so a full post stays full."""
    rendered = [_rendered(site, post, problems) for post in posts]
    if None in rendered:
        return None
    subject = subject_of(site, posts)
    if len(posts) == 1:
        full = (posts[0].newsletter_content or site.newsletter.content) == "full"
        kind = "post"
    else:
        full, kind = False, "digest"
    items = [_item(post, done, full=full) for post, done in zip(posts, rendered, strict=True)]
    context = _context(site, subject, items[0]["preheader"], web=True) | {
        "items": items,
        "more": 0,
        "intro": _digest_intro(site, len(items)),
    }
    return _inline_css(_render_template(site, f"{kind}.html", context))


def archive_path(posts: tuple[Post, ...] | list[Post]) -> str:
    """Where a newsletter's web version lives under newsletter/: the post's date and slug,
    or for a digest its newest post's date and a digest of its posts' keys."""
    newest = posts[0]
    if len(posts) == 1:
        name = f"{newest.date:%Y-%m-%d}-{newest.slug}"
    else:
        keys = "\n".join(sorted(post.key for post in posts))
        name = f"digest-{newest.date:%Y-%m-%d}-{hashlib.sha256(keys.encode()).hexdigest()[:8]}"
    return _UNSAFE_IN_PATH.sub("-", name).strip("-.") or "newsletter"


def subject_of(site: Site, posts: list[Post]) -> str:
    """The subject a newsletter of `posts` has: the post's, or the digest's."""
    if len(posts) > 1:
        return _digest_subject(site, posts)
    return posts[0].newsletter_subject or posts[0].title


def archive_index(site: Site, entries: list[dict]) -> str:
    """The archive's index page: each newsletter's subject, linked, and its date."""
    subject = f"Newsletters from {site.title}"
    context = _context(site, subject, subject, web=True) | {"entries": entries}
    return _inline_css(_render_template(site, "archive.html", context))


def archive_url(site: Site, posts: tuple[Post, ...] | list[Post]) -> str:
    return site.absolute(f"{ARCHIVE_FOLDER}/{archive_path(posts)}/")


def _context(site: Site, subject: str, preheader: str, *, web: bool = False) -> dict:
    """What every message's templates see; `web` for an archive page, which is nobody's."""
    logos = (site.newsletter.logo, site.newsletter.logo_dark)
    return {
        "site": site,
        "web": web,
        "subject": subject,
        "preheader": preheader or subject,
        "preheader_spacer": PREHEADER_SPACER,
        "logo": site.absolute(logos[0]) if logos[0] else "",
        "logo_dark": site.absolute(logos[1]) if logos[1] else "",
        "archive_url": "",
        "archive_index": site.absolute(f"{ARCHIVE_FOLDER}/") if site.newsletter.archive else "",
        "signup_url": f"{site.service.url}/subscribe" if site.service.url else "",
        "direction": "rtl" if site.language.split("-")[0] in _RTL_LANGUAGES else "ltr",
        "feed_url": _feed_url(site),
        "postal_address": site.newsletter.postal_address,
        "greeting": GREETING,
        "unsubscribe_url": UNSUBSCRIBE,
    }


def _feed_url(site: Site) -> str:
    """The feed a reader may follow instead: the site's, or for a site whose posts all come
    from one source, that source's; none for several."""
    if not site.sources or posts_dirs(site):
        return site.absolute(site.feeds.atom)
    return site.sources[0].feed if len(site.sources) == 1 else ""


def _render_template(site: Site, name: str, context: dict) -> str:
    """Render one template; a broken or overriding template is reported, never a traceback."""
    from jinja2 import TemplateError, TemplateSyntaxError

    environment = template_environment(site.root / "templates")
    try:
        return environment.get_template(name).render(context)
    except TemplateError as exc:
        line = exc.lineno if isinstance(exc, TemplateSyntaxError) else None
        source = exc.filename if isinstance(exc, TemplateSyntaxError) else None
        source = source or environment.get_template(name).filename or name
        problems = Problems()
        problems.error(_shown_path(site, source), exc.message or str(exc), line, "fix the template")
        raise SiteError(problems) from None


def _shown_path(site: Site, path: str) -> str:
    resolved = Path(path).resolve()
    if resolved.is_relative_to(site.root):
        return resolved.relative_to(site.root).as_posix()
    return path


@functools.cache
def template_environment(site_templates: Path):
    """One Jinja environment per templates folder, so each template is compiled once a run
    (a long digest renders several times while it is cut to size)."""
    from jinja2 import (
        ChoiceLoader,
        Environment,
        FileSystemLoader,
        PackageLoader,
        StrictUndefined,
        select_autoescape,
    )

    loader = ChoiceLoader(
        [FileSystemLoader(site_templates), PackageLoader("publisher", "templates")]
    )
    return Environment(
        loader=loader,
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _inline_css(page: str) -> str:
    """Styles go inline, where every mail client reads them; media queries stay in <style>."""
    import css_inline

    # Highlighted code (Jekyll's highlight tag) keeps its colours as inline styles.
    extra = _code_colours() if 'class="highlight"' in page else None
    inliner = css_inline.CSSInliner(
        load_remote_stylesheets=False, keep_at_rules=True, extra_css=extra
    )
    return inliner.inline(page)


@functools.cache
def _code_colours() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight")


def _html_to_text(fragment: str) -> str:
    from inscriptis import get_text
    from inscriptis.css_profiles import CSS_PROFILES
    from inscriptis.model.config import ParserConfig

    config = ParserConfig(css=CSS_PROFILES["strict"], display_links=True, display_images=True)
    return get_text(fragment, config).strip() if fragment else ""


def _wrapped(text: str) -> str:
    """Lines a text-only client shows as written: none longer than 78 characters (but a URL,
    which must stay whole), each link's URL printed once."""
    text = _SAME_LINK.sub(r"\1", text)
    return "\n".join(_wrap_line(line) for line in text.split("\n"))


def _wrap_line(line: str) -> str:
    if len(line) <= TEXT_WIDTH + 2:
        return line
    indent = " " * len(_LIST_MARK.match(line).group(0))
    return textwrap.fill(
        line,
        TEXT_WIDTH,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"
