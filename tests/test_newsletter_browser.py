"""The newsletter in a real browser: readable at phone and desktop widths, no sideways scroll."""

import pytest

from tests.helpers import SEED, render_newsletter


@pytest.mark.parametrize("width", [375, 600])
def test_newsletter_fits_the_screen(bundled, browser, width):
    preview = render_newsletter(bundled, SEED)
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto((preview.folder / "message.html").as_uri())
    title = page.get_by_role("link", name="Review of Andrew Ng's Deep Learning Specialization")
    assert title.is_visible()
    assert page.get_by_role("link", name="Read the full review").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width
    page.close()


def test_full_post_with_wide_content_fits_a_phone(letters, browser):
    wide = "| " + " | ".join(f"column {n}" for n in range(12)) + " |\n" + "|---" * 12 + "|\n"
    body = f"Intro.\n\n{wide}\n```\n{'x' * 300}\n```\n\nhttps://example.com/{'long' * 40}\n"
    letters.post("2024-01-01-a.md", "title: Wide\nnewsletter_content: full", body)
    preview = render_newsletter(letters, "posts/2024-01-01-a.md")
    page = browser.new_page(viewport={"width": 375, "height": 900})
    page.goto((preview.folder / "message.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.close()
