"""Which files are posts, with their stats, which tell a later run whether they changed.

A publisher site keeps them in posts/, _posts/ and _drafts/ at its root. A Jekyll site has
them wherever Jekyll reads them: in every _posts/ and _drafts/ folder of the tree, the
folders above one being the posts' categories (en/news/_posts/ holds posts in en and news).
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

from publisher.site.config import DRAFTS_DIR, JEKYLL_EXCLUDE, POSTS_DIR, POSTS_DIRS, Site

POST_FOLDERS = (POSTS_DIR, DRAFTS_DIR)
# What a Jekyll post's Liquid reads besides posts: a change there changes the feeds.
LIQUID_FOLDERS = ("_includes", "_data")


def discover(site: Site) -> dict[str, os.stat_result]:
    """Every post file of the site, by site-relative name, with its stat."""
    found: dict[str, os.stat_result] = {}
    # Jekyll reads a file of any kind in _posts/ (post.py skips YAML, and what is not text).
    extensions = None if site.jekyll else site.markdown_extensions
    for folder in posts_dirs(site):
        _scan(folder, folder.relative_to(site.root).as_posix(), extensions, found)
    return dict(sorted(found.items()))


def liquid_inputs(site: Site) -> dict[str, os.stat_result]:
    """The files of a Jekyll site's _includes/ and _data/, with their stats."""
    found: dict[str, os.stat_result] = {}
    if site.jekyll is None:
        return found
    for name in LIQUID_FOLDERS:
        if (site.root / name).is_dir():
            _scan(site.root / name, name, None, found)
    return dict(sorted(found.items()))


def posts_dirs(site: Site) -> list[Path]:
    """The folders that hold posts."""
    if site.jekyll is None:
        return [site.root / name for name in POSTS_DIRS if (site.root / name).is_dir()]
    skipped = {*JEKYLL_EXCLUDE, *site.jekyll.exclude, site.feeds.output.strip("/")}
    folders: list[Path] = []
    _find_post_folders(site.root, "", skipped, folders)
    return sorted(folders)


def _find_post_folders(folder: Path, prefix: str, skipped: set[str], found: list[Path]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            relative = f"{prefix}{entry.name}"
            if entry.name in POST_FOLDERS:
                found.append(Path(entry.path))
            elif not _ignored(entry.name, relative, skipped):
                _find_post_folders(Path(entry.path), relative + "/", skipped, found)


def _ignored(name: str, relative: str, skipped: set[str]) -> bool:
    """Jekyll's entry filter: special names, and what `exclude:` names (globs allowed)."""
    if name.startswith(("_", ".", "#")) or name.endswith("~"):
        return True
    return any(
        relative == pattern.strip("/") or fnmatch.fnmatch(relative, pattern.strip("/"))
        for pattern in skipped
    )


def _scan(
    folder: str | Path,
    prefix: str,
    extensions: tuple[str, ...] | None,
    found: dict[str, os.stat_result],
) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = f"{prefix}/{entry.name}"
            if (extensions is None or entry.name.endswith(extensions)) and entry.is_file():
                found[name] = entry.stat()
            elif entry.is_dir(follow_symlinks=False):
                _scan(entry.path, name, extensions, found)
