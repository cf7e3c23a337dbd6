"""A build that reuses the entries of earlier builds writes the very bytes a cold build
writes, whatever changed in between."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import CONFIG, PUBLISHER, SiteDir

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


def test_the_cycle_collector_is_off_while_a_build_runs_and_on_after(site, monkeypatch):
    with_posts(site)
    edit(site)
    import publisher.site.content as content

    real, collecting = content.render, []

    def noting(site_, post, body, **kwargs):
        collecting.append(gc.isenabled())
        return real(site_, post, body, **kwargs)

    monkeypatch.setattr(content, "render", noting)
    assert site.build().exit_code == 0
    assert collecting and not any(collecting)
    assert gc.isenabled()


def test_a_build_that_crashes_turns_the_collector_back_on(site, monkeypatch):
    with_posts(site)
    edit(site)
    import publisher.site.content as content

    def crash(*args, **kwargs):
        raise RuntimeError("rendering broke")

    monkeypatch.setattr(content, "render", crash)
    assert isinstance(site.run("build").exception, RuntimeError)
    assert gc.isenabled()


def test_a_damaged_kept_entry_is_made_again(site, tmp_path):
    with_posts(site)
    for kept in (site.root / ".publisher" / "cache" / "entries").iterdir():
        kept.write_bytes(kept.read_bytes()[:-10])  # cut short
    edit(site)
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_damaged_stamps_in_the_inputs_record_mean_a_full_build(site, tmp_path):
    with_posts(site)
    record = site.root / ".publisher" / "cache" / "inputs.json"
    kept = json.loads(record.read_text())
    kept["data"]["stamps"]["numbers"] = "AAAA"  # one number, for several files
    record.write_text(json.dumps(kept))
    edit(site)
    result = site.build()
    assert result.exit_code == 0, result.output
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


def test_edits_in_a_row_write_what_a_cold_build_writes(site, tmp_path):
    """The second edit's build plans its feeds from what the first one left, not from the
    last full build: the first edit moved the feeds' updated time."""
    with_posts(site, TWO_ENTRIES)
    site.post("2024-01-05-post-5.md", "title: Post 5\ntags: [t1]\nupdated: 2024-03-01", "Fix.")
    site.build()
    site.post("2024-01-04-post-4.md", "title: Post 4, fixed\ntags: [t0]", "Body of post 4.")
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def add_an_old_post(site: SiteDir) -> None:
    site.post("2023-12-01-older.md", "title: Older\ntags: [t1]", "From before.")


def add_a_known_tag_spelled_otherwise(site: SiteDir) -> None:
    site.post("2024-01-09-shouted.md", "title: Shouted\ntags: [T1]", "Loud.")


def add_a_draft(site: SiteDir) -> None:
    site.post("2024-01-09-draft.md", "title: Draft\ntags: [t1]\ndraft: true", "Not yet.")


def add_a_scheduled_post(site: SiteDir) -> None:
    site.post("2099-01-01-later.md", "title: Later\ntags: [t1]", "Not yet.")


def add_two_posts(site: SiteDir) -> None:
    add(site)
    site.post("2024-01-08-another.md", "title: Another\ntags: [t0, fresh]", "Two.")


ADDITIONS = [
    add,
    add_an_old_post,
    add_a_known_tag_spelled_otherwise,
    add_a_draft,
    add_a_scheduled_post,
    add_two_posts,
]


@pytest.mark.parametrize("change", ADDITIONS)
def test_an_added_post_is_read_alone_and_the_output_is_a_cold_builds(
    site, tmp_path, monkeypatch, change
):
    with_posts(site, TWO_ENTRIES)
    change(site)
    forbid_reading_every_post(monkeypatch)
    built = site.build()
    monkeypatch.undo()
    assert outputs(site) == cold_build(site, tmp_path)
    cold = SiteDir(tmp_path / "cold").build()
    summary = built.output.strip().splitlines()[-1]
    assert (
        summary.split(" files written")[0].rsplit(";", 1)[0]
        == (cold.output.strip().splitlines()[-1].split(" files written")[0].rsplit(";", 1)[0])
    )


def test_changes_in_a_row_write_what_a_cold_build_writes(site, tmp_path):
    with_posts(site, TWO_ENTRIES)
    add(site)
    site.build()
    edit(site)
    site.build()
    add_two_posts(site)
    site.build()
    site.post("2024-01-09-added.md", "title: Added, fixed\ntags: [new]", "Fresh!")
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_an_added_post_whose_tag_shares_a_slug_builds_in_full(site, tmp_path):
    with_posts(site, TWO_ENTRIES)
    site.post("2024-01-09-clash.md", "title: Clash\ntags: [t0!]", "Same slug as t0.")
    built = site.build()
    assert "shares the slug 't0'" in built.output
    assert outputs(site) == cold_build(site, tmp_path)


def test_an_added_post_with_an_id_already_used_is_an_error(site):
    with_posts(site, TWO_ENTRIES)
    taken = site.feed().entries[0].id
    site.post("2024-01-09-copy.md", f"title: Copy\nid: {taken}", "Same id.")
    result = site.run("build")
    assert result.exit_code == 1
    assert "is already used by" in result.output


