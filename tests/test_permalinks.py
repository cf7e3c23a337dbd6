"""Permalinks match the URLs Jekyll 4 gives the same post."""

from datetime import datetime

import pytest

from publisher.site.permalinks import permalink

DAY = datetime(2018, 2, 4, 9, 5, 7)
SLUG = "review-of-andrew-ngs-course"
CATEGORIES = ["Deep Learning", "ML"]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("date", "/deep%20learning/ml/2018/02/04/review-of-andrew-ngs-course.html"),
        ("pretty", "/deep%20learning/ml/2018/02/04/review-of-andrew-ngs-course/"),
        ("ordinal", "/deep%20learning/ml/2018/035/review-of-andrew-ngs-course.html"),
        ("weekdate", "/deep%20learning/ml/2018/W05/Sun/review-of-andrew-ngs-course.html"),
        ("none", "/deep%20learning/ml/review-of-andrew-ngs-course.html"),
        ("/:year/:i_month/:i_day/:slug/", "/2018/2/4/review-of-andrew-ngs-course/"),
        (
            "/blog/:short_year/:hour:minute:second-:title",
            "/blog/18/090507-review-of-andrew-ngs-course",
        ),
        ("/:slugified_categories/:title/", "/deep-learning/ml/review-of-andrew-ngs-course/"),
    ],
)
def test_permalink_styles(template, expected):
    assert permalink(template, DAY, SLUG, CATEGORIES, "2018-02-04-" + SLUG) == expected


def test_no_categories_leave_no_empty_segment():
    assert permalink("date", DAY, "a", [], "2018-02-04-a") == "/2018/02/04/a.html"


def test_title_keeps_case_and_slug_lowers_it():
    assert permalink("/:title/:slug", DAY, "Hello World!", [], "x") == "/Hello-World!/hello-world"


def test_site_permalink_setting_applies(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com/'\npermalink='pretty'\n")
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    assert site.feed().entries[0].link == "https://example.com/2024/01/01/a/"


def test_baseurl_prefixes_every_link(site):
    site.config("[site]\ntitle='T'\nurl='https://example.com'\nbaseurl='/blog'\n")
    site.post("2024-01-01-a.md", "title: A")
    site.build()
    feed = site.feed()
    assert feed.entries[0].link == "https://example.com/blog/2024/01/01/a.html"
    assert feed.feed.links[0].href == "https://example.com/blog/feed.xml"
