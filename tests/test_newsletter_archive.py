"""The web archive: each newsletter sent has a page anyone may read, with no token or
address in it, an index and a feed, the same bytes on every run."""

import email
import re
import shutil
from email import policy

import feedparser

from tests.helpers import MAIL_CONFIG, subscribe

NOW = "2024-06-01T12:00:00+00:00"
PAGE = "_site/newsletter/2024-05-01-new/index.html"
POST_URL = "https://example.com/2024/05/01/new.html"


def sent_one(site, smtp_sink, config=MAIL_CONFIG):
    """A site whose first publish was its baseline, and whose second mailed one new post."""
    site.config(config)
    site.post("2024-01-01-old.md", "title: Old one")
    subscribe(site, "ann@example.com")
    assert site.run("publish", "--now", NOW).exit_code == 0
    site.post("2024-05-01-new.md", "title: New one", "![A view](img/view.png)\n\nFresh words.")
    result = site.run("publish", "--now", NOW)
    assert result.exit_code == 0, result.output
    return result


def test_a_sent_newsletter_has_a_page_that_links_to_its_post(site, smtp_sink):
    result = sent_one(site, smtp_sink)
    assert "Web archive: 3 files written in _site/newsletter/" in result.output
    page = (site.root / PAGE).read_text()
    assert f'href="{POST_URL}"' in page
    assert "Fresh words." in page


def test_the_page_holds_no_token_and_no_address(site, smtp_sink):
    sent_one(site, smtp_sink)
    for name in (PAGE, "_site/newsletter/index.html", "_site/newsletter/feed.xml"):
        text = (site.root / name).read_text()
        assert "ann@example.com" not in text
        assert "token" not in text and "%%publisher" not in text
        assert "Unsubscribe" not in text


def test_the_message_links_to_its_page(site, smtp_sink):
    sent_one(site, smtp_sink)
    [(_, data)] = smtp_sink.messages
    html = email.message_from_bytes(data, policy=policy.default).get_body(("html",)).get_content()
    link = re.search(r'href="([^"]+)"[^>]*>View in browser', html)[1]
    assert link == "https://example.com/newsletter/2024-05-01-new/"


def test_the_index_and_feed_list_each_newsletter(site, smtp_sink):
    sent_one(site, smtp_sink)
    index = (site.root / "_site/newsletter/index.html").read_text()
    assert 'href="https://example.com/newsletter/2024-05-01-new/"' in index
    feed = feedparser.parse((site.root / "_site/newsletter/feed.xml").read_bytes())
    assert not feed.bozo
    assert [entry.link for entry in feed.entries] == [
        "https://example.com/newsletter/2024-05-01-new/"
    ]


def test_a_fresh_checkout_writes_the_same_bytes(site, smtp_sink):
    sent_one(site, smtp_sink)
    folder = site.root / "_site" / "newsletter"
    before = {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*.*")}
    shutil.rmtree(site.root / "_site")
    result = site.run("publish", "--now", NOW)
    assert result.exit_code == 0, result.output
    after = {path.relative_to(folder): path.read_bytes() for path in folder.rglob("*.*")}
    assert after == before
    assert "Web archive: 0 files" not in site.run("publish", "--now", NOW).output


def test_the_archive_page_links_to_the_sign_up_form(site, smtp_sink):
    config = MAIL_CONFIG.replace("[mail]", '[service]\nurl = "https://news.example.com"\n[mail]')
    sent_one(site, smtp_sink, config)
    page = (site.root / PAGE).read_text()
    assert 'href="https://news.example.com/subscribe"' in page


def test_the_archive_can_be_turned_off(site, smtp_sink):
    config = MAIL_CONFIG.replace("[newsletter]", "[newsletter]\narchive = false")
    result = sent_one(site, smtp_sink, config)
    assert not (site.root / "_site" / "newsletter").exists()
    assert "Web archive" not in result.output
    [(_, data)] = smtp_sink.messages
    assert b"View in browser" not in data


def test_a_preview_writes_its_web_version(letters):
    letters.post("2024-05-01-new.md", "title: New one", "Fresh words.")
    out = letters.root / "preview"
    result = letters.run("newsletter", "posts/2024-05-01-new.md", "--out", str(out))
    web = (out / "web.html").read_text()
    assert "Fresh words." in web and "%%publisher" not in web
    assert "See it in a browser: file://" in result.output
