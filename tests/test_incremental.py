"""A build that reuses the entries of earlier builds writes the very bytes a cold build
writes, whatever changed in between."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import CONFIG, SiteDir

ALL_ENTRIES = CONFIG + "[feeds]\nlimit = 0\n"
# The newest two posts a feed: an edit to an older post changes no feed.
TWO_ENTRIES = CONFIG + "[feeds]\nlimit = 2\n"


def outputs(site: SiteDir) -> dict[str, bytes]:
    folder = site.root / "_site"
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def cold_build(site: SiteDir, scratch: Path) -> dict[str, bytes]:
    """The same site built from nothing: no cache, no output."""
    copy = SiteDir(scratch / "cold")
    ignore = shutil.ignore_patterns("_site", ".publisher")
    shutil.copytree(site.root, copy.root, ignore=ignore)
    copy.build()
    return outputs(copy)


def with_posts(site: SiteDir, config: str = ALL_ENTRIES) -> SiteDir:
    site.config(config)
    for day in range(1, 6):
        site.post(
            f"2024-01-0{day}-post-{day}.md",
            f"title: Post {day}\ntags: [t{day % 2}]",
            f"Body of post {day}.\n\n## Part\n\n[A link](../x/).",
        )
    site.build()
    return site


def edit(site: SiteDir) -> None:
    site.post("2024-01-03-post-3.md", "title: Post 3, edited\ntags: [t1]", "New body.")


def add(site: SiteDir) -> None:
    site.post("2024-01-09-added.md", "title: Added\ntags: [new]", "Fresh.")


def delete(site: SiteDir) -> None:
    (site.root / "posts" / "2024-01-02-post-2.md").unlink()


def rename(site: SiteDir) -> None:
    posts = site.root / "posts"
    (posts / "2024-01-04-post-4.md").rename(posts / "2024-01-04-renamed.md")


def retag(site: SiteDir) -> None:
    site.post("2024-01-05-post-5.md", "title: Post 5\ntags: [t1, other]", "Body of post 5.")


def edit_an_old_post(site: SiteDir) -> None:
    site.post("2024-01-01-post-1.md", "title: Post 1\ntags: [t1]", "Body, corrected.")


def redate_an_old_post(site: SiteDir) -> None:
    site.post("2024-01-01-post-1.md", "title: Post 1\ntags: [t1]\ndate: 2024-01-08", "Body.")


def tag_an_old_post(site: SiteDir) -> None:
    site.post("2024-01-01-post-1.md", "title: Post 1\ntags: [t1, fresh]", "Body of post 1.")


def change_a_setting(site: SiteDir) -> None:
    config = (site.root / "publisher.toml").read_text()
    site.config(config.replace('title = "Test Site"', 'title = "Renamed Site"'))


CHANGES = [
    edit,
    add,
    delete,
    rename,
    retag,
    edit_an_old_post,
    redate_an_old_post,
    tag_an_old_post,
    change_a_setting,
]


@pytest.mark.parametrize("config", [ALL_ENTRIES, TWO_ENTRIES], ids=["every-entry", "limit-2"])
@pytest.mark.parametrize("change", CHANGES)
def test_an_incremental_build_writes_what_a_cold_build_writes(site, tmp_path, change, config):
    with_posts(site, config)
    change(site)
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_a_feed_without_a_changed_post_is_not_made_again(site, monkeypatch):
    with_posts(site)
    edit(site)
    made = []
    import publisher.feeds.formats as formats

    real = formats.render_feed

    def counting(site_, feed, parts):
        made.append(feed.path(site_, "atom"))
        return real(site_, feed, parts)

    monkeypatch.setattr(formats, "render_feed", counting)
    site.build()
    assert sorted(made) == ["feed.xml", "tags/t1/feed.xml"]


@pytest.mark.parametrize("change", [edit, edit_an_old_post])
def test_a_feed_file_changed_by_hand_is_written_again(site, tmp_path, change):
    with_posts(site, TWO_ENTRIES)
    site.output("tags/t0/feed.xml").write_text("changed by hand")
    change(site)
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_an_unchanged_post_is_not_rendered_again(site, monkeypatch):
    with_posts(site)
    edit(site)
    rendered = []
    import publisher.site.content as content

    real = content.render

    def counting(site_, post, body, **kwargs):
        rendered.append(post.source)
        return real(site_, post, body, **kwargs)

    monkeypatch.setattr(content, "render", counting)
    site.build()
    assert rendered == ["posts/2024-01-03-post-3.md"]


def test_a_damaged_kept_entry_is_made_again(site, tmp_path):
    with_posts(site)
    for kept in (site.root / ".publisher" / "cache" / "entries").iterdir():
        kept.write_bytes(kept.read_bytes()[:-10])  # cut short
    edit(site)
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def forbid_reading_every_post(monkeypatch) -> None:
    """A build that reads every post fails (until monkeypatch.undo())."""
    import publisher.site.catalog as catalog

    def refused(*args, **kwargs):
        raise AssertionError("every post was read")

    monkeypatch.setattr(catalog, "load_posts", refused)


def test_an_edit_no_feed_shows_reads_no_other_post(site, tmp_path, monkeypatch):
    with_posts(site, TWO_ENTRIES)
    edit_an_old_post(site)
    forbid_reading_every_post(monkeypatch)
    site.build()
    monkeypatch.undo()
    assert outputs(site) == cold_build(site, tmp_path)


def test_an_edit_no_feed_shows_still_reports_its_problems(site):
    with_posts(site, TWO_ENTRIES)
    site.post("2024-01-01-post-1.md", "title: Post 1\ntags: [t1]", "A null &#0; here.")
    warned = site.build()
    assert "posts/2024-01-01-post-1.md:6: warning: the character reference &#0;" in warned.output
    assert "&#0;" in site.build().output
    site.post("2024-01-01-post-1.md", "title: Post 1\ntags: [t1]", "Clean again.")
    assert "&#0;" not in site.build().output


def test_an_edit_that_breaks_an_old_post_is_an_error(site):
    with_posts(site, TWO_ENTRIES)
    (site.root / "posts" / "2024-01-01-post-1.md").write_text("---\ntitle: [unclosed\n---\n")
    result = site.run("build")
    assert result.exit_code == 1
    assert "posts/2024-01-01-post-1.md" in result.output


def test_an_edit_of_a_shown_post_reads_no_other_post(site, tmp_path, monkeypatch):
    with_posts(site, TWO_ENTRIES)
    edit(site)
    forbid_reading_every_post(monkeypatch)
    built = site.build()
    monkeypatch.undo()
    assert "files written" in built.output
    assert outputs(site) == cold_build(site, tmp_path)


def test_edits_one_after_another_write_what_a_cold_build_writes(site, tmp_path):
    with_posts(site, TWO_ENTRIES)
    for body in ("First fix.", "Second fix.", "Third fix."):
        site.post("2024-01-05-post-5.md", "title: Post 5\ntags: [t1]", body)
        site.build()
        edit_an_old_post(site)
        site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_an_edit_on_a_jekyll_site_writes_what_a_cold_build_writes(jekyll, tmp_path):
    jekyll.config(
        "title: J\nurl: https://j.example.com\nfeed:\n  posts_limit: 2\n"
        "  categories: [news]\n  tags: true\n"
    )
    for day in range(1, 5):
        jekyll.post(
            f"2024-01-0{day}-p{day}.md", f"title: P{day}\ncategories: [news]\ntags: [a]", "Hi."
        )
    jekyll.build()
    jekyll.post("2024-01-04-p4.md", "title: P4, fixed\ncategories: [news]\ntags: [a]", "Hi!")
    jekyll.build()
    copy = SiteDir(tmp_path / "cold")
    shutil.copytree(jekyll.root, copy.root, ignore=shutil.ignore_patterns("_site", ".publisher"))
    copy.build()
    assert outputs(jekyll) == outputs(copy)


def test_a_changed_jekyll_env_builds_again(jekyll, monkeypatch):
    """Liquid shows JEKYLL_ENV as jekyll.environment, so the feeds depend on it."""
    jekyll.post("2024-01-01-env.md", "title: Env", "Built for {{ jekyll.environment }}.")
    assert "Built for development." in jekyll.html("Env")
    monkeypatch.setenv("JEKYLL_ENV", "production")
    assert "Built for production." in jekyll.html("Env")
