"""What a feed is and what an entry is made of: known to the writer and the entry cache
without feedgen and lxml, which only a feed that is written again needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from publisher.site.config import Site
from publisher.site.files import Piece
from publisher.site.post import Post


@dataclass(frozen=True)
class Feed:
    """One feed: the site's, a category's or a tag's, written in each format under `folder`."""

    kind: str
    name: str
    title: str
    description: str
    folder: str
    posts: tuple[Post, ...]
    # One of jekyll-feed's category or tag feeds: Atom only, at this path.
    jekyll_path: str = ""

    @property
    def formats(self) -> tuple[str, ...]:
        return ("atom",) if self.jekyll_path else ("atom", "rss", "json")

    def path(self, site: Site, fmt: str) -> str:
        """The feed's path inside the output folder for `fmt` (atom, rss or json)."""
        if self.jekyll_path:
            return self.jekyll_path
        configured = getattr(site.feeds, fmt)
        if not self.folder:
            return configured
        return str(PurePosixPath(self.folder) / PurePosixPath(configured).name)


@dataclass(frozen=True)
class EntryParts:
    """One post as each format writes it, serialized once for every feed that holds it: bytes,
    or for a kept entry, spans of the file that keeps it."""

    atom: Piece
    rss: Piece
    json: Piece