def test_an_added_post_on_a_jekyll_site_writes_what_a_cold_build_writes(
    jekyll, tmp_path, monkeypatch
):
    jekyll.config(
        "title: J\nurl: https://j.example.com\nfeed:\n  posts_limit: 2\n"
        "  categories: [news]\n  tags: true\n"
    )
    for day in range(1, 5):
        jekyll.post(
            f"2024-01-0{day}-p{day}.md", f"title: P{day}\ncategories: [news]\ntags: [a]", "Hi."
        )
    jekyll.build()
    jekyll.post("2024-01-05-p5.md", "title: P5\ncategories: [news, more]\ntags: [a, b]", "New.")
    forbid_reading_every_post(monkeypatch)
    jekyll.build()
    monkeypatch.undo()
    copy = SiteDir(tmp_path / "cold")
    shutil.copytree(jekyll.root, copy.root, ignore=shutil.ignore_patterns("_site", ".publisher"))
    copy.build()
    assert outputs(jekyll) == outputs(copy)


# One change to the site: write the post of that day of February (adding or editing it), with
# that tag and maybe an updated date, or delete it; then build, or not yet. Days that come up
# again make edits, and tag changes of every kind: a new tag, another spelling of one, a tag
# whose slug another has.
steps = st.lists(
    st.tuples(
        st.sampled_from(["write", "write", "delete"]),
        st.integers(1, 6),
        st.sampled_from(["t0", "t1", "T1", "new", "t-0", "t0!"]),
        st.sampled_from(["", "\nupdated: 2024-03-01", "\nupdated: 2024-03-02"]),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(changes=steps)
def test_any_changes_in_a_row_write_what_a_cold_build_writes(tmp_path_factory, changes):
    scratch = tmp_path_factory.mktemp("changes")
    site = SiteDir(scratch / "site")
    site.root.mkdir()
    with_posts(site, TWO_ENTRIES)
    for action, day, tag, updated, build in changes:
        name = f"2024-02-0{day}-day-{day}.md"
        if action == "write":
            site.post(name, f"title: Day {day}\ntags: [{tag}]{updated}", f"Written with {tag}.")
        elif (site.root / "posts" / name).exists():
            (site.root / "posts" / name).unlink()
        if build:
            site.build()
    site.build()
    assert outputs(site) == cold_build(site, scratch)


def test_an_edit_and_an_addition_in_one_build_write_what_a_cold_build_writes(
    site, tmp_path, monkeypatch
):
    """The feeds are planned again with the edited post as it is now: its updated time is
    the site feed's."""
    with_posts(site, TWO_ENTRIES)
    site.post("2024-01-05-post-5.md", "title: Post 5\ntags: [t1]\nupdated: 2024-03-01", "Fix.")
    site.post("2024-01-04-post-4a.md", "title: Post 4a\ntags: [t0]", "Between.")
    forbid_reading_every_post(monkeypatch)
    site.build()
    monkeypatch.undo()
    assert outputs(site) == cold_build(site, tmp_path)


@pytest.mark.parametrize("cache", ["kept", "deleted"])
def test_a_build_as_of_a_later_moment_is_not_kept_by_a_build_now(site, tmp_path, cache):
    """`--now` in the future publishes what is scheduled until then; a build at the real
    time after it holds those posts back again (whether the first placed the post alone or
    built everything)."""
    with_posts(site, TWO_ENTRIES)
    site.post("2099-01-01-later.md", "title: Later\ntags: [t1]", "Not yet.")
    if cache == "deleted":
        shutil.rmtree(site.root / ".publisher")
    site.build("--now", "2099-06-01")
    assert site.feed().entries[0].title == "Later"
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)


def test_a_rebuild_of_most_posts_on_every_core_renders_each_once(site, tmp_path, monkeypatch):
    """Enough changed posts for the worker processes: each renders its posts and keeps their
    entries beside those of the posts that did not change, so the feeds render nothing more."""
    site.config(ALL_ENTRIES)
    for number in range(300):
        site.post(f"2024-02-{number % 28 + 1:02}-post-{number}.md", f"title: Post {number}")
    site.build()
    for number in range(250):
        body = f"Post {number}, edited."
        site.post(f"2024-02-{number % 28 + 1:02}-post-{number}.md", f"title: Post {number}", body)
    (site.root / "posts" / "2024-02-01-post-280.md").unlink()

    def refused(*args):
        raise AssertionError("a post was rendered again for the feeds")

    monkeypatch.setattr("publisher.feeds.writer._entry_parts", refused)
    site.build()
    monkeypatch.undo()
    assert outputs(site) == cold_build(site, tmp_path)


def test_entries_the_cache_cannot_keep_are_rendered_for_the_feeds(site, tmp_path):
    """The workers cannot write the cache's entries (a file stands where their folder goes):
    the feeds are the same, rendered again, and the build says nothing of it."""
    site.config(ALL_ENTRIES)
    for number in range(300):
        site.post(f"2024-02-{number % 28 + 1:02}-post-{number}.md", f"title: Post {number}")
    blocked = site.root / ".publisher" / "cache" / "entries"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    result = site.build()
    assert "0 errors, 0 warnings" in result.output
    assert outputs(site) == cold_build(site, tmp_path)


@pytest.mark.parametrize("config", [ALL_ENTRIES, TWO_ENTRIES], ids=["every-entry", "limit-2"])
def test_builds_killed_at_any_moment_leave_a_cache_the_next_build_can_trust(site, tmp_path, config):
    """The whole process group killed (the workers too) at moments from start-up to the
    feeds' writing, with posts edited in between (with a limit, the builds after the first
    take the path of an edit): the next build writes what a cold build writes."""
    site.config(config)
    for number in range(400):
        site.post(f"2024-02-{number % 28 + 1:02}-post-{number}.md", f"title: Post {number}")
    for round_, delay in enumerate((0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8)):
        process = subprocess.Popen(
            [PUBLISHER, "build", "--site", site.root],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        number = round_ * 37
        site.post(f"2024-02-{number % 28 + 1:02}-post-{number}.md", f"title: Post {number}!")
    site.build()
    assert outputs(site) == cold_build(site, tmp_path)
