"""What earlier runs read and wrote, so an unchanged site is not parsed and rendered again.

The cache is disposable: deleting `.publisher/cache.json` only costs time.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from publisher import __version__
from publisher.config import Author, Site
from publisher.output import write_if_changed
from publisher.posts import Post
from publisher.problems import Problem

CACHE_FILE = Path(".publisher") / "cache.json"


@dataclass
class Cache:
    """Parsed posts keyed by file name, valid while the file's size and mtime stay the same."""

    path: Path
    key: str
    files: dict[str, Any] = field(default_factory=dict)
    build: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, site: Site) -> Cache:
        path = site.root / CACHE_FILE
        key = f"{__version__}:{site.fingerprint}"
        try:
            data = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return cls(path, key)
        if not isinstance(data, dict) or data.get("key") != key:
            return cls(path, key)
        return cls(path, key, data.get("files", {}), data.get("build", {}))

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

    def forget_missing(self, names: set[str]) -> None:
        for name in set(self.files) - names:
            del self.files[name]

    def save(self) -> None:
        data = {"key": self.key, "files": self.files, "build": self.build}
        with contextlib.suppress(OSError):
            write_if_changed(self.path, json.dumps(data, separators=(",", ":")).encode())


def stamp(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns]


def _post_to_json(post: Post) -> dict[str, Any]:
    data = {name: getattr(post, name) for name in Post.__dataclass_fields__}
    data["date"] = post.date.isoformat()
    data["updated"] = post.updated.isoformat()
    data["author"] = vars(post.author) if post.author else None
    return data


def _post_from_json(data: dict[str, Any]) -> Post:
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
