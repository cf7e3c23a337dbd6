"""The text part as a text-only client shows it: short lines, and each URL once."""

import re

import pytest

MESSAGES = ["bundled", "image_led", "long_word", "portrait", "full_code", "digest"]
URL = re.compile(r"https?://\S+")


@pytest.mark.parametrize("name", MESSAGES)
def test_no_line_is_longer_than_78_but_a_url(craft, name):
    text = (craft[name] / "message.txt").read_text()
    long = [line for line in text.splitlines() if len(line) > 78]
    for line in long:
        assert URL.fullmatch(line.strip()), f"a line of {len(line)} characters: {line!r}"


@pytest.mark.parametrize("name", MESSAGES)
def test_no_line_prints_a_url_twice(craft, name):
    for line in (craft[name] / "message.txt").read_text().splitlines():
        urls = URL.findall(line)
        assert len(urls) == len(set(urls)), line


def test_image_led_text_part_leads_with_words_not_alt_text(craft):
    text = (craft["image_led"] / "message.txt").read_text()
    assert "A river at dawn, and what the light does" in text
    assert "[A river at dawn]" not in text


def test_underlines_are_capped(craft):
    text = (craft["long_word"] / "message.txt").read_text()
    assert max(len(line) for line in text.splitlines() if set(line) == {"="}) <= 76
