"""Remote feeds as the newsletter's posts, fetched from a real HTTP server on 127.0.0.1 whose
feeds change between runs: each new entry is mailed once, and nothing else ever is."""

import pytest

from tests.helpers import Item, atom, json_feed, mail_to, rss, sources_config

NOW = "2026-12-01T12:00:00Z"
LATER = "2026-12-01T13:00:00Z"


def full_content_config(feeds):
    """The `remote` site's settings, sending each entry whole."""
    return sources_config(feeds.url("/feed.xml"), newsletter='content = "full"')


def publish(site, *args, now=NOW):
    return site.run("publish", "--now", now, *args)


def subjects(site, email="ann@example.com"):
    return [message["Subject"] for message in mail_to(site, email)]


def test_the_first_fetch_is_a_baseline_and_mails_nothing(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1), Item(2)]))
    result = publish(remote)
    assert result.exit_code == 0, result.output
    assert "2 recorded as already out (first fetch)" in result.output
    assert subjects(remote) == []


def test_a_new_entry_is_mailed_once(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1), Item(2)]))
    publish(remote)
    feeds.answer("/feed.xml", rss([Item(1), Item(2), Item(3, "A new one")]))
    result = publish(remote)
    assert result.exit_code == 0, result.output
    assert "1 for the newsletter" in result.output
    assert publish(remote, now=LATER).exit_code == 0
    assert subjects(remote) == ["A new one"]
    assert subjects(remote, "bob@example.com") == ["A new one"]


def test_an_unchanged_feed_is_a_304_round_trip(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    result = publish(remote, now=LATER)
    first, second = feeds.hits("/feed.xml")
    assert "If-None-Match" not in first
    assert second["If-None-Match"].startswith('"')
    assert second["If-Modified-Since"] == "Mon, 02 Nov 2026 10:00:00 GMT"
    assert "Source Remote: not modified" in result.output


def test_the_user_agent_names_publisher_and_the_site(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    agent = feeds.hits("/feed.xml")[0]["User-Agent"]
    assert agent.startswith("publisher/")
    assert "https://example.com/" in agent


def test_ids_rewritten_wholesale_mail_nothing_again(remote, feeds):
    items = [Item(n) for n in range(1, 6)]
    feeds.answer("/feed.xml", rss(items))
    publish(remote)
    for item in items:
        item.id = f"urn:new-cms:{item.number}"
    feeds.answer("/feed.xml", rss(items))
    result = publish(remote, now=LATER)
    assert result.exit_code == 0, result.output
    assert "5 known under a new id" in result.output
    feeds.answer("/feed.xml", rss([*items, Item(6, "After the move")]))
    publish(remote, now="2026-12-01T14:00:00Z")
    assert subjects(remote) == ["After the move"]


def test_an_old_entry_republished_is_recorded_not_mailed_and_reported(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(20), Item(21)]))
    publish(remote)
    feeds.answer("/feed.xml", rss([Item(20), Item(21), Item(2, "From the archive")]))
    result = publish(remote, now=LATER)
    assert result.exit_code == 0, result.output
    assert "'From the archive' (2026-11-03) is new to publisher but older" in result.output
    assert "1 older, recorded and not mailed" in result.output
    assert subjects(remote) == []


def test_an_entry_older_than_the_feeds_tenth_newest_is_not_mailed(remote, feeds):
    items = [Item(n) for n in range(10, 22)]
    feeds.answer("/feed.xml", rss(items[:1]))
    publish(remote)
    # Entry 11 is within 7 days of the newest seen, but the 11th newest the feed holds now.
    feeds.answer("/feed.xml", rss(items))
    publish(remote, now=LATER)
    assert sorted(subjects(remote)) == sorted(f"Entry {n}" for n in range(12, 22))


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"status": 500}, "500 Internal Server Error (3 tries)"),
        ({"delay": 1.5}, "no answer within 0.3 s (3 tries)"),
        ({"body": "<rss version='2.0'><channel><item><title>x</channel>"}, "not well-formed"),
        ({"body": "<html><body>Moved to a new blog</body></html>"}, "not an RSS, Atom or JSON"),
        ({"status": 404}, "404 Not Found"),
        ({"body": "<rss>" + " " * 21 * 2**20}, "the feed is over 20 MB"),
    ],
    ids=["500", "timeout", "malformed", "not-a-feed", "404", "too-big"],
)
def test_a_failed_fetch_changes_nothing(remote, feeds, answer, says):
    remote.config(sources_config(feeds.url("/feed.xml"), extra="timeout = 0.3\n"))
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    body = answer.pop("body", "")
    feeds.answer("/feed.xml", body, **answer)
    failed = publish(remote, now=LATER)
    assert says in failed.output
    assert "nothing changed" in failed.output
    feeds.answer("/feed.xml", rss([Item(1), Item(2, "Back again")]))
    publish(remote, now="2026-12-01T14:00:00Z")
    assert subjects(remote) == ["Back again"]


