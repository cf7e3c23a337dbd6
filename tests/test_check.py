"""Bad input gets clear errors naming the file and line, all of them, and never a traceback."""

import pytest

from tests.helpers import CONFIG


def test_a_clean_site_checks_clean(site):
    site.post("2024-01-01-a.md")
    result = site.run("check")
    assert result.exit_code == 0
    assert "0 errors, 0 warnings" in result.output


def test_bad_yaml_names_the_line(site):
    (site.root / "posts").mkdir()
    (site.root / "posts" / "2024-01-01-a.md").write_text("---\ntitle: A\ntags: [a, b\n---\nx\n")
    result = site.run("check")
    assert result.exit_code == 1
    assert "posts/2024-01-01-a.md:4: error: invalid YAML in front matter" in result.output


def test_front_matter_must_be_a_mapping(site):
    site.post("2024-01-01-a.md", "- just\n- a list")
    result = site.run("check")
    assert "front matter is a list, not a mapping of keys" in result.output


def test_unknown_date_format_names_the_line(site):
    site.post("a.md", "title: A\ndate: next Tuesday")
    result = site.run("check")
    assert "posts/a.md:3: error: unknown date format 'next Tuesday' in date" in result.output
    assert "YYYY-MM-DD" in result.output


def test_a_post_without_any_date_says_how_to_fix_it(site):
    site.post("undated.md")
    result = site.run("check")
    assert "posts/undated.md: error: the post has no date" in result.output
    assert "name the file YYYY-MM-DD-slug.md" in result.output


def test_non_utf8_bytes_name_the_line(site):
    (site.root / "posts").mkdir()
    (site.root / "posts" / "2024-01-01-a.md").write_bytes(b"---\ntitle: A\n---\n\ncaf\xe9\n")
    result = site.run("check")
    assert "posts/2024-01-01-a.md:5: error: not UTF-8 text (byte 0xe9)" in result.output


def test_empty_file_is_an_error(site):
    (site.root / "posts").mkdir()
    (site.root / "posts" / "2024-01-01-a.md").write_text("  \n")
    assert "the file is empty" in site.run("check").output


def test_missing_front_matter_is_an_error(site):
    (site.root / "posts").mkdir()
    (site.root / "posts" / "2024-01-01-a.md").write_text("Just text.\n")
    assert "2024-01-01-a.md:1: error: no front matter" in site.run("check").output


def test_duplicate_ids_name_both_files(site):
    site.post("2024-01-01-a.md", "title: A\nid: tag:example.com,2024:same")
    site.post("2024-01-02-b.md", "title: B\nid: tag:example.com,2024:same")
    result = site.run("check")
    assert (
        "2024-01-02-b.md: error: id 'tag:example.com,2024:same' is already used by" in result.output
    )


def test_an_id_must_be_a_uri(site):
    site.post("2024-01-01-a.md", "title: A\nid: 42")
    assert "a.md:3: error: id '42' is not an absolute URI" in site.run("check").output


def test_every_problem_is_reported_in_one_run(site):
    site.post("2024-01-01-a.md", "title: A\ndate: soon")
    site.post("b.md")
    site.post("2024-01-03-c.md", "title: [oops")
    result = site.run("check")
    assert result.output.count("error:") == 3
    assert "3 errors" in result.output


def test_build_refuses_to_write_from_invalid_input(site):
    site.post("2024-01-01-a.md")
    site.post("b.md")
    result = site.run("build")
    assert result.exit_code == 1
    assert "Nothing was written" in result.output
    assert not site.output("feed.xml").exists()


def test_warnings_pass_unless_strict(site):
    site.post("2024-01-01-a.md", "title: A", "It\u00e2\u20ac\u2122s broken.")
    assert site.run("check").exit_code == 0
    strict = site.run("check", "--strict")
    assert strict.exit_code == 1
    assert "repaired mojibake 'â€™' to '’'" in strict.output


def test_missing_url_is_an_error(site):
    site.config("[site]\ntitle = 'T'\n")
    result = site.run("check")
    assert result.exit_code == 1
    assert "publisher.toml: error: site url is missing; feeds need absolute links" in result.output


def test_bad_toml_names_the_line(site):
    site.config("[site]\ntitle = 'T'\nurl = https://example.com\n")
    result = site.run("check")
    assert "publisher.toml:3: error: invalid TOML" in result.output


def test_unknown_timezone_is_an_error(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\ntimezone='Mars/Olympus'\n")
    assert "unknown timezone 'Mars/Olympus'" in site.run("check").output


def test_no_configuration_at_all(site):
    (site.root / "publisher.toml").unlink()
    result = site.run("check")
    assert result.exit_code == 1
    assert "no site configuration found" in result.output


@pytest.mark.parametrize(
    "front_matter",
    ["title: {a: 1}", "date: 2024-02-30", "permalink: /:nonsense/", "summary: [1, 2]"],
)
def test_odd_front_matter_never_raises(site, front_matter):
    site.post("2024-01-01-a.md", front_matter)
    result = site.run("check")
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    assert "error:" in result.output


def test_check_warns_of_what_newsletters_lack(site, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "127.0.0.1")
    site.config(CONFIG + '[newsletter]\nfrom_name = "Letters"\n[mail]\ntransport = "smtp"\n')
    site.post("2024-01-01-a.md")
    result = site.run("check")
    assert result.exit_code == 0, result.output
    assert "newsletters go out over SMTP unsigned" in result.output
    assert "no postal address" in result.output
    assert "https://example.com/unsubscribe, which nothing serves" in result.output


def test_a_configured_newsletter_checks_clean(letters):
    letters.post("2024-01-01-a.md")
    result = letters.run("check")
    assert "0 errors, 0 warnings" in result.output, result.output
