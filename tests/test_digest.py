"""Digests: several posts in one email, newest first, summaries only."""

import re

from tests.helpers import render_newsletter


def three_posts(site):
    for day in (1, 2, 3):
        site.post(
            f"2024-01-0{day}-p{day}.md", f"title: Post {day}", f"Summary of post {day}.\n\nMore."
        )


def test_digest_lists_posts_newest_first(letters):
    three_posts(letters)
    preview = render_newsletter(letters, "--digest")
    assert "Subject: Post 3, and 2 more from Test Site" in preview.result.output
    titles = re.findall(r'<h2 class="digest-title"[^>]*><a [^>]*>([^<]+)</a>', preview.html)
    assert titles == ["Post 3", "Post 2", "Post 1"]
    assert "Summary of post 2." in preview.text
    assert "More." not in preview.html


def test_digest_since_a_date(letters):
    three_posts(letters)
    preview = render_newsletter(letters, "--digest", "--since", "2024-01-02")
    assert "Subject: Post 3, and 1 more from Test Site" in preview.result.output


def test_digest_of_the_last_n(letters):
    three_posts(letters)
    preview = render_newsletter(letters, "--digest", "--last", "1")
    assert "Subject: Post 3, from Test Site" in preview.result.output
    assert "Post 3" in preview.html


def test_digest_leaves_out_drafts_and_future_posts(letters):
    three_posts(letters)
    letters.post("2024-01-04-draft.md", "title: Draft\npublished: false")
    letters.post("2030-01-01-later.md", "title: Later")
    preview = render_newsletter(letters, "--digest", "--now", "2025-01-01")
    assert "Draft" not in preview.html
    assert "Later" not in preview.html


def test_a_long_digest_stays_under_the_clipping_limit(letters):
    summary = "A long summary sentence for the digest. " * 30
    for number in range(150):
        letters.post(f"2024-01-01-p{number:03}.md", f"title: Post {number}", summary)
    preview = render_newsletter(letters, "--digest", "--last", "150")
    assert len(preview.html.encode()) < 100_000
    assert re.search(r"And \d+ more on Test Site", preview.html)
    assert "Unsubscribe" in preview.html
