"""A remote feed's entry as a newsletter post, beside the site's own: it is known by its
key within its source, and links to where the feed says it lives."""

from __future__ import annotations

from publisher.site.config import Author, Site
from publisher.site.post import Post
from publisher.site.text import slugify
from publisher.sources.records import KeptEntry


def as_post(site: Site, kept: KeptEntry) -> Post:
    entry = kept.entry
    label = next((s.label for s in site.sources if s.feed == kept.feed), kept.feed)
    date = entry.date or kept.seen_at
    title = entry.title or f"New from {label}"
    name = entry.author or label
    return Post(
        source=f"{label}: {entry.link or title}",
        body_line=1,
        id=entry.id or entry.link or kept.post_key,
        key=kept.post_key,
        slug=slugify(title) or "entry",
        title=title,
        date=date,
        updated=date,
        url=entry.link or kept.feed,
        categories=(),
        tags=entry.tags,
        author=Author(name, entry.author_email or None),
        draft=False,
        summary=entry.summary or None,
        excerpt_separator=None,
        image=entry.image or None,
        markdown=False,
        html=entry.content,
    )
