"""Entries made by earlier builds, kept so a build renders only the posts that changed.

They live in `.publisher/cache/entries/`, spread over 64 shard files (one file
per post would cost a file creation each, which on some disks is most of a cold build).
A shard starts with a line of JSON, the cache's key (publisher's version and code, the
settings) and, for each post, its file's size and mtime and the lengths of its Atom, RSS and
JSON pieces; the pieces follow as they are. An entry is used only when the key and the stamp
still match, and the file holds it whole. Kept entries are not read: a feed is written from
spans of the shards, which the kernel copies (publisher/site/files.py), so a feed of every
post made again after one edit costs the copy, not reading the entries into memory. A post
with Liquid is never kept: what it shows can depend on every other post, `_includes/` and
`_data/`. The files are disposable, like the rest of the cache.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

import orjson

from publisher.feeds.feed import EntryParts
from publisher.site.cache import shard_of
from publisher.site.files import Span, temporary_name, write_pieces
from publisher.site.post import Post
from publisher.site.stamps import Stamp

ENTRIES_DIR = "entries"


class EntryCache:
    """The kept entries: looked up by post, added by post, saved once at the end of a build."""

    def __init__(self, cache_folder: Path, key: str, stamps: dict[str, Stamp]) -> None:
        """The entries kept under `cache_folder` with the cache's `key`; `stamps` are those
        of the post files now, which a kept entry must match."""
        self.folder = cache_folder / ENTRIES_DIR
        self.key = key
        self.stamps = stamps
        self._indexes: dict[int, dict[str, list]] = {}
        # Where each shard's pieces start: after its index's line.
        self._starts: dict[int, int] = {}
        self._added: dict[int, dict[str, EntryParts]] = {}
        self._open: list[int] = []

    def get(self, posts: Iterable[Post]) -> dict[str, EntryParts]:
        """The kept entries of those posts that have one, by source, as spans of their shards
        (held open until the cache is left): a feed of every post copies them unread."""
        wanted: dict[int, list[str]] = {}
        for post in posts:
            if post.liquid or post.source not in self.stamps:
                continue
            shard = shard_of(post.source)
            record = self._index(shard).get(post.source)
            if record is not None and tuple(record[0]) == self.stamps[post.source]:
                wanted.setdefault(shard, []).append(post.source)
        found: dict[str, EntryParts] = {}
        for shard, sources in wanted.items():
            found.update(self._spans(shard, sources))
        return found

    def __enter__(self) -> EntryCache:
        return self

    def __exit__(self, *_) -> None:
        """Close the shards that `get` opened."""
        while self._open:
            os.close(self._open.pop())

    def put(self, post: Post, parts: EntryParts) -> None:
        if not post.liquid and post.source in self.stamps:
            self._added.setdefault(shard_of(post.source), {})[post.source] = parts

    def save(self) -> None:
        """Write the shards that gained entries, without those of posts that are gone; a
        shard that cannot be written only makes the next build slower."""
        if not self._added:
            return
        with contextlib.suppress(OSError):
            self.folder.mkdir(parents=True, exist_ok=True)
            for shard, added in self._added.items():
                keep = [s for s in self._index(shard) if s in self.stamps and s not in added]
                self._write(shard, {**self._spans(shard, keep), **added})
        self._added.clear()

    def _index(self, shard: int) -> dict[str, list]:
        """The shard's index: each post's stamp and where its pieces are."""
        if shard not in self._indexes:
            self._indexes[shard] = {}
            with contextlib.suppress(OSError, ValueError, TypeError):
                with self._path(shard).open("rb") as file:
                    line = file.readline()
                head = orjson.loads(line)
                if head["key"] == self.key:
                    self._indexes[shard] = head["posts"]
                    self._starts[shard] = len(line)
        return self._indexes[shard]

    def _spans(self, shard: int, sources: list[str]) -> dict[str, EntryParts]:
        """Those entries of the shard that its file holds whole (one cut short is never
        trusted), as spans of the file, opened once and held open until the cache is left."""
        index = self._index(shard)
        try:
            fd = os.open(self._path(shard), os.O_RDONLY)
        except OSError:
            return {}
        self._open.append(fd)
        size, found = os.fstat(fd).st_size, {}
        for source in sources:
            _, offset, atom, rss, json_length = index[source]
            start = self._starts[shard] + offset
            if start + atom + rss + json_length <= size:
                found[source] = EntryParts(
                    Span(fd, start, atom),
                    Span(fd, start + atom, rss),
                    Span(fd, start + atom + rss, json_length),
                )
        return found

    def _write(self, shard: int, entries: dict[str, EntryParts]) -> None:
        index, pieces, offset = {}, [], 0
        for source, parts in sorted(entries.items()):
            lengths = [len(parts.atom), len(parts.rss), len(parts.json)]
            index[source] = [self.stamps[source], offset, *lengths]
            pieces += [parts.atom, parts.rss, parts.json]
            offset += sum(lengths)
        head = orjson.dumps({"key": self.key, "posts": index})
        path = self._path(shard)
        temporary = temporary_name(path)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            write_pieces(fd, [head, b"\n", *pieces])
        finally:
            os.close(fd)
        os.replace(temporary, path)
        self._indexes[shard] = index
        self._starts[shard] = len(head) + 1

    def _path(self, shard: int) -> Path:
        return self.folder / f"{shard:03d}.entries"
