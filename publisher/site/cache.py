"""What earlier runs read and wrote, so an unchanged site is not parsed and rendered again.

The cache is disposable: deleting `.publisher/cache/` only costs time. It holds the last
build's record, small and read on every run, and the parsed posts, read only when some post
file changed, in 64 shards: a build after one edit writes one shard back, not every post.
The record is kept with marshal, which needs no import: publisher/shortcut.py reads it before
anything else loads, and importing json took an eighth of a build with nothing to do.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import marshal
from array import array
from dataclasses import asdict, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from publisher import __version__
from publisher.site.config import Author, Site
from publisher.site.files import write_if_changed
from publisher.site.problems import Problem
from publisher.site.stamps import CACHE_DIR, RECORD, Stamp, code_stamp

if TYPE_CHECKING:
    from publisher.site.post import Post

POSTS_DIR = "posts"
SHARDS = 64


class Cache:
    """Parsed posts keyed by file name, valid while the file's size and mtime stay the same."""

    def __init__(self, site: Site) -> None:
        self.folder = site.root / CACHE_DIR
        self.code = code_stamp()
        self.key = f"{__version__}:{self.code}:{site.fingerprint}"
        self.build: dict[str, Any] = self._read(RECORD)
        self._shards: dict[int, dict[str, Any]] = {}
        self._inputs: dict[str, Any] | None = None
        self._changed: set[int] = set()
        self._build_changed = False
        self._inputs_changed = False

    def shard(self, number: int) -> dict[str, Any]:
        """One shard's records by file name: [stamp, the post as a row, its problems]."""
        if number not in self._shards:
            self._shards[number] = self._read(f"{POSTS_DIR}/{number:02d}.json")
        return self._shards[number]

    @property
    def inputs(self) -> dict[str, Any]:
        """What the last full build read: each input file's stamp, and the posts its feeds
        showed and how it planned them (see feeds/edits.py)."""
        if self._inputs is None:
            self._inputs = self._read("inputs.json")
        return self._inputs

    def earlier(self, name: str) -> Post | None:
        """The post as it was parsed last, whatever its file holds now."""
        record = self.shard(shard_of(name)).get(name)
        return post_from_row(record[1]) if record and record[1] else None

    def lookup(self, name: str, stamp: Stamp) -> tuple[Post | None, list[Problem]] | None:
        record = self.shard(shard_of(name)).get(name)
        if not record or record[0] != list(stamp):
            return None
        post = post_from_row(record[1]) if record[1] else None
        return post, [Problem(**p) for p in record[2]]

    def store(self, name: str, stamp: Stamp, post: Post | None, problems: list[Problem]) -> None:
        shard = shard_of(name)
        row = post_to_row(post) if post else None
        self.shard(shard)[name] = [list(stamp), row, [asdict(p) for p in problems]]
        self._changed.add(shard)

    def forget_missing(self, names: set[str]) -> None:
        for shard in range(SHARDS):
            records = self.shard(shard)
            for name in set(records) - names:
                del records[name]
                self._changed.add(shard)

    def record_build(self, record: dict[str, Any]) -> None:
        self.build = record
        self._build_changed = True

    def record_inputs(self, record: dict[str, Any]) -> None:
        self._inputs = record
        self._inputs_changed = True

    def save(self) -> None:
        """Write what changed; a cache that cannot be written only makes the next run slower."""
        parts = {f"{POSTS_DIR}/{n:02d}.json": self._shards[n] for n in sorted(self._changed)}
        if self._build_changed:
            parts[RECORD] = self.build
        if self._inputs_changed:
            parts["inputs.json"] = self._inputs
        for name, data in parts.items():
            content = {"key": self.key, "data": data}
            text = marshal.dumps(content) if name == RECORD else orjson.dumps(content)
            with contextlib.suppress(OSError):
                write_if_changed(self.folder / name, text, durable=False)
        self._changed.clear()
        self._build_changed = self._inputs_changed = False

    def _read(self, name: str) -> dict[str, Any]:
        try:
            text = (self.folder / name).read_bytes()
            content = marshal.loads(text) if name == RECORD else orjson.loads(text)
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        if not isinstance(content, dict) or content.get("key") != self.key:
            return {}
        return content.get("data") or {}


def shard_of(name: str) -> int:
    """Which of the SHARDS files holds a post's record (here, and its kept feed entry)."""
    return hashlib.sha1(name.encode()).digest()[0] % SHARDS


@functools.cache
def _post_fields() -> tuple[str, ...]:
    from publisher.site.post import Post

    return tuple(field.name for field in fields(Post))


def post_to_row(post: Post) -> list[Any]:
    """The post's fields in their order, dates as text."""
    values = {
        **vars(post),
        "date": post.date.isoformat(),
        "updated": post.updated.isoformat(),
        "author": vars(post.author) if post.author else None,
    }
    return [values[name] for name in _post_fields()]


def post_from_row(row: list[Any]) -> Post:
    """The post again. Made without the dataclass's __init__, which sets each of a frozen
    post's fields through object.__setattr__: for the 10,000 posts of a large site, that was
    most of a build after one edit."""
    from publisher.site.post import Post

    post = object.__new__(Post)
    values = dict(zip(_post_fields(), row, strict=True))
    values["date"] = datetime.fromisoformat(values["date"])
    values["updated"] = datetime.fromisoformat(values["updated"])
    values["categories"] = tuple(values["categories"])
    values["tags"] = tuple(values["tags"])
    values["author"] = Author(**values["author"]) if values["author"] else None
    post.__dict__.update(values)
    return post


def pack_stamps(stamps: dict[str, Stamp]) -> dict[str, str]:
    """Files' stamps as the cache keeps them: the names in one string, the sizes then the
    mtimes in one array (as base64). For a large site, a mapping of names to pairs took longer
    to write and to read back than everything else a build after an edit does with the cache."""
    numbers = array("q", [size for size, _ in stamps.values()])
    numbers.extend(mtime for _, mtime in stamps.values())
    return {"names": "\0".join(stamps), "numbers": base64.b64encode(numbers.tobytes()).decode()}


def unpack_stamps(packed: dict[str, str]) -> dict[str, Stamp]:
    """The stamps again; none from a damaged record, so that every file counts as new."""
    try:
        names = packed["names"].split("\0") if packed["names"] else []
        numbers = array("q", base64.b64decode(packed["numbers"]))
        pairs = zip(numbers[: len(names)], numbers[len(names) :], strict=True)
        return dict(zip(names, pairs, strict=True))
    except (LookupError, TypeError, ValueError):
        return {}