def test_a_passing_failure_warns_and_one_that_lasts_fails_the_run(remote, feeds):
    remote.config(sources_config(feeds.url("/feed.xml"), extra="timeout = 0.3\n"))
    feeds.answer("/feed.xml", status=503)
    assert publish(remote).exit_code == 0
    feeds.answer("/feed.xml", "<html>not a feed</html>", content_type="text/html")
    assert publish(remote, now=LATER).exit_code == 5


def test_an_empty_feed_deletes_nothing(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1), Item(2)]))
    publish(remote)
    feeds.answer("/feed.xml", rss([]))
    publish(remote, now=LATER)
    feeds.answer("/feed.xml", rss([Item(1), Item(2)]))
    publish(remote, now="2026-12-01T14:00:00Z")
    assert subjects(remote) == []


def test_a_permanent_redirect_updates_the_url_and_is_reported(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    feeds.answer("/feed.xml", status=301, headers={"Location": feeds.url("/new.xml")})
    feeds.answer("/new.xml", rss([Item(1), Item(2, "At the new address")]))
    moved = publish(remote, now=LATER)
    assert f"moved permanently to {feeds.url('/new.xml')}" in moved.output
    assert subjects(remote) == ["At the new address"]
    publish(remote, now="2026-12-01T14:00:00Z")
    assert len(feeds.hits("/feed.xml")) == 2
    assert len(feeds.hits("/new.xml")) == 2
    listing = remote.run("sources")
    assert f"fetched from {feeds.url('/new.xml')}" in listing.output


def test_a_temporary_redirect_keeps_the_url(remote, feeds):
    feeds.answer("/feed.xml", status=302, headers={"Location": feeds.url("/today.xml")})
    feeds.answer("/today.xml", rss([Item(1)]))
    publish(remote)
    publish(remote, now=LATER)
    assert len(feeds.hits("/feed.xml")) == 2


def test_a_410_stops_polling_with_an_error(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    feeds.answer("/feed.xml", status=410)
    gone = publish(remote, now=LATER)
    assert gone.exit_code == 5
    assert "gone (410): it is not fetched again" in gone.output
    again = publish(remote, now="2026-12-01T14:00:00Z")
    assert again.exit_code == 5
    assert "was gone when last fetched" in again.output
    assert len(feeds.hits("/feed.xml")) == 2
    assert "next fetch: never" in remote.run("sources").output


def test_a_429_is_not_fetched_again_before_retry_after(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    feeds.answer("/feed.xml", status=429, headers={"Retry-After": "7200"})
    waited = publish(remote, now=LATER)
    assert waited.exit_code == 0
    assert "asked to wait until 2026-12-01 15:00 UTC" in waited.output
    feeds.answer("/feed.xml", rss([Item(1), Item(2, "Patience")]))
    publish(remote, now="2026-12-01T14:00:00Z")
    assert len(feeds.hits("/feed.xml")) == 2
    assert "not before 2026-12-01 15:00 UTC" in remote.run("sources", "--now", LATER).output
    publish(remote, now="2026-12-01T15:01:00Z")
    assert subjects(remote) == ["Patience"]


def test_relative_links_and_images_are_made_absolute(remote, feeds):
    content = '<p>See <a href="../other/">this</a>.</p><p><img src="pics/a.png" alt="A"></p>'
    feeds.answer("/feed.xml", rss([Item(1)], base="https://remote.example/blog/"))
    publish(remote)
    items = [Item(1), Item(2, "Links", link="posts/2/", content=content)]
    feeds.answer("/feed.xml", rss(items, base="https://remote.example/blog/"))
    remote.config(full_content_config(feeds))
    publish(remote, now=LATER)
    html = mail_to(remote, "ann@example.com")[0].get_body(("html",)).get_content()
    assert 'href="https://remote.example/other/"' in html
    assert 'src="https://remote.example/blog/pics/a.png"' in html
    assert 'href="https://remote.example/blog/posts/2/"' in html


@pytest.mark.parametrize(
    ("write", "content_type"),
    [
        (rss, "application/rss+xml"),
        (atom, "application/atom+xml"),
        (json_feed, "application/feed+json"),
    ],
    ids=["rss", "atom", "json"],
)
def test_each_feed_format_mails_its_new_entry(remote, feeds, write, content_type):
    feeds.answer("/feed.xml", write([Item(1)]), content_type=content_type)
    publish(remote)
    feeds.answer("/feed.xml", write([Item(1), Item(2, "Second")]), content_type=content_type)
    publish(remote, now=LATER)
    [message] = mail_to(remote, "ann@example.com")
    assert message["Subject"] == "Second"
    text = message.get_body(("plain",)).get_content()
    assert "The words of entry 2." in text
    assert "https://remote.example/posts/2/" in text


def test_a_gzipped_feed_is_read(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]), gzip=True)
    result = publish(remote)
    assert "Source Remote: 1 entries" in result.output
    assert "gzip" in feeds.hits("/feed.xml")[0]["Accept-Encoding"]


def test_scripts_are_removed_and_embeds_become_links(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    content = (
        "<p onclick='steal()'>Hi</p><script>steal()</script>"
        '<iframe src="https://www.youtube.com/embed/dQw4w9WgXcQ"></iframe>'
        '<p><a href="javascript:steal()">bad</a><img src="x.png" onerror="steal()"></p>'
    )
    remote.config(full_content_config(feeds))
    feeds.answer("/feed.xml", rss([Item(1), Item(2, content=content)]))
    publish(remote, now=LATER)
    html = mail_to(remote, "ann@example.com")[0].get_body(("html",)).get_content()
    assert "steal" not in html
    assert "<script" not in html
    assert "<iframe" not in html
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ" in html


def test_a_hostile_title_is_one_plain_line(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    title = "Hi\r\nBcc: victim@example.org\u2028=?utf-8?q?x?= <b>bold</b>"
    feeds.answer("/feed.xml", rss([Item(1), Item(2, title)]))
    result = publish(remote, now=LATER)
    assert result.exit_code == 0, result.output
    [message] = mail_to(remote, "ann@example.com")
    assert message["Bcc"] is None
    assert message["Subject"] == "Hi Bcc: victim@example.org bold"
    assert "<b>bold" not in message.get_body(("html",)).get_content()


def test_a_dry_run_fetches_says_what_is_due_and_records_nothing(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    feeds.answer("/feed.xml", rss([Item(1), Item(2, "Due")]))
    dry = publish(remote, "--dry-run", now=LATER)
    assert dry.exit_code == 0, dry.output
    assert "Due for the newsletter: Remote: https://remote.example/posts/2/" in dry.output
    assert subjects(remote) == []
    publish(remote, now=LATER)
    assert subjects(remote) == ["Due"]


def test_check_fetches_only_when_asked(remote, feeds):
    feeds.answer("/feed.xml", "<rss version='2.0'><channel><item>", content_type="text/xml")
    assert remote.run("check").exit_code == 0
    assert feeds.hits("/feed.xml") == []
    checked = remote.run("check", "--fetch")
    assert checked.exit_code == 1
    assert "not well-formed XML" in checked.output
    assert remote.run("sources").output.count("never fetched") == 1


def test_send_mails_an_entry_on_purpose(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1, "Wanted after all"), Item(2)]))
    publish(remote)
    sent = remote.run("send", "https://remote.example/posts/1/", "--now", LATER)
    assert sent.exit_code == 0, sent.output
    assert subjects(remote) == ["Wanted after all"]
    again = remote.run("send", "https://remote.example/posts/1/", "--now", LATER)
    assert again.exit_code == 0, again.output
    assert subjects(remote) == ["Wanted after all"]


def test_a_digest_holds_entries_of_every_source_and_the_sites_posts(remote, feeds):
    digest = 'mode = "digest"\nperiod = "daily"'
    remote.config(sources_config(feeds.url("/a.xml"), feeds.url("/b.xml"), newsletter=digest))
    remote.post("2026-11-01-local.md", "title: Our own\ndate: 2026-11-01")
    feeds.answer("/a.xml", rss([Item(1)]))
    feeds.answer("/b.xml", atom([Item(1, id="b1")]))
    publish(remote)
    remote.post("2026-12-01-local.md", "title: Our new one\ndate: 2026-12-01 09:00")
    feeds.answer("/a.xml", rss([Item(1), Item(28, "From A")]))
    feeds.answer("/b.xml", atom([Item(1, id="b1"), Item(29, "From B", id="b2")]))
    publish(remote, now=LATER)
    [digest] = mail_to(remote, "ann@example.com")
    text = digest.get_body(("plain",)).get_content()
    assert digest["Subject"] == "Our new one, and 2 more from Test Site"
    assert text.index("Our new one") < text.index("From B") < text.index("From A")


def test_sources_lists_each_fetch_and_what_waits(remote, feeds):
    assert "never fetched" in remote.run("sources").output
    feeds.answer("/feed.xml", rss([Item(1), Item(2)]))
    publish(remote)
    listing = remote.run("sources")
    assert listing.exit_code == 0, listing.output
    assert "last fetch: 2026-12-01 12:00 UTC, ok" in listing.output
    assert "2 entries seen: 0 mailed, 0 waiting for the newsletter, 2 from before" in (
        listing.output
    )
    assert "next fetch: at the next publish" in listing.output


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('feed = "ftp://example.org/feed"', "is not an http(s) URL"),
        ('feed = "https://example.org/feed"\nfrequency = 3', "unknown setting sources.frequency"),
        ('feed = "https://example.org/feed"\ntimeout = 0', "timeout must be more than 0"),
    ],
)
def test_a_bad_source_is_refused_with_its_line(site, table, says):
    site.config(sources_config().replace("[mail]", f"[[sources]]\n{table}\n\n[mail]"))
    result = site.run("check")
    assert result.exit_code == 1
    assert says in result.output


