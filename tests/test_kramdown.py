"""A Jekyll site's Markdown reads as kramdown (with its GFM parser) writes it."""

from __future__ import annotations

import pytest

from publisher.site.markdown import to_html


def headings(text: str, kramdown: str | None = "GFM") -> list[str]:
    return [heading.id for heading in to_html(text, kramdown=kramdown)[1]]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("1. Manage the office", "1-manage-the-office"),
        ("ダウンロード", "ダウンロード"),
        ("snake_case names", "snake_case-names"),
        ("What we're doing", "what-were-doing"),
        ("✨ Highlights since 5.1.0", "-highlights-since-510"),
        ("`code` and *emphasis*", "code-and-emphasis"),
    ],
)
def test_heading_ids_are_those_of_kramdowns_gfm_parser(heading, anchor):
    assert headings(f"## {heading}") == [anchor]


def test_repeated_headings_are_numbered_from_one():
    assert headings("# Intro\n\n# Intro\n\n# Intro") == ["intro", "intro-1", "intro-2"]


def test_kramdowns_own_parser_makes_ascii_ids():
    assert headings("## 1. Manage the office", kramdown="kramdown") == ["manage-the-office"]


def test_an_explicit_header_id_wins():
    content, found = to_html("## Setup {#install}\n\nText.", kramdown="GFM")
    assert '<h2 id="install">Setup</h2>' in content
    assert found[0].id == "install"


def test_a_block_ial_gives_the_heading_above_its_id():
    content, _ = to_html("## Setup\n{: #install .big}\n\nText.", kramdown="GFM")
    assert '<h2 id="install">Setup</h2>' in content
    assert "{:" not in content


def test_toc_becomes_a_table_of_contents_without_no_toc_headings():
    source = "* TOC\n{:toc}\n\n# Contents\n{: .no_toc}\n\n## One\n\n### One A\n\n## Two\n"
    content, _ = to_html(source, kramdown="GFM")
    assert content.startswith('<ul id="markdown-toc">\n<li><a href="#one" id="markdown-toc-one">')
    assert '<ul>\n<li><a href="#one-a" id="markdown-toc-one-a">One A</a>' in content
    assert "markdown-toc-contents" not in content
    assert "{:toc}" not in content and "TOC" not in content


def test_span_ials_and_extensions_are_dropped():
    source = (
        '![Logo](/logo.png){: .center width="50"} [link](/x){:target="_blank"}\n\n'
        '{::comment}\nhidden\n{:/comment}\n\n{::options parse_block_html="true" /}\n\nEnd.'
    )
    content, _ = to_html(source, kramdown="GFM")
    assert "{:" not in content and "hidden" not in content
    assert '<img src="/logo.png" alt="Logo" />' in content


def test_ial_lookalikes_in_code_stay():
    source = "    {:ok, pid} = start()\n\nText `{:ok, 1}` and\n\n```\n{: .not-ial}\n```\n"
    content, _ = to_html(source, kramdown="GFM")
    assert "{:ok, pid} = start()" in content
    assert "<code>{:ok, 1}</code>" in content
    assert "{: .not-ial}" in content


def test_nomarkdown_is_kept_as_it_is():
    content, _ = to_html("{::nomarkdown}<b>*bold*</b>{:/}", kramdown="GFM")
    assert "<b>*bold*</b>" in content


def test_quotes_and_dashes_are_smart():
    content, _ = to_html('"Quoted" -- it\'s---so... fine', kramdown="GFM")
    assert content == "<p>“Quoted” – it’s—so… fine</p>\n"


def test_bare_urls_are_not_links_as_in_kramdown():
    content, _ = to_html("See https://example.com today.", kramdown="GFM")
    assert "<a " not in content


def test_an_html_block_with_blank_lines_is_kept_whole():
    source = '<ul id="list">\n\n    <li>one</li>\n\n</ul>\n\nAfter.'
    content, _ = to_html(source, kramdown="GFM")
    assert '<ul id="list">\n\n    <li>one</li>\n\n</ul>' in content
    assert "<pre>" not in content and "<p>After.</p>" in content


def test_embeds_are_kept_in_the_feed(jekyll):
    iframe = '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="Talk"></iframe>'
    script = '<script src="https://asciinema.org/a/14.js" id="asciicast-14" async></script>'
    jekyll.post("2024-01-01-embeds.md", "title: Embeds", f"{iframe}\n\n{script}\n")
    content = jekyll.raw_html("Embeds")
    assert iframe in content and script in content


def test_a_publisher_site_keeps_github_flavoured_markdown(site):
    site.post("2024-01-01-gfm.md", "title: GFM\ndate: 2024-01-01", '"Plain" https://example.com')
    site.build()
    content = site.feed().entries[0].content[0].value
    assert "&quot;Plain&quot;" in content and '<a href="https://example.com">' in content


def test_jekyll_titles_are_smart_and_plain(jekyll):
    jekyll.post("2024-01-01-t.md", "title: \"It's <em>the</em>  'best'\"")
    jekyll.build()
    assert jekyll.feed().entries[0].title == "It’s the ‘best’"


def test_footnote_anchors_are_kramdowns():
    content, _ = to_html("Text[^1], again[^1].\n\n[^1]: The note.\n", kramdown="GFM")
    assert 'href="#fn:1" id="fnref:1"' in content and '<li id="fn:1">' in content
    assert 'id="fnref:1:1"' in content and 'href="#fnref:1:1"' in content


def test_a_line_break_tag_before_text_starts_a_paragraph():
    content, _ = to_html("<br/>\nSee [the fix](https://example.com/pr).\n", kramdown="GFM")
    assert '<a href="https://example.com/pr">the fix</a>' in content


def test_an_address_with_spaces_is_an_image_as_in_kramdown():
    content, _ = to_html('![Flow](Live Auction flow.png "The flow")', kramdown="GFM")
    assert '<img src="Live%20Auction%20flow.png" alt="Flow" title="The flow" />' in content


def test_a_raw_html_heading_gets_no_id_as_in_kramdown():
    content, found = to_html("<h3>Asked</h3>\n\n## Written\n", kramdown="GFM")
    assert "<h3>Asked</h3>" in content and '<h2 id="written">Written</h2>' in content
    assert [heading.id for heading in found] == ["written"]


def test_the_last_definition_of_a_link_label_wins_as_in_kramdown():
    source = "See [tag][t].\n\n[t]: https://first.example\n\n[t]: https://last.example\n"
    content, _ = to_html(source, kramdown="GFM")
    assert '<a href="https://last.example">tag</a>' in content


def test_lines_of_code_that_look_like_definitions_stay():
    source = "```\n[17:03:54]: Decrypting\n[17:03:54]: Installing\n```\n"
    content, _ = to_html(source, kramdown="GFM")
    assert "[17:03:54]: Decrypting\n[17:03:54]: Installing" in content
