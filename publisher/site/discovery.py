"""Which files are posts: every Markdown file under the site's posts folders, with its stat,
which tells a later run whether it changed."""

from __future__ import annotations

import os
from pathlib import Path

from publisher.site.config import Site

EXTENSIONS = (".md", ".markdown")


def discover(site: Site) -> dict[str, os.stat_result]:
    """Every Markdown file under the site's posts folders, by site-relative name, with its stat."""
    found: dict[str, os.stat_result] = {}
    for folder in site.posts_dirs():
        _scan(folder, folder.relative_to(site.root).as_posix(), found)
    return dict(sorted(found.items()))


def _scan(folder: str | Path, prefix: str, found: dict[str, os.stat_result]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            name = f"{prefix}/{entry.name}"
            if entry.name.endswith(EXTENSIONS) and entry.is_file():
                found[name] = entry.stat()
            elif entry.is_dir(follow_symlinks=False):
                _scan(entry.path, name, found)