def test_writing_the_new_address_in_the_config_keeps_what_was_seen(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    feeds.answer("/feed.xml", status=308, headers={"Location": feeds.url("/new.xml")})
    feeds.answer("/new.xml", rss([Item(1), Item(2, "Moved")]))
    publish(remote, now=LATER)
    remote.config(sources_config(feeds.url("/new.xml")))
    feeds.answer("/new.xml", rss([Item(1), Item(2, "Moved"), Item(3, "Settled")]))
    result = publish(remote, now="2026-12-01T14:00:00Z")
    assert "first fetch" not in result.output
    assert subjects(remote) == ["Moved", "Settled"]


def test_a_source_taken_out_mails_nothing_more(remote, feeds):
    config = sources_config(feeds.url("/feed.xml"), newsletter='mode = "digest"\nperiod = "weekly"')
    remote.config(config)
    remote.post("2026-11-01-local.md", "title: Ours\ndate: 2026-11-01")
    feeds.answer("/feed.xml", rss([Item(1)]))
    remote.run("send", "--digest", "--now", NOW)  # this week's digest is out
    publish(remote)
    feeds.answer("/feed.xml", rss([Item(1), Item(2, "Waiting for the digest")]))
    publish(remote, now=LATER)
    remote.config(config.split("[[sources]]")[0])
    result = publish(remote, now="2026-12-09T12:00:00Z")
    assert result.exit_code == 0, result.output
    assert "Waiting for the digest" not in "".join(subjects(remote))


def test_a_podcast_episode_links_its_audio(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1)]))
    publish(remote)
    episode = rss([Item(1), Item(2, "Episode 2")]).replace(
        "</description></item>",
        '</description><enclosure url="/audio/2.mp3" length="35651584" type="audio/mpeg"/></item>',
        1,
    )
    feeds.answer("/feed.xml", episode)
    remote.config(full_content_config(feeds))
    publish(remote, now=LATER)
    text = mail_to(remote, "ann@example.com")[0].get_body(("plain",)).get_content()
    assert "Listen (audio/mpeg, 34 MB)" in text
    assert "https://remote.example/audio/2.mp3" in text


def test_a_new_entry_is_mailed_once_with_the_state_in_postgresql(remote, feeds, on_postgres):
    from tests.helpers import subscribe

    subscribe(remote, "ann@example.com")
    feeds.answer("/feed.xml", rss([Item(1)]))
    assert publish(remote).exit_code == 0
    feeds.answer("/feed.xml", rss([Item(1), Item(2, "On PostgreSQL")]))
    assert publish(remote, now=LATER).exit_code == 0
    assert publish(remote, now="2026-12-01T14:00:00Z").exit_code == 0
    assert subjects(remote) == ["On PostgreSQL"]


def test_the_web_archive_keeps_the_pages_of_mailed_entries(remote, feeds):
    feeds.answer("/feed.xml", rss([Item(1, "Baseline entry"), Item(2)]))
    publish(remote)
    feeds.answer("/feed.xml", rss([Item(1, "Baseline entry"), Item(2), Item(3, "Mailed entry")]))
    publish(remote, now=LATER)
    remote.run("send", "https://remote.example/posts/1/", "--now", LATER)
    index = remote.output("newsletter/index.html").read_text()
    assert "Mailed entry" in index
    assert "Baseline entry" in index
    assert remote.output("newsletter/2026-11-04-mailed-entry/index.html").is_file()
