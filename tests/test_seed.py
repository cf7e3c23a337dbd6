"""The first real post, through to every feed format as readers see it."""

import json

from tests.helpers import SEED_SUMMARY, SEED_URL, parse_feed


def test_seed_post_in_atom(bundled):
    bundled.build()
    entry = parse_feed(bundled.output("feed.xml")).entries[0]
    assert entry.title == "Review of Andrew Ng's Deep Learning Specialization"
    assert entry.link == SEED_URL
    assert entry.summary.startswith(f"<p>{SEED_SUMMARY}")
    assert [tag.term for tag in entry.tags] == ["Deep Learning", "Education", "Review"]
    assert entry.published == "2018-02-04T00:00:00-05:00"


def test_seed_post_in_rss(bundled):
    bundled.build()
    entry = parse_feed(bundled.output("rss.xml")).entries[0]
    assert entry.link == SEED_URL
    assert SEED_SUMMARY in entry.summary
    assert "The not so Good" in entry.content[0].value
    assert entry.author == "The Author"


def test_seed_post_in_json_feed(bundled):
    bundled.build()
    item = json.loads(bundled.output("feed.json").read_text(encoding="utf-8"))["items"][0]
    assert item["url"] == SEED_URL
    assert item["summary"].startswith(SEED_SUMMARY)
    assert item["tags"] == ["Deep Learning", "Education", "Review"]


def test_seed_mojibake_is_repaired_everywhere(bundled):
    result = bundled.build()
    assert "repaired mojibake 'ðŸ˜…' to '😅'" in result.output
    assert ":22: warning" in result.output
    for name in ("feed.xml", "rss.xml", "feed.json"):
        text = bundled.output(name).read_text(encoding="utf-8")
        assert "free time 😅." in text
        assert "ðŸ" not in text


def test_seed_headings_get_kramdown_ids(bundled):
    bundled.build()
    content = parse_feed(bundled.output("feed.xml")).entries[0].content[0].value
    for anchor in ("the-good", "the-not-so-good", "overall"):
        assert f'id="{anchor}"' in content


def test_seed_source_is_left_as_written(bundled):
    bundled.build()
    assert "ðŸ˜…" in next((bundled.root / "posts").glob("*.md")).read_text(encoding="utf-8")


def test_seed_category_and_tag_feeds(bundled):
    bundled.build()
    for folder in ("categories/deep-learning", "tags/education", "tags/review"):
        feed = parse_feed(bundled.output(f"{folder}/feed.xml"))
        assert feed.entries[0].link == SEED_URL
        assert feed.feed.links[0].href == f"https://blog.example.com/{folder}/feed.xml"
