"""Whatever a remote feed holds, its entries become newsletters whose headers carry one
line of text and whose HTML runs nothing."""

import json
import re
from datetime import UTC, datetime
from html import escape

import lxml.etree
import lxml.html
from hypothesis import given
from hypothesis import strategies as st

from publisher.mail.campaign import for_post
from publisher.mail.mime import MessageTemplate
from publisher.site.config import load_site
from publisher.site.problems import Problems
from publisher.sources.parse import FeedError, parse
from publisher.sources.posts import as_post
from publisher.sources.records import KeptEntry
from tests.test_properties import EXAMPLES, new_site

NOW = datetime(2026, 12, 1, tzinfo=UTC)
HOSTILE = st.sampled_from(
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<iframe src="https://evil.example/"></iframe>',
        "\r\nBcc: victim@example.org",
        "=?utf-8?q?=0D=0ABcc:_x?=",
        "\u2028\u2029\x85",
        "<style>body{display:none}</style>",
    ]
)
words = st.lists(st.one_of(st.text(max_size=20), HOSTILE), max_size=4).map("".join)
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def json_body(title: str, content: str, link: str, entry_id: str) -> bytes:
    item = {"id": entry_id, "url": link, "title": title, "content_html": content}
    feed = {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": [item]}
    return json.dumps(feed).encode()


def rss_body(title: str, content: str, link: str, entry_id: str) -> bytes:
    def safe(text: str) -> str:
        return escape(XML_ILLEGAL.sub("", text))

    return (
        f"<rss version='2.0'><channel><title>T</title><item><title>{safe(title)}</title>"
        f"<link>{safe(link)}</link><guid>{safe(entry_id)}</guid>"
        f"<description>{safe(content)}</description></item></channel></rss>"
    ).encode()


SITE, _ = load_site(new_site().root)


@EXAMPLES
@given(
    title=words,
    content=words,
    link=st.one_of(st.just("https://remote.example/a/"), words),
    entry_id=words,
    write=st.sampled_from([json_body, rss_body]),
)
def test_any_entry_makes_a_newsletter_that_breaks_out_of_nothing(
    title, content, link, entry_id, write
):
    try:
        entries = parse(write(title, content, link, entry_id), "https://remote.example/f", "")
    except FeedError:
        return
    for entry in entries:
        post = as_post(SITE, KeptEntry("https://remote.example/f", "source:1", "mail", NOW, entry))
        outgoing = for_post(SITE, post, Problems())
        assert outgoing is not None
        MessageTemplate(SITE, outgoing.newsletter, NOW)  # raises on a header it cannot send
        assert_runs_nothing(outgoing.newsletter.html)


def assert_runs_nothing(page: str) -> None:
    """No element that runs or embeds, no handler, no script URL, no style of the feed's."""
    tree = lxml.html.document_fromstring(page)
    assert not tree.xpath("//script | //iframe | //object | //embed | //body//style")
    for element in tree.iter(lxml.etree.Element):
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            assert not value.strip().lower().startswith("javascript:"), (name, value)
