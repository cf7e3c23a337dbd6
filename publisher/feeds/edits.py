"""A build after edits that move no post between feeds, such as a typo fixed in a post: only
the edited posts are read, and only the feeds that show one are made again, from the plan
the last full build kept. Large blogs get such edits most.

It applies only when nothing that decides which feed shows which post changed: the same
files as the last full build, the same options, no scheduled post due, the feeds as that
build left them, no post with Liquid among those shown (it could show any other post), and
each edited post with the same id, date, draft state, categories and tags, before and after.
Anything else is a full build, which still leaves alone the feeds whose posts did not change.
"""

from __future__ import annotations

from dataclasses import dataclass

from publisher.feeds.feed import Feed
from publisher.site.cache import Cache, post_from_row, post_to_row
from publisher.site.config import Site
from publisher.site.post import Post, read_post
from publisher.site.problems import Problem

# More edited files than this and a full build is as quick.
MOST_EDITS = 20


@dataclass(frozen=True)
class Edit:
    """One edited post, read again, and its problems."""

    name: str
    post: Post
    problems: list[Problem]


@dataclass(frozen=True)
class EditPlan:
    """The edits, and the feeds as the last build planned them with the edited posts in
    place; no feeds when none shows an edited post, and none is made again."""

    edits: list[Edit]
    feeds: list[Feed] | None


def plan_edits(
    site: Site, cache: Cache, stamps: dict[str, list[int]], options: str
) -> EditPlan | None:
    """The edits and the feeds to make again, or None when a full build is needed. The
    caller has checked that no scheduled post fell due and the feeds are intact."""
    earlier, record = cache.inputs, cache.build
    if not earlier or not record.get("feeds") or earlier.get("options") != options:
        return None
    if earlier["liquid_shown"] or earlier["stamps"].keys() != stamps.keys():
        return None
    changed = [name for name, stamp in stamps.items() if earlier["stamps"][name] != stamp]
    if not changed or len(changed) > MOST_EDITS:
        return None
    edits = []
    for name in changed:
        before = cache.earlier(name)
        if before is None or before.liquid:
            return None
        post, problems, _ = read_post(site, site.root / name)
        if post is None or post.liquid or any(p.level == "error" for p in problems):
            return None
        if _placement(post) != _placement(before):
            return None
        edits.append(Edit(name, post, problems))
    if not set(changed) & set(earlier["shown"]):
        return EditPlan(edits, None)
    feeds = _planned_feeds(earlier.get("plan"), {edit.name: edit.post for edit in edits})
    return EditPlan(edits, feeds) if feeds is not None else None


def feed_plan(feeds: list[Feed]) -> dict:
    """The feeds as the cache keeps them: their fields, their posts by file, and each of
    those posts as a row, so that a build after an edit reads no other post."""
    return {
        "feeds": [
            {
                "kind": feed.kind,
                "name": feed.name,
                "title": feed.title,
                "description": feed.description,
                "folder": feed.folder,
                "jekyll_path": feed.jekyll_path,
                "posts": [post.source for post in feed.posts],
            }
            for feed in feeds
        ],
        "rows": {post.source: post_to_row(post) for feed in feeds for post in feed.posts},
    }


def _planned_feeds(plan: dict | None, edited: dict[str, Post]) -> list[Feed] | None:
    """The kept plan's feeds, each post as it was or as it was edited; None when there is
    no plan (a build of every entry keeps none)."""
    if plan is None:
        return None
    posts = {source: post_from_row(row) for source, row in plan["rows"].items()}
    posts.update(edited)
    return [
        Feed(**{**kept, "posts": tuple(posts[source] for source in kept["posts"])})
        for kept in plan["feeds"]
    ]


def _placement(post: Post) -> tuple:
    """What decides the feeds a post is in, and where."""
    return (post.id, post.date, post.draft, post.categories, post.tags)
