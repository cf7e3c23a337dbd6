"""The whole loop in headless Chromium: README's form on a blog's page signs a reader up, the
link mailed to them confirms, the next newsletter reaches them, and its link unsubscribes."""

import functools
import http.server
import re
import threading

import pytest

from tests.helpers import ROOT, SECRET, Service, link_in, mail_to, wait_for

READER = "reader@example.org"


def readme_form() -> str:
    """The sign-up form README tells a blog to embed."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Sign-up service", 1)[1]
    return re.search(r"```html\n(.*?)```", section, re.S).group(1)


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_page(folder, body: str) -> http.server.ThreadingHTTPServer:
    """A page at /index.html on an origin of its own (another port of 127.0.0.1)."""
    folder.mkdir()
    (folder / "index.html").write_text(f"<!DOCTYPE html><title>Blog</title>{body}")
    handler = functools.partial(Quiet, directory=folder)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.origin = f"http://127.0.0.1:{server.server_address[1]}"
    return server


@pytest.fixture
def blog(tmp_path):
    """The blog's origin; its page is written once the service's address is known."""
    server = serve_page(tmp_path / "blog", "")
    yield server
    server.shutdown()


@pytest.fixture
def signups(site, blog, monkeypatch, tmp_path):
    """The service, taking forms from the blog's origin, and the blog's page holding README's
    form, pointed at it."""
    monkeypatch.setenv("PUBLISHER_SECRET", SECRET)
    running = Service(site, origins=(blog.origin,))
    form = readme_form().replace("https://news.example.com", running.url)
    (tmp_path / "blog" / "index.html").write_text(f"<!DOCTYPE html><title>Blog</title>{form}")
    yield running
    running.stop()


def test_a_reader_signs_up_confirms_gets_the_newsletter_and_unsubscribes(signups, blog, browser):
    page = browser.new_page()
    page.goto(f"{blog.origin}/index.html")
    page.get_by_label("Email address").fill(READER)
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    assert signups.status(READER) is None

    page.goto(signups.confirm_link(READER))
    assert signups.status(READER) is None
    page.get_by_role("button", name="Confirm my subscription").click()
    assert page.get_by_role("heading", name="You are subscribed").is_visible()
    assert signups.status(READER) == "active"

    signups.site.post("2024-03-01-news.md", "title: News", "The summary.")
    assert signups.site.run("send", "posts/2024-03-01-news.md").exit_code == 0
    newsletter = wait_for(
        lambda: [m for m in mail_to(signups.site, READER) if m["Subject"] == "News"]
    )
    page.goto(link_in(newsletter[0], "/unsubscribe?"))
    assert signups.status(READER) == "active"
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="You are unsubscribed").is_visible()
    assert signups.status(READER) == "unsubscribed"
    page.close()


def test_the_form_on_a_site_not_allowed_is_refused(signups, tmp_path, browser):
    stranger = serve_page(
        tmp_path / "stranger", readme_form().replace("https://news.example.com", signups.url)
    )
    page = browser.new_page()
    page.goto(f"{stranger.origin}/index.html")
    page.get_by_label("Email address").fill(READER)
    page.get_by_role("button", name="Subscribe").click()
    assert page.get_by_text("can only be sent from the site's own pages").is_visible()
    assert signups.store.pending_signups() == 0 and mail_to(signups.site, READER) == []
    page.close()
    stranger.shutdown()
