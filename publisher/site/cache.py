"""What earlier runs read and wrote, so an unchanged site is not parsed and rendered again.

The cache is disposable: deleting `.publisher/cache/` only costs time. It is two files: the
last build's record, small and read on every run, and the parsed posts, read only when some
post file changed.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from publisher import __version__
from publisher.site.config import Author, Site
from publisher.site.files import write_if_changed
from publisher.site.problems import Problem

if TYPE_CHECKING:
    from publisher.site.post import Post

CACHE_DIR = Path(".publisher") / "cache"


class Cache:
    """Parsed posts keyed by file name, valid while the file's size and mtime stay the same."""

    def __init__(self, site: Site) -> None:
        self.folder = site.root / CACHE_DIR
        self.key = f"{__version__}:{_code_stamp()}:{site.fingerprint}"
        self.build: dict[str, Any] = self._read("build.json")
        self._files: dict[str, Any] | None = None
        self._changed: set[str] = set()

    @property
    def files(self) -> dict[str, Any]:
        if self._files is None:
            self._files = self._read("posts.json")
        return self._files

    def lookup(self, name: str, stat: os.stat_result) -> tuple[Post | None, list[Problem]] | None:
        record = self.files.get(name)
        if not record or record["stamp"] != stamp(stat):
            return None
        post = _post_from_json(record["post"]) if record["post"] else None
        return post, [Problem(**p) for p in record["problems"]]

    def store(
        self, name: str, stat: os.stat_result, post: Post | None, problems: list[Problem]
    ) -> None:
        self.files[name] = {
            "stamp": stamp(stat),
            "post": _post_to_json(post) if post else None,
            "problems": [asdict(p) for p in problems],
        }
        self._changed.add("posts.json")

    def forget_missing(self, names: set[str]) -> None:
        for name in set(self.files) - names:
            del self.files[name]
            self._changed.add("posts.json")

    def record_build(self, record: dict[str, Any]) -> None:
        self.build = record
        self._changed.add("build.json")

    def save(self) -> None:
        """Write what changed; a cache that cannot be written only makes the next run slower."""
        parts = {"build.json": self.build, "posts.json": self._files}
        for name in self._changed:
            data = json.dumps({"key": self.key, "data": parts[name]}, separators=(",", ":"))
            with contextlib.suppress(OSError):
                write_if_changed(self.folder / name, data.encode(), durable=False)
        self._changed.clear()

    def _read(self, name: str) -> dict[str, Any]:
        try:
            content = json.loads((self.folder / name).read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(content, dict) or content.get("key") != self.key:
            return {}
        return content.get("data") or {}


def _code_stamp() -> int:
    """The newest mtime of publisher's own modules: an edited checkout invalidates the cache."""
    package = Path(__file__).parent.parent
    return max(path.stat().st_mtime_ns for path in package.rglob("*.py"))


def stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns]


def _post_to_json(post: Post) -> dict[str, Any]:
    data = {name: getattr(post, name) for name in post.__dataclass_fields__}
    data["date"] = post.date.isoformat()
    data["updated"] = post.updated.isoformat()
    data["author"] = vars(post.author) if post.author else None
    return data


def _post_from_json(data: dict[str, Any]) -> Post:
    from publisher.site.post import Post

    return Post(
        **{
            **data,
            "date": datetime.fromisoformat(data["date"]),
            "updated": datetime.fromisoformat(data["updated"]),
            "categories": tuple(data["categories"]),
            "tags": tuple(data["tags"]),
            "author": Author(**data["author"]) if data["author"] else None,
        }
    )
