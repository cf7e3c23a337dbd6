"""How posts are read: dates, zones, drafts, taxonomies, summaries and ids, as Jekyll does."""

import json
import os


def items(site, path="feed.json"):
    return json.loads(site.output(path).read_text(encoding="utf-8"))["items"]


def test_date_comes_from_the_file_name(site):
    site.post("2024-03-05-hello.md")
    site.build()
    assert items(site)[0]["date_published"] == "2024-03-05T00:00:00+00:00"


def test_front_matter_date_wins_over_the_file_name(site):
    site.post("2024-03-05-hello.md", "title: Hi\ndate: 2024-03-07 14:30:00 +0200")
    site.build()
    assert items(site)[0]["date_published"] == "2024-03-07T14:30:00+02:00"


def test_dates_without_offset_use_the_site_timezone(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\ntimezone='America/New_York'\n")
    site.post("summer.md", "title: Summer\ndate: 2024-07-01 09:00")
    site.post("winter.md", "title: Winter\ndate: 2024-01-02")
    site.build()
    dates = {item["title"]: item["date_published"] for item in items(site)}
    assert dates == {
        "Summer": "2024-07-01T09:00:00-04:00",
        "Winter": "2024-01-02T00:00:00-05:00",
    }


def test_updated_comes_from_last_modified_at(site):
    site.post("2024-03-05-hello.md", "title: Hi\nlast_modified_at: 2024-04-01T10:00:00Z")
    site.build()
    assert items(site)[0]["date_modified"] == "2024-04-01T10:00:00+00:00"


def test_drafts_are_left_out_and_reported(site):
    site.post("2024-03-05-shown.md", "title: Shown")
    site.post("2024-03-06-hidden.md", "title: Hidden\npublished: false")
    site.post("2024-03-07-draft.md", "title: Draft\ndraft: true")
    result = site.build()
    assert [item["title"] for item in items(site)] == ["Shown"]
    assert "2 left out as drafts" in result.output


def test_drafts_flag_includes_drafts(site):
    site.post("2024-03-06-hidden.md", "title: Hidden\npublished: false")
    site.build("--drafts")
    assert [item["title"] for item in items(site)] == ["Hidden"]


def test_future_posts_wait_for_their_date(site):
    site.post("2030-01-01-later.md", "title: Later")
    site.post("2024-01-01-now.md", "title: Now")
    result = site.build("--now", "2029-12-31T23:59:59+00:00")
    assert [item["title"] for item in items(site)] == ["Now"]
    assert "1 scheduled for later" in result.output
    site.build("--now", "2030-01-01T00:00:00+00:00")
    assert [item["title"] for item in items(site)] == ["Later", "Now"]


def test_now_without_an_offset_is_in_the_sites_timezone(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\ntimezone='Europe/Paris'\n")
    site.post("2024-01-10-morning.md", "title: Morning\ndate: 2024-01-10 09:30")
    result = site.build("--now", "2024-01-10T09:00")
    assert "1 scheduled for later" in result.output
    site.build("--now", "2024-01-10T09:30")
    assert [item["title"] for item in items(site)] == ["Morning"]


def test_future_flag_includes_future_posts(site):
    site.post("2030-01-01-later.md", "title: Later")
    site.build("--now", "2024-01-01", "--future")
    assert [item["title"] for item in items(site)] == ["Later"]


def test_singular_category_is_one_name(site):
    site.post("2024-01-01-a.md", "title: A\ncategory: Deep Learning\ncategories: ignored")
    site.build()
    assert items(site)[0]["tags"] == ["Deep Learning"]


def test_plural_string_is_split_on_spaces(site):
    site.post("2024-01-01-a.md", "title: A\ncategories: news notes\ntags: [one, two words]")
    site.build()
    assert items(site)[0]["tags"] == ["news", "notes", "one", "two words"]


def test_title_falls_back_to_the_slug(site):
    site.post("2024-01-01-a-quiet-day.md", "layout: post")
    site.build()
    assert items(site)[0]["title"] == "A Quiet Day"


def test_front_matter_summary_wins(site):
    site.post("2024-01-01-a.md", "title: A\ndescription: The short *version*.", "Long text.")
    site.build()
    assert items(site)[0]["summary"] == "The short version."


def test_excerpt_separator_cuts_the_summary(site):
    site.config(CONFIG_WITH_SEPARATOR)
    site.post("2024-01-01-a.md", "title: A", "## Intro\n\nFirst part.\n<!--more-->\nRest.")
    site.build()
    assert items(site)[0]["summary"] == "Intro First part."


def test_summary_is_the_first_paragraph_without_tldr_label(site):
    site.post("2024-01-01-a.md", "title: A", "# Heading\n\nTL;DR: short story.\n\nMore.")
    site.build()
    assert items(site)[0]["summary"] == "short story."


def test_id_is_stable_when_title_and_permalink_change(site):
    site.post("2024-01-01-a.md", "title: First title")
    site.build()
    before = items(site)[0]
    site.post("2024-01-01-a.md", "title: Second title\npermalink: /elsewhere/")
    site.build()
    after = items(site)[0]
    assert after["url"] == "https://example.com/elsewhere/" != before["url"]
    assert after["id"] == before["id"] == "tag:example.com,2024-01-01:a"


def test_front_matter_id_wins(site):
    site.post("2024-01-01-a.md", "title: A\nid: https://old.example.com/2024/01/01/a")
    site.build()
    assert items(site)[0]["id"] == "https://old.example.com/2024/01/01/a"


def test_relative_links_and_images_become_absolute(site):
    body = (
        "[up](../about/) [here](#part) [mail](mailto:a@example.com)\n\n"
        "![chart](images/chart.png)\n\n"
        '<img src="/abs.png" srcset="small.png 1x, /big.png 2x" alt="x">\n'
        "<img srcset=\"https://cdn.example.org/s.png 1x, big.png 2x\" src = 'spaced.png'>\n"
    )
    site.post("2024-01-01-a.md", "title: A\npermalink: /blog/a/", body)
    site.build()
    html = items(site)[0]["content_html"]
    assert 'href="https://example.com/blog/about/"' in html
    assert 'href="https://example.com/blog/a/#part"' in html
    assert 'href="mailto:a@example.com"' in html
    assert 'src="https://example.com/blog/a/images/chart.png"' in html
    assert (
        'srcset="https://example.com/blog/a/small.png 1x, https://example.com/big.png 2x"' in html
    )
    assert (
        'srcset="https://cdn.example.org/s.png 1x, https://example.com/blog/a/big.png 2x"' in html
    )
    assert 'src = "https://example.com/blog/a/spaced.png"' in html
    assert items(site)[0]["image"] == "https://example.com/blog/a/images/chart.png"


def test_only_tag_attributes_are_made_absolute_never_text_that_looks_like_one(site):
    body = (
        "Set src='prose.png' in the config.\n\n"
        '<a title="a > b" href="deep/link/">after a quoted bracket</a>\n'
    )
    site.post("2024-01-01-a.md", "title: A\npermalink: /blog/a/", body)
    site.build()
    html = items(site)[0]["content_html"]
    assert "src='prose.png'" in html
    assert 'href="https://example.com/blog/a/deep/link/"' in html


def test_github_extensions_render(site):
    body = (
        "| a |\n|---|\n| 1 |\n\n~~gone~~ https://example.org\n\n- [x] done\n\n"
        "Note[^1]\n\n[^1]: Foot.\n"
    )
    site.post("2024-01-01-a.md", "title: A", body)
    site.build()
    html = items(site)[0]["content_html"]
    for fragment in ("<table>", "<del>gone</del>", '<a href="https://example.org">', "checkbox"):
        assert fragment in html
    assert 'href="https://example.com/2024/01/01/a.html#fn-1"' in html


def test_clean_text_is_never_changed(site):
    text = "Café — “quoted” naïve façade ½ Ã la carte ǅ ﬁ"
    site.post("2024-01-01-a.md", "title: A", text)
    result = site.build()
    assert text in items(site)[0]["content_html"]
    assert "0 errors, 0 warnings" in result.output


CONFIG_WITH_SEPARATOR = """
[site]
title = "T"
url = "https://example.com"
excerpt_separator = "<!--more-->"
"""


def test_posts_in_the_drafts_folder_are_drafts_dated_by_their_mtime(site):
    site.post("2024-01-01-out.md", "title: Out")
    draft = site.root / "_drafts" / "work-in-progress.md"
    draft.parent.mkdir()
    draft.write_text("---\ntitle: Work in progress\n---\n\nNot yet.\n")
    os.utime(draft, (1_720_000_000, 1_720_000_000))
    result = site.build()
    assert "1 left out as drafts" in result.output
    assert [item["title"] for item in items(site)] == ["Out"]
    site.build("--drafts")
    entry = site.feed().entries[0]
    assert entry.title == "Work in progress"
    assert entry.published == "2024-07-03T09:46:40+00:00"


def test_a_file_whose_name_is_not_utf8_is_left_out_with_a_warning(site):
    site.post("2024-01-01-kept.md", "title: Kept", "Text.")
    name = os.fsdecode(b"2024-01-02-caf\xe9.md")  # Latin-1, as an old archive may hold
    (site.root / "posts" / name).write_text("---\ntitle: Lost\n---\nText.\n")
    result = site.build()
    assert result.exit_code == 0
    assert "posts/2024-01-02-caf\ufffd.md: warning: is left out: its name is not UTF-8" in (
        result.output
    )
    assert [entry.title for entry in site.feed().entries] == ["Kept"]
