"""The command line itself: where --site goes, and refusals as messages, never tracebacks."""

from click.testing import CliRunner

from publisher.cli import main
from tests.helpers import CONFIG, modules_a_build_loads


def test_site_may_come_before_the_command(site):
    site.post("2024-01-01-a.md")
    result = CliRunner().invoke(main, ["--site", str(site.root), "build"])
    assert result.exit_code == 0, result.output
    assert site.output("feed.xml").exists()


def test_site_after_the_command_wins_over_one_before_it(site, tmp_path):
    site.post("2024-01-01-a.md")
    result = CliRunner().invoke(main, ["--site", str(tmp_path), "build", "--site", str(site.root)])
    assert result.exit_code == 0, result.output
    assert site.output("feed.xml").exists()


def test_a_command_on_a_folder_without_a_site_says_so_without_a_traceback(tmp_path):
    result = CliRunner().invoke(main, ["subscribers", "list", "--site", str(tmp_path)])
    assert result.exit_code == 1
    assert "publisher.toml: error: no site configuration found" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_build_of_posts_without_liquid_does_not_load_liquid(jekyll):
    jekyll.post("2024-01-01-a.md", body="No braces here.")
    assert modules_a_build_loads(jekyll, {"liquid", "pygments"}) == []


def test_a_refusal_is_one_line_of_error(letters):
    result = letters.run("subscribers", "remove", "nobody@example.com")
    assert result.exit_code == 1
    assert result.output == "Error: nobody@example.com is not on the list\n"


def test_a_build_with_nothing_to_do_imports_no_parser_renderer_or_database(site):
    site.post("2024-01-01-a.md")
    site.build()
    heavy = {"yaml", "cmarkgfm", "feedgen", "lxml", "sqlite3", "jinja2", "liquid"}
    assert modules_a_build_loads(site, heavy) == []


def test_a_build_after_an_edit_no_feed_shows_loads_no_feed_writer(site):
    site.config(CONFIG + "[feeds]\nlimit = 1\n")
    site.post("2024-01-01-old.md", "title: Old")
    site.post("2024-01-02-new.md", "title: New")
    site.build()
    site.post("2024-01-01-old.md", "title: Old, edited")
    assert modules_a_build_loads(site, {"feedgen", "lxml"}) == []
