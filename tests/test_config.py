"""An existing Jekyll blog works unchanged: settings come from _config.yml when there is no TOML."""

import json

import pytest

from tests.helpers import CONFIG

JEKYLL_CONFIG = """
title: Jekyll Blog
url: https://jekyll.example.com
baseurl: /notes
description: From Jekyll.
author:
  name: Jay Kyll
  email: jay@example.com
lang: fr
timezone: Europe/Paris
permalink: /:categories/:title/
feed:
  path: atom.xml
  posts_limit: 1
  icon: /icon.png
"""


def jekyll_site(site):
    (site.root / "publisher.toml").unlink()
    (site.root / "_config.yml").write_text(JEKYLL_CONFIG)
    path = site.root / "_posts" / "2024-05-01-bonjour.md"
    path.parent.mkdir()
    path.write_text("---\ntitle: Bonjour\ncategories: news\n---\n\nSalut.\n")
    (site.root / "_posts" / "2024-04-01-older.md").write_text("---\ntitle: Older\n---\nx\n")
    return site


def test_jekyll_config_is_read(site):
    jekyll_site(site).build()
    feed = site.feed("atom.xml")
    assert feed.feed.title == "Jekyll Blog"
    assert feed.feed.language == "fr"
    assert feed.feed.links[0].href == "https://jekyll.example.com/notes/atom.xml"
    assert feed.feed.icon == "https://jekyll.example.com/notes/icon.png"
    assert [e.title for e in feed.entries] == ["Bonjour"]
    entry = feed.entries[0]
    assert entry.link == "https://jekyll.example.com/notes/news/bonjour/"
    assert entry.published == "2024-05-01T00:00:00+02:00"
    assert entry.author_detail.email == "jay@example.com"


def test_rss_author_with_email(site):
    jekyll_site(site).build()
    assert site.feed("rss.xml").entries[0].author == "jay@example.com (Jay Kyll)"


def test_unknown_settings_are_errors_with_a_suggestion(site):
    site.config(
        "[site]\ntitle='T'\nurl='https://example.com'\ntitel='typo'\n[feed]\nx=1\n"
        "[mail]\ntransprot='smtp'\n[newsleter]\n"
    )
    result = site.run("check")
    assert result.exit_code == 1
    assert "unknown setting site.titel (did you mean title?)" in result.output
    assert "unknown section [feed] (did you mean feeds?)" in result.output
    assert "unknown setting mail.transprot (did you mean transport?)" in result.output
    assert "unknown section [newsleter] (did you mean newsletter?)" in result.output


def test_a_typo_in_a_jekyll_newsletter_mapping_is_an_error(site):
    jekyll_site(site)
    config = site.root / "_config.yml"
    config.write_text(config.read_text() + "newsletter:\n  postal_adress: 1 Road\nnewsleter: {}\n")
    result = site.run("check")
    assert result.exit_code == 1
    assert "unknown setting newsletter.postal_adress (did you mean postal_address?)" in (
        result.output
    )
    assert "unknown setting 'newsleter' (did you mean newsletter?)" in result.output


def test_icon_logo_and_language_reach_every_format(site):
    site.config(
        "[site]\ntitle='T'\nurl='https://example.com'\nlanguage='de'\n"
        "icon='/favicon.png'\nlogo='https://cdn.example.com/logo.png'\n"
    )
    site.post("2024-01-01-a.md")
    site.build()
    atom = site.feed("feed.xml").feed
    assert atom.icon == "https://example.com/favicon.png"
    assert atom.logo == "https://cdn.example.com/logo.png"
    assert site.feed("rss.xml").feed.language == "de"
    data = json.loads(site.output("feed.json").read_text())
    assert (data["icon"], data["favicon"], data["language"]) == (
        "https://cdn.example.com/logo.png",
        "https://example.com/favicon.png",
        "de",
    )


def test_control_characters_in_settings_never_crash(site):
    site.config('[site]\ntitle = "Bell\\u0007 site"\nurl = "https://example.com"\n')
    site.post("2024-01-01-a.md")
    site.build()
    assert site.feed().feed.title == "Bell site"


def test_post_authors_are_looked_up_in_jekylls_authors_data(site):
    (site.root / "_data").mkdir()
    (site.root / "_data" / "authors.yml").write_text(
        "jay:\n  name: Jay Kyll\n  email: jay@example.com\n  uri: https://jay.example.com\n"
    )
    site.post("2024-05-01-a.md", "title: A\nauthor: jay")
    site.post("2024-05-02-b.md", "title: B\nauthor: Someone Else")
    site.build()
    authors = {entry.title: entry.author_detail for entry in site.feed().entries}
    assert authors["A"] == {
        "name": "Jay Kyll",
        "email": "jay@example.com",
        "href": "https://jay.example.com",
    }
    assert authors["B"] == {"name": "Someone Else"}


def test_broken_authors_data_is_reported_with_its_file_and_line(site):
    (site.root / "_data").mkdir()
    (site.root / "_data" / "authors.yml").write_text("jay:\n  name: [unclosed\n")
    site.post("2024-05-01-a.md", "title: A\nauthor: jay")
    result = site.run("build")
    assert result.exit_code == 1
    assert "_data/authors.yml:3: error: invalid YAML" in result.output


