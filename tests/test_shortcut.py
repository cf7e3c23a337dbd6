"""`publisher build` with nothing to do answers from the last build's note, before the rest of
publisher loads; any change the full build would act on sends it down the full path."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from publisher import shortcut
from publisher.site import stamps
from tests.helpers import CONFIG, JekyllDir, SiteDir

PUBLISHER = Path(sys.executable).with_name("publisher")


def without_time(line: str) -> str:
    return re.sub(r" in \d+\.\d\d s$", "", line)


def last_line(text: str) -> str:
    return text.strip().splitlines()[-1]


@pytest.fixture
def built(site: SiteDir) -> SiteDir:
    site.config(CONFIG)
    site.post("2024-01-01-first.md", "title: First\ntags: [a]", "One.")
    site.post("2024-01-02-second.md", "title: Second\ncategory: News", "Two.")
    site.build()
    return site


@pytest.fixture
def jekyll_built(jekyll: JekyllDir) -> JekyllDir:
    jekyll.post("2024-01-01-first.md", "title: First", "One.")
    jekyll.file("_includes/note.html", "A note.")
    jekyll.file("news/about.md", "About.")
    jekyll.build()
    return jekyll


def answer(site: SiteDir) -> str | None:
    return shortcut.nothing_to_do(str(site.root), 0.0)


def test_a_build_with_nothing_to_do_ends_with_the_full_builds_line(built: SiteDir):
    full = last_line(built.build().output)
    assert "0 files written, 9 unchanged" in full
    assert without_time(answer(built)) == without_time(full)


def build_listing_imports(site: SiteDir) -> tuple[str, set[str]]:
    """The console command itself, in a fresh interpreter: what it prints, and the modules
    it imported."""
    result = subprocess.run(
        [PUBLISHER, "build", "--site", site.root],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, {line.split("|")[-1].strip() for line in result.stderr.splitlines()}


# The build's modules load while the files are scanned; here, that never ends.
STALLED_IMPORT = """
import sys, time
class Stall:
    def find_spec(self, name, path=None, target=None):
        if name == "publisher.console":
            time.sleep(3600)
