"""Which files are posts, with their stamps, which tell a later run whether they changed.

A publisher site keeps them in posts/, _posts/ and _drafts/ at its root. A Jekyll site has
them wherever Jekyll reads them: in every _posts/ and _drafts/ folder of the tree, the
folders above one being the posts' categories (en/news/_posts/ holds posts in en and news).
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path

from publisher.site.config import DRAFTS_DIR, JEKYLL_EXCLUDE, POSTS_DIR, POSTS_DIRS, Site
from publisher.site.stamps import Scan, Stamp, scan, stamp_of

POST_FOLDERS = (POSTS_DIR, DRAFTS_DIR)
# What a Jekyll post's Liquid reads besides posts: a change there changes the feeds.
LIQUID_FOLDERS = ("_includes", "_data")


@dataclass
class Inputs:
    """The files a build reads, and where they were found: a later run rescans the same
    folders while the folders walked to choose them keep their stamps (publisher/shortcut.py).
    """

    posts: dict[str, Stamp]
    liquid: dict[str, Stamp]
    post_scans: list[Scan]
    liquid_scans: list[Scan]
    # The stamps of the folders whose listing chose the post folders, taken before listing.
    walked: dict[str, list[int] | None]
    # Files left out: their names are not UTF-8, so no feed, URL or cache could hold them.
    misnamed: list[str]


def find_inputs(site: Site) -> Inputs:
    """The site's posts and the files their Liquid reads, with their stamps."""
    walked: dict[str, list[int] | None] = {}
    post_scans = _post_scans(site, walked)
    liquid_scans: list[Scan] = [(name, None) for name in LIQUID_FOLDERS] if site.jekyll else []
    posts, misnamed = _named_in_utf8(scan(site.root, post_scans))
    liquid, misnamed_liquid = _named_in_utf8(scan(site.root, liquid_scans))
    return Inputs(posts, liquid, post_scans, liquid_scans, walked, misnamed + misnamed_liquid)


def discover(site: Site) -> dict[str, Stamp]:
    """Every post file of the site, by site-relative name, with its stamp."""
    return _named_in_utf8(scan(site.root, _post_scans(site, {})))[0]


def _named_in_utf8(
    files: dict[str, Stamp],
) -> tuple[dict[str, Stamp], list[str]]:
    """The files whose names are UTF-8, and the others' names, made printable."""
    kept, misnamed = {}, []
    for name, found in files.items():
        if name.isascii() or _utf8(name):
            kept[name] = found
        else:
            misnamed.append(name.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
    return kept, misnamed


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _post_scans(site: Site, walked: dict[str, list[int] | None]) -> list[Scan]:
    # Jekyll reads a file of any kind in _posts/ (post.py skips YAML, and what is not text).
    extensions = None if site.jekyll else site.markdown_extensions
    return [(name, extensions) for name in _post_folders(site, walked)]


def posts_dirs(site: Site) -> list[Path]:
    """The folders that hold posts."""
    found = [site.root / name for name in _post_folders(site, {})]
    return [folder for folder in found if folder.is_dir()]


def _post_folders(site: Site, walked: dict[str, list[int] | None]) -> list[str]:
    """The site-relative folders where posts may be, in name order; a Jekyll tree's walked
    folders go into `walked` with their stamps."""
    if site.jekyll is None:
        return sorted(POSTS_DIRS)
    skipped = {*JEKYLL_EXCLUDE, *site.jekyll.exclude, site.feeds.output.strip("/")}
    folders: list[str] = []
    _find_post_folders(site.root, "", skipped, folders, walked)
    return sorted(folders)


def _find_post_folders(
    folder: Path,
    prefix: str,
    skipped: set[str],
    found: list[str],
    walked: dict[str, list[int] | None],
) -> None:
    walked[prefix or "."] = stamp_of(folder)
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.name in POST_FOLDERS:
                found.append(relative)
            elif not _ignored(entry.name, relative, skipped):
                _find_post_folders(Path(entry.path), relative + "/", skipped, found, walked)


def _ignored(name: str, relative: str, skipped: set[str]) -> bool:
    """Jekyll's entry filter: special names, and what `exclude:` names (globs allowed)."""
    if name.startswith(("_", ".", "#")) or name.endswith("~"):
        return True
    return any(
        relative == pattern.strip("/") or fnmatch.fnmatch(relative, pattern.strip("/"))
        for pattern in skipped
    )
