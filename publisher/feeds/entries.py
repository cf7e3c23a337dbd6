"""Entries made by earlier builds, kept so a build renders only the posts that changed.

They live in `.publisher/cache/entries/`, spread over 64 shard files (one file
per post would cost a file creation each, which on some disks is most of a cold build).
A shard starts with a line of JSON, the cache's key (publisher's version and code, the
settings) and, for each post, its file's size and mtime and the lengths of its Atom, RSS and
JSON pieces; the pieces follow as they are. An entry is used only when the key and the stamp
still match. A post with Liquid is never kept: what it shows can depend on every other post,
`_includes/` and `_data/`. The files are disposable, like the rest of the cache.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from publisher.feeds.feed import EntryParts
from publisher.site.cache import Cache, shard_of
from publisher.site.post import Post

ENTRIES_DIR = "entries"


class EntryCache:
    """The kept entries: looked up by post, added by post, saved once at the end of a build."""

    def __init__(self, cache: Cache, stamps: dict[str, list[int]]) -> None:
        self.folder = cache.folder / ENTRIES_DIR
        self.key = cache.key
        self.stamps = stamps
        self._indexes: dict[int, dict[str, list]] = {}
        self._added: dict[int, dict[str, EntryParts]] = {}

    def get(self, post: Post) -> EntryParts | None:
        if post.liquid or post.source not in self.stamps:
            return None
        shard = shard_of(post.source)
        record = self._index(shard).get(post.source)
        if record is None or record[0] != self.stamps[post.source]:
            return None
        return self._read(shard, post.source)

    def put(self, post: Post, parts: EntryParts) -> None:
        if not post.liquid and post.source in self.stamps:
            self._added.setdefault(shard_of(post.source), {})[post.source] = parts

    def save(self) -> None:
        """Write the shards that gained entries, without those of posts that are gone; a
        shard that cannot be written only makes the next build slower."""
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            for shard, added in self._added.items():
                kept = {
                    source: parts
                    for source in self._index(shard)
                    if source in self.stamps
                    and source not in added
                    and (parts := self._read(shard, source)) is not None
                }
                self._write(shard, {**kept, **added})
        self._added.clear()

    def _index(self, shard: int) -> dict[str, list]:
        """The shard's index: each post's stamp and where its pieces are."""
        if shard not in self._indexes:
            self._indexes[shard] = {}
            with contextlib.suppress(OSError, ValueError, TypeError):
                with self._path(shard).open("rb") as file:
                    head = json.loads(file.readline())
                if head["key"] == self.key:
                    self._indexes[shard] = head["posts"]
        return self._indexes[shard]

    def _read(self, shard: int, source: str) -> EntryParts | None:
        _, offset, atom, rss, json_length = self._index(shard)[source]
        try:
            with self._path(shard).open("rb") as file:
                start = len(file.readline()) + offset
                file.seek(start)
                data = file.read(atom + rss + json_length)
        except OSError:
            return None
        if len(data) != atom + rss + json_length:
            return None  # cut short: never trusted half-way
        return EntryParts(data[:atom], data[atom : atom + rss], data[atom + rss :])

    def _write(self, shard: int, entries: dict[str, EntryParts]) -> None:
        index, pieces, offset = {}, [], 0
        for source, parts in sorted(entries.items()):
            lengths = [len(parts.atom), len(parts.rss), len(parts.json)]
            index[source] = [self.stamps[source], offset, *lengths]
            pieces += [parts.atom, parts.rss, parts.json]
            offset += sum(lengths)
        head = json.dumps({"key": self.key, "posts": index}, separators=(",", ":")).encode()
        path = self._path(shard)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(b"".join([head, b"\n", *pieces]))
        os.replace(temporary, path)
        self._indexes[shard] = index

    def _path(self, shard: int) -> Path:
        return self.folder / f"{shard:03d}.entries"
