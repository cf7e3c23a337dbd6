"""What lands in the output folder: deterministic, atomic, complete and safe."""

import errno
import json
import os
import shutil

import pytest

from tests.helpers import parse_feed


def output_files(site):
    return sorted(p for p in (site.root / "_site").rglob("*") if p.is_file())


def test_two_builds_give_identical_bytes(site, tmp_path):
    site.post("2024-01-01-a.md", "title: A\ntags: [x, y]")
    site.build()
    first = {p: p.read_bytes() for p in output_files(site)}
    (site.root / ".publisher").rename(tmp_path / "old-cache")
    site.build()
    assert {p: p.read_bytes() for p in output_files(site)} == first


def test_unchanged_files_keep_their_mtime(site):
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    feed = site.output("feed.xml")
    os.utime(feed, ns=(1_000_000_000, 1_000_000_000))
    site.post("2024-01-01-a.md", "title: A", "Hello.")
    result = site.build()
    assert feed.stat().st_mtime_ns == 1_000_000_000
    assert "0 files written, 3 unchanged" in result.output


def test_a_changed_post_rewrites_its_feeds(site):
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    site.post("2024-01-01-a.md", "title: A new title")
    result = site.build()
    assert site.feed().entries[0].title == "A new title"
    assert "3 files written" in result.output


def test_only_files_that_replace_others_are_flushed_to_disk(site, monkeypatch):
    flushed = []
    real_fsync = os.fsync

    def fsync(fd):
        flushed.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    assert flushed == []
    site.post("2024-01-01-a.md", "title: A new title")
    result = site.build()
    assert "3 files written" in result.output
    assert len(flushed) == 3


def test_a_failed_flush_is_reported_and_replaces_nothing(site, monkeypatch):
    site.post("2024-01-01-a.md", "title: A")
    site.build()

    def fsync(fd):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(os, "fsync", fsync)
    site.post("2024-01-01-a.md", "title: A new title")
    result = site.run("build")
    assert result.exit_code == 1
    assert "_site: error: could not write the feeds: Input/output error" in result.output
    assert "Traceback" not in result.output
    assert site.feed().entries[0].title == "A"
    assert not [p for p in output_files(site) if p.name.startswith(".")]


def test_no_temporary_files_are_left(site):
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    assert not [p for p in output_files(site) if p.name.startswith(".")]