sys.meta_path.insert(0, Stall())
sys.argv = ["publisher", "build"]
from publisher.shortcut import main
main()
"""


def test_the_command_answers_without_the_build_click_or_a_parser(built: SiteDir):
    result = subprocess.run(
        [sys.executable, "-c", STALLED_IMPORT],
        cwd=built.root,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "publisher.shortcut" in imported
    assert not {"click", "publisher.cli", "publisher.site.config", "yaml"} & imported
    assert without_time(result.stdout.strip()) == without_time(last_line(built.build().output))


def test_a_plain_build_with_work_to_do_runs_without_click(built: SiteDir):
    built.post("2024-01-03-third.md", "title: Third", "Three.")
    output, imported = build_listing_imports(built)
    assert "publisher.feeds.build" in imported
    assert not {"click", "publisher.cli"} & imported
    assert "3 posts" in output


def test_a_build_that_reads_every_post_from_the_cache_starts_no_processes(built: SiteDir):
    (built.root / "posts" / "2024-01-01-first.md").unlink()  # a full build, nothing to read
    output, imported = build_listing_imports(built)
    assert "1 post" in output
    assert "multiprocessing" not in imported


def test_a_plain_build_of_a_broken_configuration_names_the_file(built: SiteDir):
    (built.root / "publisher.toml").write_text("[site\n")
    result = subprocess.run(
        [PUBLISHER, "build", "--site", built.root], capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "publisher.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_still_builds_when_something_changed(built: SiteDir):
    built.post("2024-01-03-third.md", "title: Third", "Three.")
    result = subprocess.run(
        [PUBLISHER, "--site", built.root, "build"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "3 posts" in result.stdout
    assert "Third" in built.output("feed.xml").read_text()


def edit_a_post(site: SiteDir) -> None:
    site.post("2024-01-01-first.md", "title: First, edited\ntags: [a]", "One.")


def add_a_post(site: SiteDir) -> None:
    site.post("2024-01-03-third.md", "title: Third", "Three.")


def add_a_draft(site: SiteDir) -> None:
    (site.root / "_drafts").mkdir()
    (site.root / "_drafts" / "idea.md").write_text("---\ntitle: Idea\n---\nLater.\n")


def delete_a_post(site: SiteDir) -> None:
    (site.root / "posts" / "2024-01-02-second.md").unlink()


def edit_the_config(site: SiteDir) -> None:
    site.config(CONFIG.replace('title = "Test Site"', 'title = "Renamed"'))


def add_authors(site: SiteDir) -> None:
    (site.root / "_data").mkdir()
    (site.root / "_data" / "authors.yml").write_text("ann:\n  name: Ann\n")


def edit_a_feed(site: SiteDir) -> None:
    site.output("rss.xml").write_text("<rss/>")


def delete_a_feed(site: SiteDir) -> None:
    site.output("feed.json").unlink()


@pytest.mark.parametrize(
    "change",
    [
        edit_a_post,
        add_a_post,
        add_a_draft,
        delete_a_post,
        edit_the_config,
        add_authors,
        edit_a_feed,
        delete_a_feed,
    ],
)
def test_a_change_goes_to_the_full_build(built: SiteDir, change):
    assert answer(built) is not None
    change(built)
    assert answer(built) is None


def test_a_changed_jekyll_env_goes_to_the_full_build(built: SiteDir, monkeypatch):
    monkeypatch.setenv("JEKYLL_ENV", "production")
    assert answer(built) is None
    built.build()
    assert answer(built) is not None


def test_a_publisher_variable_set_always_takes_the_full_build(built: SiteDir, monkeypatch):
    """The configuration reads them, and they may hold credentials: no digest of them is
    kept in the cache, so no note can vouch for them."""
    monkeypatch.setenv("PUBLISHER_SMTP_PASSWORD", "secret")
    assert answer(built) is None
    built.build()
    assert answer(built) is None
    record = marshal.loads((built.root / ".publisher/cache/build.marshal").read_bytes())
    assert record["data"]["shortcut"] is None


def test_a_build_with_drafts_takes_the_note_back(built: SiteDir):
    built.build("--drafts")
    assert answer(built) is None


def answered_without_the_build(site: SiteDir) -> subprocess.CompletedProcess:
    """`publisher build` of the site, which hangs if it goes past the shortcut."""
    result = subprocess.run(
        [sys.executable, "-c", STALLED_IMPORT],
        cwd=site.root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_a_build_with_warnings_answers_with_them(built: SiteDir):
    built.post("2024-01-03-third.md", "title: Third", "A reference &#1; to drop.")
    built.build()
    full = built.build()  # nothing to do, the full way
    assert "1 warning" in full.stdout
    answered = answered_without_the_build(built)
    assert answered.stderr == full.stderr
    assert without_time(answered.stdout.strip()) == without_time(last_line(full.stdout))


def test_a_warning_of_the_configuration_is_answered_too(jekyll: JekyllDir):
    jekyll.config("title: Blog\nurl: https://example.com\nplugins: [jekyll-feed]\n")
    jekyll.post("2024-01-01-first.md", "title: First", "One.")
    jekyll.build()
    full = jekyll.build()
    assert "jekyll-feed is in the plugins" in full.stderr
    answered = answered_without_the_build(jekyll)
    assert answered.stderr == full.stderr
    assert without_time(answered.stdout.strip()) == without_time(last_line(full.stdout))


def test_a_scheduled_post_falling_due_goes_to_the_full_build(built: SiteDir, monkeypatch):
    soon = datetime.now(UTC) + timedelta(hours=1)
    built.post("2099-01-01-soon.md", f"title: Soon\ndate: {soon.isoformat()}", "Soon.")
    built.build()
    assert answer(built) is not None

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return soon + timedelta(minutes=1)

    monkeypatch.setattr(shortcut, "datetime", Later)
    assert answer(built) is None


def test_a_jekyll_build_with_nothing_to_do_answers(jekyll_built: JekyllDir):
    full = last_line(jekyll_built.build().output)
    assert without_time(answer(jekyll_built)) == without_time(full)


def test_a_new_posts_folder_deep_in_a_jekyll_tree_goes_to_the_full_build(
    jekyll_built: JekyllDir,
):
    jekyll_built.post("news/_posts/2024-01-02-second.md", "title: Second", "Two.")
    assert answer(jekyll_built) is None
    jekyll_built.build()
    assert "Second" in jekyll_built.output("feed.xml").read_text()


def test_an_include_edited_goes_to_the_full_build(jekyll_built: JekyllDir):
    jekyll_built.file("_includes/note.html", "Another note.")
    assert answer(jekyll_built) is None


@pytest.mark.parametrize(
    ("arguments", "root"),
    [
        (["build"], "."),
        (["build", "--site", "blog"], "blog"),
        (["--site=blog", "build"], "blog"),
        (["build", "--site="], None),
        (["--site", "a", "build", "--site", "b"], None),
        (["build", "--drafts"], None),
        (["build", "--now", "2030-01-01"], None),
        (["check"], None),
        (["--version"], None),
        ([], None),
    ],
)
def test_only_a_plain_build_takes_the_shortcut(arguments: list[str], root: str | None):
    assert shortcut.plain_build(arguments) == root


def test_a_scan_made_in_a_child_process_equals_one_made_here(tmp_path: Path):
    for name in ["a.md", "b c.md", "é.md", ".hidden.md", "deep/d.md", "deep/deeper/e.txt"]:
        (tmp_path / "posts" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "posts" / name).write_text(name)
    (tmp_path / os.fsdecode(b"posts/\xff.md")).write_text("not UTF-8")
    (tmp_path / "_includes").mkdir()
    scans = [[("posts", (".md",)), ("missing", None)], [("_includes", None)]]
    here = [stamps.scan(tmp_path, one) for one in scans]
    scanning = stamps.Scanning(str(tmp_path), scans, "options")
    assert scanning.inputs() == stamps.pack_inputs(here, "options")
    assert scanning.files() == here
    assert len(here[0]) == 5 and here[1] == {}
    assert list(here[0]) == sorted(here[0])  # in name order, across the folders


def test_a_child_that_fails_to_scan_leaves_the_scan_to_the_build(built: SiteDir, monkeypatch):
    def fails(*_):
        raise OSError("unreadable")

    monkeypatch.setattr(stamps, "scan_inputs", fails)
    scanning = stamps.Scanning(str(built.root), [[("posts", None)]], "options")
    assert scanning.inputs() == b""
    assert scanning.files() is None


def test_a_scan_too_large_to_hand_over_leaves_the_scan_to_the_build(built, monkeypatch):
    monkeypatch.setattr(stamps, "SHARED_SIZE", 64)
    scanning = stamps.Scanning(str(built.root), [[("posts", None)]], "options")
    assert scanning.inputs() == b""
    assert scanning.files() is None


def test_a_scan_with_no_child_to_make_it_is_made_here(built: SiteDir, monkeypatch):
    def refused():
        raise BlockingIOError("no process left")

    monkeypatch.setattr(os, "fork", refused)
    scanning = stamps.Scanning(str(built.root), [[("posts", None)]], "options")
    here = [stamps.scan(built.root, [("posts", None)])]
    assert scanning.files() == here
    assert scanning.inputs() == stamps.pack_inputs(here, "options")


def test_a_scan_handed_over_serves_one_build(built: SiteDir):
    add_a_post(built)
    shortcut.answer_or_hand_over(str(built.root), shortcut.noted_build(str(built.root)), 0.0)
    assert "3 posts" in built.build().output
    built.post("2024-01-04-fourth.md", "title: Fourth", "Four.")
    built.build()
    assert [entry.title for entry in built.feed().entries][:2] == ["Fourth", "Third"]


@pytest.mark.parametrize(
    "damaged",
    [
        b"not marshal",
        b"",
        marshal.dumps({"data": {"shortcut": {"version": 1}}})[:-3],
        marshal.dumps({"data": []}),
        marshal.dumps({"data": {"shortcut": {"version": 1}}}),
        marshal.dumps({"data": {"shortcut": "yes", "outputs": {}}}),
        marshal.dumps(compile("print('run')", "record", "exec")),
    ],
)
def test_a_damaged_record_goes_to_the_full_build(built: SiteDir, damaged: bytes):
    (built.root / ".publisher/cache/build.marshal").write_bytes(damaged)
    assert answer(built) is None
    assert "2 posts" in built.build().output


@pytest.mark.parametrize("command", [["build"], ["check"], ["--help"]])
def test_output_to_a_reader_that_stopped_reading_ends_without_a_traceback(built, command):
    reading, writing = os.pipe()
    os.close(reading)
    result = subprocess.run(
        [PUBLISHER, *command, *(["--site", built.root] if command != ["--help"] else [])],
        stdout=writing,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writing)
    assert "Traceback" not in result.stderr
    assert "BrokenPipe" not in result.stderr
    assert result.returncode == 1
