"""A Jekyll blog that moves from jekyll-feed keeps its feeds: the same ids, entries, per-post
data and extra feeds, and publisher lives beside `jekyll build`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import ROOT, parse_feed, subscribe

NEEDS_JEKYLL = pytest.mark.skipif(
    shutil.which("jekyll") is None and not os.environ.get("CI"),
    reason="needs Debian's jekyll and ruby-jekyll-feed (CI installs them)",
)


def test_ids_are_jekyll_feeds_by_default(jekyll):
    jekyll.post("2024-03-01-hello.md", "title: Hello")
    assert jekyll.entry("Hello").id == "https://jekyll.example.com/2024/03/01/hello"


def test_tag_ids_can_be_chosen(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\nfeed: {ids: tag}\n")
    jekyll.post("2024-03-01-hello.md", "title: Hello")
    assert jekyll.entry("Hello").id == "tag:jekyll.example.com,2024-03-01:hello"


def test_an_unknown_id_scheme_is_an_error(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\nfeed: {ids: uuid}\n")
    result = jekyll.run("check")
    assert result.exit_code == 1
    assert "feeds ids 'uuid' is not tag or url" in result.output


def test_switching_ids_mails_nothing_again(jekyll, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "s")
    jekyll.config(
        """
        title: Blog
        url: https://jekyll.example.com
        newsletter: {from_address: news@example.com, postal_address: 1 Road}
        """
    )
    jekyll.post("2024-03-01-old.md", "title: Old")
    subscribe(jekyll, "reader@example.com")
    assert jekyll.run("publish").exit_code == 0  # the baseline: Old is not mailed
    jekyll.post("2024-03-02-new.md", "title: New")
    assert jekyll.run("publish").exit_code == 0
    config = jekyll.root / "_config.yml"
    config.write_text(config.read_text() + "feed: {ids: tag}\n")
    result = jekyll.run("publish")
    assert result.exit_code == 0, result.output
    assert jekyll.entry("New").id.startswith("tag:")
    assert len(list((jekyll.root / ".publisher" / "outbox" / "new").iterdir())) == 1


def test_the_default_limit_is_jekyll_feeds(jekyll):
    for day in range(1, 13):
        jekyll.post(f"2024-03-{day:02}-post-{day}.md", f"title: Post {day}")
    jekyll.build()
    assert len(jekyll.feed().entries) == 10


def test_language_and_image_of_a_post(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\nlang: fr\n")
    jekyll.post("2024-03-01-hello.md", "title: Hello\nlang: en-GB\nimage: {path: /img/cover.png}")
    jekyll.build()
    feed = jekyll.feed()
    assert feed.feed.language == "fr"
    entry = feed.entries[0]
    assert '<entry xml:lang="en-GB">' in jekyll.output("feed.xml").read_text()
    assert entry.media_thumbnail[0]["url"] == "https://jekyll.example.com/img/cover.png"
    assert entry.media_content[0]["url"] == "https://jekyll.example.com/img/cover.png"


def test_the_first_of_several_authors_from_the_data_file(jekyll):
    jekyll.file("_data/authors.yml", "ann: {name: Ann Lee, email: ann@example.com}\n")
    jekyll.post("2024-03-01-hello.md", "title: Hello\nauthors: [ann, bob]")
    author = jekyll.entry("Hello").author_detail
    assert (author.name, author.email) == ("Ann Lee", "ann@example.com")


def test_jekyll_feeds_category_and_tag_feeds_keep_their_paths(jekyll):
    jekyll.config(
        """
        title: Blog
        url: https://jekyll.example.com
        feed:
          categories: [news]
          tags: {except: [skip]}
        """
    )
    jekyll.post("2024-03-01-a.md", "title: A\ncategory: news\ntags: [ruby, skip, two words]")
    jekyll.post("2024-03-02-b.md", "title: B\ntags: [ruby]")
    jekyll.build()
    news = parse_feed(jekyll.output("feed/news.xml"))
    assert news.feed.title == "Blog | News"
    assert [e.title for e in news.entries] == ["A"]
    ruby = parse_feed(jekyll.output("feed/by_tag/ruby.xml"))
    assert [e.title for e in ruby.entries] == ["B", "A"]
    assert not jekyll.output("feed/by_tag/skip.xml").exists()
    assert not jekyll.output("feed/news.json").exists()


def test_check_says_what_differs_from_jekyll_feed(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\nplugins: [jekyll-feed]\n")
    jekyll.post("2024-03-01-a.md")
    result = jekyll.run("check")
    assert "jekyll-feed is in the plugins: `jekyll build` writes feed.xml too" in result.output
    assert "compared with jekyll-feed, publisher writes:" in result.output
    assert "the ids jekyll-feed gives" in result.output


@NEEDS_JEKYLL
def test_publisher_after_jekyll_build_replaces_jekyll_feeds_feed(jekyll):
    jekyll.config("title: Blog\nurl: https://jekyll.example.com\nplugins: [jekyll-feed]\n")
    jekyll.file("index.md", "---\ntitle: Home\n---\nWelcome.\n")
    jekyll.post("2024-03-01-a.md", "title: A")
    subprocess.run(["jekyll", "build", "-q"], cwd=jekyll.root, check=True)
    theirs = parse_feed(jekyll.output("feed.xml"))
    jekyll.build()
    ours = parse_feed(jekyll.output("feed.xml"))
    assert ours.feed.generator == "publisher"
    assert [e.id for e in ours.entries] == [e.id for e in theirs.entries]
    assert [e.link for e in ours.entries] == [e.link for e in theirs.entries]
    assert jekyll.output("index.html").exists() and jekyll.output("rss.xml").exists()


@NEEDS_JEKYLL
def test_jekylls_own_test_site_gives_the_entries_jekyll_feed_gives():
    fixture = ROOT / "tests" / "fixtures" / "jekyll-test-site"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "jekyll_compare.py"), str(fixture)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Jekyll 58 entries, publisher 58" in result.stdout
    assert "mismatches: none" in result.stdout


def test_a_post_can_ask_for_its_excerpt_alone(jekyll):
    jekyll.post("2024-03-01-a.md", "title: A\nfeed: {excerpt_only: true}", "First.\n\nSecond.")
    jekyll.post("2024-03-02-b.md", "title: B", "First.\n\nSecond.")
    jekyll.build()
    entries = {entry.title: entry for entry in jekyll.feed().entries}
    assert "content" not in entries["A"] and entries["A"].summary == "<p>First.</p>"
    assert "Second." in entries["B"].content[0].value
