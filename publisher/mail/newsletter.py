"""Newsletters: one post's summary, or a digest of several, as HTML and plain text.

A newsletter is rendered once. What differs per subscriber (the greeting and the unsubscribe
link) is left as placeholder tokens that `personalize` fills in with plain string work, so
sending to many subscribers never renders a template again.
"""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from publisher.mail.embeds import for_mail
from publisher.site.config import Site
from publisher.site.content import Rendered, render
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
    subject = post.newsletter_subject or post.title
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
    subject = f"{len(posts)} new post{'s' if len(posts) != 1 else ''} from {site.title}"
    preheader = " · ".join(post.title for post in posts)
    shown = len(items)
    newsletter = _render(site, "digest", subject, items, tuple(posts), preheader)
    while len(newsletter.html.encode()) > MAX_HTML_BYTES and shown > 1:
        shown = shown * 3 // 4
        newsletter = _render(
            site, "digest", subject, items[:shown], tuple(posts), preheader, len(items) - shown
        )
    return newsletter


def confirmation_newsletter(site: Site) -> Newsletter:
    """The message that asks whoever signed up to confirm, the same for all until personalized
    with their link; it greets nobody by name and repeats nothing they typed."""
    subject = f"Confirm your subscription to {site.title}"
    context = _context(site, subject, f"One click confirms your subscription to {site.title}.")
    context |= {"confirm_url": CONFIRM, "confirm_days": site.service.confirm_days}
    page = _render_template(site, "confirm.html", context)
    text = _render_template(site, "confirm.txt", context)
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
    summary = for_mail(rendered.summary_html)
    content = for_mail(rendered.html) if full else ""
    return {
        "title": post.title,
        "url": post.url,
        "date": _long_date(post.date),
        "iso_date": post.date.date().isoformat(),
        "categories": post.categories,
        "tags": post.tags,
        "summary_html": summary,
        "summary_text": _html_to_text(summary),
        "content_html": content,
        "content_text": _html_to_text(content),
        "outline": [(h.text, f"{post.url}#{h.id}") for h in _outline(rendered.headings)],
        "image": rendered.image,
        "call_to_action": _call_to_action(post),
        "preheader": rendered.summary_text,
    }


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
    context = _context(site, subject, preheader) | {"items": items, "more": more}
    page = _render_template(site, f"{kind}.html", context)
    text = _render_template(site, f"{kind}.txt", context)
    return Newsletter(subject, _inline_css(page), text, posts)


def _context(site: Site, subject: str, preheader: str) -> dict:
    """What every message's templates see."""
    return {
        "site": site,
        "subject": subject,
        "preheader": preheader,
        "direction": "rtl" if site.language.split("-")[0] in _RTL_LANGUAGES else "ltr",
        "feed_url": site.absolute(site.feeds.atom),
        "postal_address": site.newsletter.postal_address,
        "greeting": GREETING,
        "unsubscribe_url": UNSUBSCRIBE,
    }


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


def _long_date(moment: datetime) -> str:
    return f"{moment.day} {moment:%B %Y}"
