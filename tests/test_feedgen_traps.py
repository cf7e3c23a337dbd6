"""Each of feedgen 1.0.0's known traps, caught in the files we write."""

import json

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
HUB_CONFIG = """
[site]
title = "T"
url = "https://example.com"
author = "Site Author"
hub = ["https://hub.example.org/"]
"""


def three_posts(site):
    for day in ("01", "02", "03"):
        site.post(f"2024-01-{day}-post-{day}.md", f"title: Post {day}")


def test_entries_are_newest_first_in_every_format(site):
    three_posts(site)
    site.build()
    for name in ("feed.xml", "rss.xml"):
        assert [e.title for e in site.feed(name).entries] == ["Post 03", "Post 02", "Post 01"]
    items = json.loads(site.output("feed.json").read_text())["items"]
    assert [i["title"] for i in items] == ["Post 03", "Post 02", "Post 01"]


def test_feed_updated_is_the_newest_entry_not_the_build_time(site):
    three_posts(site)
    site.post("2024-01-02-post-02.md", "title: Post 02\nupdated: 2024-02-10T08:00:00Z")
    site.build()
    assert site.feed("feed.xml").feed.updated == "2024-02-10T08:00:00+00:00"
    assert site.feed("rss.xml").feed.updated == "Sat, 10 Feb 2024 08:00:00 +0000"


def test_naive_front_matter_times_do_not_crash(site):
    site.post("a.md", "title: A\ndate: 2024-01-01 10:00:00")
    site.build()
    assert site.feed().entries[0].published == "2024-01-01T10:00:00+00:00"


def test_rss_channel_link_is_the_site_even_with_a_hub(site):
    site.config(HUB_CONFIG)
    three_posts(site)
    site.build()
    channel = etree.parse(site.output("rss.xml")).getroot().find("channel")
    assert channel.findtext("link") == "https://example.com/"


def test_hub_is_advertised_in_every_format(site):
    site.config(HUB_CONFIG)
    three_posts(site)
    site.build()
    for name in ("feed.xml", "rss.xml"):
        links = {(link.rel, link.href) for link in site.feed(name).feed.links}
        assert ("hub", "https://hub.example.org/") in links
        assert ("self", f"https://example.com/{name}") in links
    hubs = json.loads(site.output("feed.json").read_text())["hubs"]
    assert hubs == [{"type": "WebSub", "url": "https://hub.example.org/"}]


def test_rss_keeps_authors_without_email(site):
    site.post("2024-01-01-a.md", "title: A\nauthor: Jane Writer")
    site.build()
    entry = site.feed("rss.xml").entries[0]
    assert entry.author == "Jane Writer"


def test_atom_entry_links_keep_rel_and_type(site):
    three_posts(site)
    site.build()
    root = etree.parse(site.output("feed.xml")).getroot()
    link = root.find(f"{ATOM}entry/{ATOM}link")
    assert link.get("rel") == "alternate"
    assert link.get("type") == "text/html"


def test_atom_content_is_escaped_html_not_cdata(site):
    site.post("2024-01-01-a.md", "title: A", "Text with ]]> and <em>tags</em>.")
    site.build()
    raw = site.output("feed.xml").read_text()
    assert '<content type="html">' in raw
    assert "CDATA" not in raw
    assert "]]>" not in raw
    assert "Text with ]]&gt; and <em>tags</em>." in site.feed().entries[0].content[0].value


def test_generator_does_not_change_with_feedgen(site):
    three_posts(site)
    site.build()
    assert site.feed("feed.xml").feed.generator == "publisher"
    assert "python-feedgen" not in site.output("rss.xml").read_text()


def test_atom_leaves_out_a_summary_that_repeats_the_content(site):
    site.post("2024-01-01-short.md", "title: Short", "Just this one paragraph.")
    site.build()
    atom = site.output("feed.xml").read_bytes()
    assert b"<summary" not in atom
    assert "Just this one paragraph." in site.feed().entries[0].content[0].value
    assert "Just this one paragraph." in site.feed("rss.xml").entries[0].description
