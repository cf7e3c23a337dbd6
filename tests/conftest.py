"""Shared fixtures: a throwaway site folder, a way to run the real CLI on it, and feed reading."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner, Result

from publisher.cli import main

ROOT = Path(__file__).resolve().parent.parent
SEED = next((ROOT / "posts").glob("*review-of-andrew-ngs*.md"))

CONFIG = """
[site]
title = "Test Site"
url = "https://example.com"
description = "A site for tests."
author = "Site Author"
timezone = "UTC"
"""


@dataclass
class SiteDir:
    """A site on disk that tests write posts into and build."""

    root: Path

    def config(self, text: str) -> None:
        (self.root / "publisher.toml").write_text(textwrap.dedent(text), encoding="utf-8")

    def post(self, name: str, front_matter: str = "title: A post", body: str = "Hello.") -> Path:
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"---\n{textwrap.dedent(front_matter).strip()}\n---\n\n{textwrap.dedent(body)}"
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--site", str(self.root)])

    def build(self, *args: str) -> Result:
        result = self.run("build", *args)
        assert result.exit_code == 0, result.output
        return result

    def output(self, path: str) -> Path:
        return self.root / "_site" / path

    def feed(self, path: str = "feed.xml") -> feedparser.FeedParserDict:
        return parse_feed(self.output(path))


def parse_feed(path: Path) -> feedparser.FeedParserDict:
    """Read a feed as a reader would, failing on anything feedparser finds malformed."""
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


@pytest.fixture
def site(tmp_path: Path) -> SiteDir:
    site = SiteDir(tmp_path / "site")
    site.root.mkdir()
    site.config(CONFIG)
    return site


@pytest.fixture
def bundled(tmp_path: Path) -> SiteDir:
    """A copy of the bundled site, with the seed post, as a new user gets it."""
    root = tmp_path / "bundled"
    root.mkdir()
    shutil.copy(ROOT / "publisher.toml", root)
    shutil.copytree(ROOT / "posts", root / "posts")
    return SiteDir(root)


NEWSLETTER_CONFIG = (
    CONFIG
    + """
[newsletter]
from_name = "Test Letters"
from_address = "letters@example.com"
postal_address = "1 Test Road, Testville"
unsubscribe_url = "https://example.com/unsubscribe?token={token}"
unsubscribe_mailto = "unsubscribe@example.com"
"""
)


@dataclass
class Preview:
    """The three files `publisher newsletter` writes, and what it printed."""

    folder: Path
    result: Result

    @property
    def html(self) -> str:
        return (self.folder / "message.html").read_text(encoding="utf-8")

    @property
    def text(self) -> str:
        return (self.folder / "message.txt").read_text(encoding="utf-8")

    @property
    def eml(self) -> bytes:
        return (self.folder / "message.eml").read_bytes()


def render_newsletter(site: SiteDir, *args: str) -> Preview:
    folder = site.root / "preview"
    result = site.run("newsletter", *args, "--out", str(folder))
    return Preview(folder, result)


@pytest.fixture
def letters(site: SiteDir) -> SiteDir:
    """A site with newsletter settings and no posts yet."""
    site.config(NEWSLETTER_CONFIG)
    return site