def test_jekyll_feeds_use_the_sites_feed_stylesheet(site):
    jekyll_site(site)
    (site.root / "feed.xslt.xml").write_text("<xsl:stylesheet/>")
    site.build()
    data = site.output("atom.xml").read_bytes()
    assert b'href="https://jekyll.example.com/notes/feed.xslt.xml"' in data


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("[newsletter]\nmode = 'weekly'", "newsletter mode must be 'post' or 'digest'"),
        ("[newsletter]\nperiod = 'hourly'", "newsletter period must be one of daily, weekly"),
        ("[newsletter]\ncontent = 'all'", "newsletter content must be 'summary' or 'full'"),
        (
            "[newsletter]\nunsubscribe_url = 'https://example.com/leave'",
            "newsletter unsubscribe_url has no {token}",
        ),
        ("[mail]\ntransport = 'pigeon'", "mail transport must be maildir or smtp"),
        ("[mail]\ntransport = 'smtp'", "mail transport smtp needs a host"),
        ("[mail]\ndkim_key = 'dkim.pem'", "mail dkim_key needs a dkim_selector"),
        ("[mail]\nconcurrency = 0", "mail concurrency must be 1 or more"),
        ("[mail]\nretries = 'many'", "mail retries must be int, like 3"),
        ("[feeds]\nlimit = -1", "feeds limit must be 0 (all posts) or more"),
        ("[feeds]\noutput = '..'", "feeds output '..' must be a folder inside the site"),
        ("[feeds]\noutput = '/'", "feeds output '/' must be a folder inside the site"),
        ("[feeds]\noutput = '/tmp/out'", "feeds output '/tmp/out' must be a folder inside"),
        ("[feeds]\noutput = '.'", "feeds output '.' must be a folder inside the site"),
        ("[feeds]\noutput = 'posts'", "feeds output 'posts' is inside posts/"),
        ("[feeds]\noutput = '.publisher/x'", "feeds output '.publisher/x' is inside .publisher/"),
        ("[feeds]\nrss = 'feed.xml'", "feeds atom, rss and json must be three different files"),
        ("[feeds]\ntags = 'tags'", "feeds tags 'tags' must name each folder by {slug}"),
        ("[feeds]\ntags = 'tags/{name}'", "feeds tags 'tags/{name}' must name each folder"),
        ("[feeds]\ntags = 'tags/{'", "feeds tags 'tags/{' must name each folder by {slug}"),
        (
            "[feeds]\ncategories = 'x/{slug}'\ntags = 'x/{slug}'",
            "feeds categories and tags are the same folder",
        ),
        ("[mail]\ntimeout = 0", "mail timeout and retry_delay must be more than 0 seconds"),
        ("[mail]\nretry_delay = -1.0", "mail timeout and retry_delay must be more than 0"),
        ("[mail]\nrate = -1.0", "mail concurrency must be 1 or more, retries and rate 0"),
        ("[feeds]\natom = '../feed.xml'", "feeds atom '../feed.xml' leaves the output folder"),
    ],
)
def test_every_invalid_setting_is_an_error_that_names_it(site, monkeypatch, setting, message):
    monkeypatch.delenv("PUBLISHER_SMTP_HOST", raising=False)
    site.config(CONFIG + setting + "\n")
    result = site.run("check")
    assert result.exit_code == 1
    assert f"publisher.toml: error: {message}" in result.output


@pytest.mark.parametrize(
    ("site_setting", "message"),
    [
        ("hub = 5", "site hub must be a URL or a list of URLs"),
        ("hub = [5]", "hub 5 is not an http(s) URL"),
        ("url = 'https://example.com/?page=1'", "has a query or a fragment"),
        ("url = 'https://example.com/#top'", "has a query or a fragment"),
        ("url = 'https://example.com:port/'", "is not an absolute http(s) URL"),
        ("url = 'example.com'", "is not an absolute http(s) URL"),
    ],
)
def test_site_settings_that_cannot_work_are_errors(site, site_setting, message):
    key = site_setting.split(" ")[0]
    lines = [line for line in CONFIG.splitlines() if not line.startswith(f"{key} =")]
    site.config("\n".join(lines).replace("[site]", f"[site]\n{site_setting}") + "\n")
    result = site.run("check")
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_changed_setting_rebuilds_what_the_cache_holds(site):
    site.post("2024-01-01-a.md")
    site.build()
    site.config(CONFIG.replace('title = "Test Site"', 'title = "Renamed Site"'))
    result = site.build()
    assert "0 files written" not in result.output
    assert site.feed().feed.title == "Renamed Site"


def test_excerpt_only_feeds_carry_the_summary_alone(site):
    site.config(CONFIG + "[feeds]\nexcerpt_only = true\n")
    site.post("2024-01-01-a.md", "title: A", "The short summary.\n\nThe long rest of the post.")
    site.build()
    for name in ("feed.xml", "rss.xml", "feed.json"):
        data = site.output(name).read_text(encoding="utf-8")
        assert "The short summary." in data
        assert "The long rest of the post." not in data, name


def test_a_time_that_is_not_iso_8601_is_a_usage_error(site):
    site.post("2024-01-01-a.md")
    result = site.run("build", "--now", "yesterday")
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO-8601 date or time" in result.output
    assert not site.output("feed.xml").exists()
