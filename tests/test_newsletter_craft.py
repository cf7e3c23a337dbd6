"""The newsletter as an email designer checks it, in headless Chromium: at phone and desktop
widths, light and dark, for posts that open with an image, long words, portrait images, code,
and a digest of five."""

import pytest

from tests.helpers import CONTRAST_SCRIPT, png

WIDTHS = [375, 600]
SCHEMES = ["light", "dark"]
# The text whose contrast matters: body text, links, code, titles, the button.
READ = (
    ".lead p, .lead a, .content p, .content a, .content code, .content pre, "
    ".title a, .digest-title a, .meta, .footer p, .button, .intro p"
)
IMAGES = {
    "wide.png": png(1600, 900),
    "tall.png": png(1000, 1600),
}


def open_message(browser, preview, width: int, scheme: str):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
    page.route(
        "**/*.png",
        lambda route: route.fulfill(
            body=IMAGES.get(route.request.url.rsplit("/", 1)[-1], png(40, 40)),
            content_type="image/png",
        ),
    )
    page.goto((preview / "message.html").as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.fixture(scope="module", params=[(w, s) for w in WIDTHS for s in SCHEMES], ids=str)
def screen(request):
    return request.param


@pytest.mark.parametrize(
    "name", ["bundled", "image_led", "long_word", "portrait", "full_code", "digest"]
)
def test_message_reads_well(browser, craft, screen, name):
    width, scheme = screen
    page = open_message(browser, craft[name], width, scheme)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        card = page.locator(".container").bounding_box()
        for image in page.locator("img").all():
            box = image.bounding_box()
            assert box and box["width"] > 0, "an image did not load"
            assert (
                card["x"] - 0.5 <= box["x"]
                and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
            )
        for button in page.locator(".button").all():
            assert button.is_visible()
            assert button.bounding_box()["height"] >= 36
        low = [
            (what, round(ratio, 2))
            for what, ratio in page.evaluate(CONTRAST_SCRIPT, READ)
            if ratio < 4.5
        ]
        assert not low, f"text below 4.5:1 in {scheme} mode: {low}"
    finally:
        page.close()


def test_portrait_image_is_bounded_in_height(browser, craft):
    page = open_message(browser, craft["portrait"], 600, "light")
    try:
        hero = page.locator("img.hero").bounding_box()
        assert hero["height"] <= 480
        assert abs(hero["width"] / hero["height"] - 1000 / 1600) < 0.02
    finally:
        page.close()


def test_image_led_post_shows_its_image_once(craft):
    html = (craft["image_led"] / "message.html").read_text()
    assert html.count("wide.png") == 1
    assert "A river at dawn" in html.split('class="preheader"', 1)[1].split("</div>", 1)[0]
