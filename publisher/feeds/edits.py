"""A build after a few edited or added posts, such as a typo fixed or a new post written:
only those posts are read, and only the feeds that show one are made again, from the plan the
last build kept. Large blogs get such changes most.

It applies only when nothing else that decides which feed shows which post changed: the same
options, no file gone, no scheduled post due, the feeds as the last build left them, no post
with Liquid among those shown (it could show any other post), and each edited post with the
same id, date, draft state, categories and tags, before and after.

An added post is placed by planning the feeds again over the posts the plan holds and the new
ones. With a limit on the feeds, the plan holds each feed's newest posts, so for every feed
the newest posts among them are its newest posts overall, and the labels and slugs come out
as a full build makes them. Without a limit no plan is kept, and an added post means a full
build, which still leaves alone the feeds whose posts did not change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from publisher.feeds.feed import Feed
from publisher.site.cache import Cache, post_from_row, post_to_row, unpack_stamps
from publisher.site.catalog import Selection, select
from publisher.site.config import Site
from publisher.site.post import Post, read_post
from publisher.site.problems import Problem, Problems
from publisher.site.stamps import Stamp

# More changed files than this and a full build is as quick.
MOST_EDITS = 20


@dataclass(frozen=True)
class Edit:
    """One edited or added post, read again, and its problems."""

    name: str
    post: Post
    problems: list[Problem]


@dataclass(frozen=True)
class EditPlan:
    """The changed posts, and the feeds with them in place; no feeds when none shows a
    changed post, and none is made again. With added posts, `added` is where they went, and
    `ids` the digests of every post's id, theirs included."""

    edits: list[Edit]
    feeds: list[Feed] | None
    added: Selection | None = None
    ids: list[str] = field(default_factory=list)


def plan_edits(
    site: Site,
    cache: Cache,
    stamps: dict[str, Stamp],
    options: str,
    now: datetime,
    *,
    drafts: bool,
    future: bool,
) -> EditPlan | None:
    """The changes and the feeds to make again, or None when a full build is needed. The
    caller has checked that no scheduled post fell due and the feeds are intact."""
    earlier, record = cache.inputs, cache.build
    if not earlier or not record.get("feeds") or earlier.get("options") != options:
        return None
    if earlier["liquid_shown"]:
        return None
    read = unpack_stamps(earlier["stamps"])
    if not read.keys() <= stamps.keys():
        return None
    added = [name for name in stamps if name not in read]
    changed = [name for name, stamp in stamps.items() if name in read and read[name] != stamp]
    if not 0 < len(changed) + len(added) <= MOST_EDITS:
        return None
    edits = _edits(site, cache, changed)
    additions = _additions(site, earlier, added)
    if edits is None or additions is None:
        return None
    if not additions:
        if not set(changed) & set(earlier["shown"]):
            return EditPlan(edits, None)
        feeds = _planned_feeds(earlier.get("plan"), {edit.name: edit.post for edit in edits})
        return EditPlan(edits, feeds) if feeds is not None else None
    return _plan_with_additions(site, earlier, edits, additions, now, drafts=drafts, future=future)


def _plan_with_additions(
    site: Site,
    earlier: dict,
    edits: list[Edit],
    additions: list[Edit],
    now: datetime,
    *,
    drafts: bool,
    future: bool,
) -> EditPlan | None:
    """The feeds planned again over the posts the plan shows and the added ones; None when
    a full build must say something (two tags sharing a slug) or a feed would move (a full
    build removes what is left at the old path)."""
    shown = _shown_posts(earlier["plan"], {edit.name: edit.post for edit in edits})
    posts = [*shown, *(addition.post for addition in additions)]
    chosen = select(posts, now, drafts=drafts, future=future)
    # Imported here: an edit to a post that no feed shows plans no feed.
    from publisher.feeds.writer import plan_feeds

    problems = Problems()
    feeds = plan_feeds(site, chosen.published, problems)
    before = {Feed(**{**kept, "posts": ()}).path(site, "atom") for kept in earlier["plan"]["feeds"]}
    if problems.items or not before <= {feed.path(site, "atom") for feed in feeds}:
        return None
    added = {addition.name for addition in additions}
    published = [post for post in chosen.published if post.source in added]
    ids = [*earlier["ids"], *(id_digest(addition.post.id) for addition in additions)]
    selection = Selection(published, chosen.drafts, chosen.future)
    return EditPlan(edits + additions, feeds, selection, ids)


def _edits(site: Site, cache: Cache, changed: list[str]) -> list[Edit] | None:
    """The edited posts read again; None when one of them may have moved between feeds."""
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
    return edits


def _additions(site: Site, earlier: dict, added: list[str]) -> list[Edit] | None:
    """The added posts read; None when the last build kept no plan, or a post cannot be
    placed here (it has Liquid, an error, or an id another post has)."""
    if not added:
        return []
    if earlier.get("plan") is None:
        return None
    ids = set(earlier["ids"])
    additions = []
    for name in added:
        post, problems, _ = read_post(site, site.root / name)
        if post is None or post.liquid or any(p.level == "error" for p in problems):
            return None
        if id_digest(post.id) in ids:
            return None
        ids.add(id_digest(post.id))
        additions.append(Edit(name, post, problems))
    return additions


def id_digest(post_id: str) -> str:
    """A short digest of a post's id. Builds keep every post's, for an added post's id to be
    checked against: a tenth of the ids' size, and two ids that share one only mean a full
    build, which compares the ids themselves."""
    return hashlib.sha1(post_id.encode()).hexdigest()[:12]


def feed_plan(feeds: list[Feed]) -> dict:
    """The feeds as the cache keeps them: their fields, their posts by file, and each of
    those posts as a row, so that a build after an edit reads no other post."""
    # A post is in several feeds (the site's, its category's, its tags'): one row each.
    shown = {post.source: post for feed in feeds for post in feed.posts}
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
        "rows": {source: post_to_row(post) for source, post in shown.items()},
    }


def _shown_posts(plan: dict, edited: dict[str, Post]) -> list[Post]:
    """Every post the plan's feeds show, each as it was or as it was edited."""
    posts = {source: post_from_row(row) for source, row in plan["rows"].items()}
    posts.update({source: post for source, post in edited.items() if source in posts})
    return list(posts.values())


def _planned_feeds(plan: dict | None, edited: dict[str, Post]) -> list[Feed] | None:
    """The kept plan's feeds, each post as it was or as it was edited; None when there is
    no plan (a build of every entry keeps none)."""
    if plan is None:
        return None
    posts = {post.source: post for post in _shown_posts(plan, edited)}
    return [
        Feed(**{**kept, "posts": tuple(posts[source] for source in kept["posts"])})
        for kept in plan["feeds"]
    ]


def _placement(post: Post) -> tuple:
    """What decides the feeds a post is in, and where."""
    return (post.id, post.date, post.draft, post.categories, post.tags)