def test_limit_keeps_the_newest(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nlimit=2\n")
    for day in range(1, 6):
        site.post(f"2024-01-0{day}-p{day}.md", f"title: P{day}")
    site.build()
    assert [e.title for e in site.feed().entries] == ["P5", "P4"]


def test_limit_zero_means_every_post(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nlimit=0\n")
    for day in range(1, 25):
        site.post(f"2024-01-{day:02}-p{day}.md", f"title: P{day}")
    site.build()
    assert len(site.feed().entries) == 24


def test_limit_zero_rebuild_renders_changed_and_cached_posts_alike(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nlimit=0\n")
    site.post("2024-01-01-a.md", "title: A", "First [post](notes/).")
    site.post("2024-01-02-b.md", "title: B", "Second post.")
    site.build()
    first = site.output("feed.xml").read_bytes()
    site.post("2024-01-02-b.md", "title: B2", "Second post.")
    site.build()
    entries = site.feed().entries
    assert [e.title for e in entries] == ["B2", "A"]
    assert 'href="https://example.com/2024/01/01/notes/"' in entries[1].content[0].value
    assert (
        first.replace(b"<title>B</title>", b"<title>B2</title>")
        == site.output("feed.xml").read_bytes()
    )


def test_tags_with_spaces_hyphens_and_other_scripts_get_feeds(site):
    site.post(
        "2024-01-01-a.md", "title: A\ntags: [Machine Learning, self-hosting, Überblick, 日本語]"
    )
    site.build()
    for slug in ("machine-learning", "self-hosting", "überblick", "日本語"):
        feed = parse_feed(site.output(f"tags/{slug}/feed.xml"))
        assert feed.entries[0].title == "A"
        assert json.loads(site.output(f"tags/{slug}/feed.json").read_text())["items"]


def test_tags_differing_in_case_share_a_feed(site):
    site.post("2024-01-01-a.md", "title: A\ntags: [Python]")
    site.post("2024-01-02-b.md", "title: B\ntags: [python]")
    site.build()
    assert len(parse_feed(site.output("tags/python/feed.xml")).entries) == 2


def test_tags_with_the_same_slug_are_both_kept(site):
    site.post("2024-01-01-a.md", "title: A\ntags: [C++, C]")
    result = site.build()
    folders = sorted(p.name for p in (site.root / "_site" / "tags").iterdir())
    assert len(folders) == 2
    assert "shares the slug 'c'" in result.output


def test_control_characters_are_stripped_and_reported(site):
    site.post("2024-01-01-a.md", "title: Bad\x0btitle", "Body\x01 text.")
    result = site.build()
    assert site.feed().entries[0].title == "Badtitle"
    assert "2024-01-01-a.md:2: warning: removed characters XML cannot carry" in result.output
    assert "2024-01-01-a.md:5: warning" in result.output


@pytest.mark.parametrize("forbidden", ["\x1f", "\ufffe", "\uffff"])
def test_every_character_xml_forbids_is_stripped_from_any_text(site, forbidden):
    site.post("2024-01-01-a.md", "title: Café", f"Crème{forbidden} brûlée.")
    result = site.build()
    assert "Crème brûlée." in site.feed().entries[0].content[0].value
    assert "2024-01-01-a.md:5: warning: removed characters XML cannot carry" in result.output


def test_untrusted_titles_are_escaped(site):
    site.post("2024-01-01-a.md", 'title: "<script>alert(1)</script> & co"')
    site.build()
    raw = site.output("feed.xml").read_text()
    assert "<script>" not in raw
    assert site.feed().entries[0].title == "<script>alert(1)</script> & co"
    data = json.loads(site.output("feed.json").read_text())
    assert data["items"][0]["title"] == "<script>alert(1)</script> & co"


def test_feed_paths_are_configurable(site):
    site.config(
        "[site]\ntitle='T'\nurl='https://example.com'\n"
        "[feeds]\natom='atom.xml'\nrss='feeds/rss.xml'\njson='feeds/feed.json'\ntags=''\n"
    )
    site.post("2024-01-01-a.md", "title: A\ntags: [x]\ncategory: News")
    site.build()
    assert parse_feed(site.output("atom.xml")).feed.links[0].href == "https://example.com/atom.xml"
    assert parse_feed(site.output("feeds/rss.xml")).entries
    assert site.output("categories/news/atom.xml").exists()
    assert not site.output("tags").exists()


def test_a_feed_path_cannot_leave_the_output_folder(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\natom='../../evil.xml'\n")
    site.post("2024-01-01-a.md")
    result = site.run("build")
    assert result.exit_code == 1
    assert "leaves the output folder" in result.output
    assert not (site.root.parent / "evil.xml").exists()


def test_a_linked_folder_cannot_lead_a_feed_out_of_the_output_folder(site, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    site.output("").mkdir()
    site.output("tags").symlink_to(elsewhere)
    site.post("2024-01-01-a.md", "title: A\ntags: [x]")
    result = site.run("build")
    assert result.exit_code == 1
    assert "'tags/x/feed.xml' leaves the output folder" in result.output
    assert "Traceback" not in result.output
    assert not list(elsewhere.rglob("*"))
    assert not site.output("feed.xml").exists()


def test_a_rebuild_with_nothing_changed_reports_the_same_warnings(bundled):
    bundled.build()
    second = bundled.build()
    assert "repaired mojibake" in second.output
    assert "Built: 1 post; 4 feeds" in second.output
    assert "0 files written, 12 unchanged; 0 errors, 1 warning" in second.output


def test_a_deleted_output_file_is_written_again(site):
    site.post("2024-01-01-a.md")
    site.build()
    site.output("rss.xml").unlink()
    result = site.build()
    assert "1 files written, 2 unchanged" in result.output
    assert site.feed("rss.xml").entries


def test_a_new_post_is_picked_up_by_a_rebuild(site):
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    site.post("2024-01-02-b.md", "title: B")
    site.build()
    assert [e.title for e in site.feed().entries] == ["B", "A"]


def test_large_sites_build_the_same_bytes_on_every_core(site, monkeypatch):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nlimit=0\n")
    for number in range(300):
        day = f"2023-{number % 12 + 1:02}-{number % 28 + 1:02}"
        site.post(f"{day}-post-{number}.md", f"title: Post {number}\ntags: [t{number % 7}]")
    monkeypatch.setattr("publisher.site.parallel.MIN_PARALLEL", 10**9)
    site.build()
    one_core = {p: p.read_bytes() for p in output_files(site)}
    shutil.rmtree(site.root / "_site")
    shutil.rmtree(site.root / ".publisher")
    monkeypatch.setattr("publisher.site.parallel.MIN_PARALLEL", 200)
    result = site.build()
    assert "Built: 300 posts; 8 feeds (0 by category, 7 by tag), 300 entries" in result.output
    assert {p: p.read_bytes() for p in output_files(site)} == one_core


def test_feeds_of_a_tag_no_post_has_any_more_are_removed(site):
    post = site.post("2024-01-01-a.md", "title: A\ntags: [old]")
    (site.root / "_site").mkdir()
    (site.root / "_site" / "index.html").write_text("not ours")
    site.build()
    assert site.output("tags/old/feed.xml").exists()
    post.write_text("---\ntitle: A\ntags: [new]\n---\n\nHello.\n")
    result = site.build()
    assert "3 stale removed" in result.output
    assert not (site.root / "_site" / "tags" / "old").exists()
    assert site.output("tags/new/feed.xml").exists()
    assert site.output("index.html").read_text() == "not ours"


def test_a_stale_feed_changed_by_someone_else_is_left_alone(site):
    post = site.post("2024-01-01-a.md", "title: A\ntags: [old]")
    site.build()
    site.output("tags/old/feed.json").write_text("{}")
    post.write_text("---\ntitle: A\n---\n\nHello.\n")
    result = site.build()
    assert "2 stale removed" in result.output
    assert site.output("tags/old/feed.json").read_text() == "{}"


def test_a_stylesheet_is_announced_before_the_feed_element(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nstylesheet='/feed.xsl'\n")
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    instruction = b'<?xml-stylesheet type="text/xsl" href="https://example.com/feed.xsl"?>'
    for name, root in (("feed.xml", b"<feed"), ("rss.xml", b"<rss")):
        data = site.output(name).read_bytes()
        assert instruction in data
        assert data.index(instruction) < data.index(root)
        assert parse_feed(site.output(name)).entries[0].title == "A"


def test_a_stylesheet_that_could_break_out_of_its_instruction_is_refused(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\n[feeds]\nstylesheet='/x?><y z=\"'\n")
    site.post("2024-01-01-a.md", "title: A")
    result = site.run("build")
    assert result.exit_code == 1
    assert "feeds stylesheet '/x?><y z=\"' is not a URL" in result.output
