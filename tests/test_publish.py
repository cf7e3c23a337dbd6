"""`publisher publish`, as a writer's CI runs it: baseline, due posts, hubs, idempotence."""

import json

from tests.helpers import MAIL_CONFIG, serve, subscribe, use_no_smtp_server

NOW = "2024-06-01T12:00:00+00:00"


def publishing(site, hub_url=None, newsletter=""):
    """The mail test site with two old posts and two subscribers; hub and [newsletter] extras."""
    config = MAIL_CONFIG.replace("[mail]", f"{newsletter}\n[mail]")
    if hub_url:
        config = config.replace("[newsletter]", f'hub = ["{hub_url}"]\n\n[newsletter]', 1)
    site.config(config)
    site.post("2024-01-01-old.md", "title: Old one")
    site.post("2024-02-01-older.md", "title: Old two")
    subscribe(site, "ann@example.com", "bob@example.com")
    return site


def publish(site, *args, now=NOW):
    return site.run("publish", "--now", now, *args)


def test_first_run_is_a_baseline(site, smtp_sink):
    publishing(site)
    result = publish(site)
    assert result.exit_code == 0, result.output
    assert (
        "First run: 2 published posts recorded as published before the newsletter started"
        in result.output
    )
    assert not smtp_sink.received
    assert len(site.feed().entries) == 2


def test_a_new_post_is_mailed_once_and_its_feeds_pinged(site, smtp_sink, websub_hub):
    publishing(site, websub_hub.url)
    publish(site)
    websub_hub.pings.clear()
    site.post("2024-05-30-new.md", "title: Brand new\ntags: [Fresh]")
    result = publish(site)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}
    assert "https://example.com/feed.xml" in websub_hub.urls()
    assert "https://example.com/tags/fresh/rss.xml" in websub_hub.urls()
    assert site.feed().entries[0].title == "Brand new"


def test_a_rerun_writes_pings_and_sends_nothing(site, smtp_sink, websub_hub):
    publishing(site, websub_hub.url)
    publish(site)
    site.post("2024-05-30-new.md", "title: Brand new")
    publish(site)
    files = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (site.root / "_site").rglob("*.*")}
    pings = len(websub_hub.pings)
    result = publish(site)
    assert result.exit_code == 0
    assert "Newsletter: nothing due" in result.output
    assert len(websub_hub.pings) == pings
    assert sum(smtp_sink.received.values()) == 2
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files} == files


def test_a_future_post_waits_for_its_date(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-07-01-later.md", "title: Scheduled")
    publish(site)
    assert "Scheduled" not in [e.title for e in site.feed().entries]
    assert not smtp_sink.received
    result = publish(site, now="2024-07-01T06:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert site.feed().entries[0].title == "Scheduled"
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}


def test_an_edited_post_is_not_mailed_again(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: First title")
    publish(site)
    site.post("2024-05-30-new.md", "title: Second title\npermalink: /moved/", "New body.")
    result = publish(site)
    assert "Newsletter: nothing due" in result.output
    assert sum(smtp_sink.received.values()) == 2


def test_posts_marked_newsletter_false_are_not_mailed(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-quiet.md", "title: Quiet\nnewsletter: false")
    publish(site)
    assert not smtp_sink.received
    assert site.feed().entries[0].title == "Quiet"


def test_digest_mode_waits_for_its_period(site, smtp_sink):
    publishing(site, newsletter='mode = "digest"\nperiod = "weekly"')
    publish(site)
    site.post("2024-05-30-a.md", "title: A")
    publish(site)
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}
    site.post("2024-06-02-b.md", "title: B")
    site.post("2024-06-03-c.md", "title: C")
    publish(site, now="2024-06-04T12:00:00+00:00")
    assert sum(smtp_sink.received.values()) == 2
    result = publish(site, now="2024-06-08T12:00:00+00:00")
    assert "C, and 1 more from Test Site" in result.output
    assert sum(smtp_sink.received.values()) == 4


def test_a_failing_or_hanging_hub_is_a_warning(site, smtp_sink, websub_hub, monkeypatch):
    monkeypatch.setattr("publisher.feeds.hubs.TIMEOUT", (1.0, 0.5))
    publishing(site, websub_hub.url)
    publish(site)
    for mode in ("fail", "hang"):
        websub_hub.mode = mode
        site.post(f"2024-05-30-{mode}.md", f"title: {mode}")
        result = publish(site)
        assert result.exit_code == 0, result.output
        assert "warning: hub not notified" in result.output
    assert sum(smtp_sink.received.values()) == 4


def test_deliveries_left_pending_are_finished_by_the_next_run(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: New")
    smtp_sink.rcpt_replies["bob@example.com"] = ["451 4.3.0 later"] * 3
    first = publish(site)
    assert first.exit_code == 3
    second = publish(site)
    assert second.exit_code == 0, second.output
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}


def test_invalid_posts_stop_before_anything_is_written(site, smtp_sink):
    publishing(site)
    site.post("broken.md", "title: [unclosed")
    result = publish(site)
    assert result.exit_code == 1
    assert not (site.root / "_site").exists()
    assert not smtp_sink.received


def test_json_summary_for_ci_logs(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: New")
    result = publish(site, "--json")
    summary = json.loads(result.output)
    assert summary["due_posts"] == ["posts/2024-05-30-new.md"]
    assert summary["newsletters"][0]["sent"] == 2
    assert "feed.xml" in summary["feeds_written"]


def test_dry_run_changes_nothing(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: New")
    result = publish(site, "--dry-run")
    assert "Due for the newsletter: posts/2024-05-30-new.md" in result.output
    assert not smtp_sink.received
    assert "New" not in [e.title for e in site.feed().entries]


def test_each_problem_is_reported_once(site, smtp_sink):
    publishing(site)
    site.post("2024-03-01-odd.md", "title: Odd", "Caf\u00c3\u00a9 time.")
    result = publish(site)
    assert result.output.count("repaired mojibake") == 1


def test_each_hub_gets_one_ping_with_every_changed_feed(site, smtp_sink, websub_hub):
    publishing(site, websub_hub.url)
    publish(site)
    websub_hub.pings.clear()
    site.post("2024-05-30-new.md", "title: Brand new\ntags: [Fresh, Other]")
    publish(site)
    assert len(websub_hub.pings) == 1
    assert len(websub_hub.urls()) > 3


def test_a_ping_that_failed_goes_out_with_the_next_run(site, smtp_sink, websub_hub):
    publishing(site, websub_hub.url)
    publish(site)
    websub_hub.mode = "fail"
    site.post("2024-05-30-new.md", "title: Brand new")
    assert "warning: hub not notified" in publish(site).output
    websub_hub.mode = "ok"
    websub_hub.pings.clear()
    result = publish(site)
    assert result.exit_code == 0, result.output
    assert "https://example.com/feed.xml" in websub_hub.urls()
    websub_hub.pings.clear()
    publish(site)
    assert not websub_hub.pings


def test_hanging_hubs_take_a_bounded_time_together(site, smtp_sink, monkeypatch):
    import time

    from tests.helpers import Hub

    monkeypatch.setattr("publisher.feeds.hubs.TIMEOUT", (1.0, 1.0))
    monkeypatch.setattr("publisher.feeds.hubs.DEADLINE", 3.0)
    servers = []
    for _ in range(3):
        hub = Hub()
        hub.mode = "hang"
        servers.append(serve(hub))
    hubs = ", ".join(f'"{hub.url}"' for hub in servers)
    site.config(MAIL_CONFIG.replace("[newsletter]", f"hub = [{hubs}]\n\n[newsletter]", 1))
    site.post("2024-01-01-old.md", "title: Old one")
    started = time.monotonic()
    result = publish(site)
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 8
    assert result.output.count("warning: hub not notified") == 3


def test_moving_the_site_to_another_domain_mails_nothing_again(site, smtp_sink):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: New")
    publish(site)
    site.config(MAIL_CONFIG.replace("https://example.com", "https://moved.example.org"))
    result = publish(site)
    assert result.exit_code == 0, result.output
    assert "Newsletter: nothing due" in result.output
    assert sum(smtp_sink.received.values()) == 2


def test_ids_that_all_changed_are_refused_unless_confirmed(site, smtp_sink):
    publishing(site)
    publish(site)
    for path in (site.root / "posts").iterdir():
        path.rename(path.with_name(path.name.replace("-old", "-renamed")))
    result = publish(site)
    assert result.exit_code == 1
    assert "none of the 2 published posts is one the state knows" in result.output
    assert not smtp_sink.received
    confirmed = publish(site, "--new-ids")
    assert confirmed.exit_code == 0, confirmed.output
    assert smtp_sink.received == {"ann@example.com": 2, "bob@example.com": 2}


def test_a_stopped_run_says_why_in_its_summary(site, monkeypatch):
    publishing(site)
    publish(site)
    site.post("2024-05-30-new.md", "title: New")
    use_no_smtp_server(monkeypatch)
    result = publish(site)
    assert result.exit_code == 4
    assert "Stopped: could not reach the mail server 3 times in a row" in result.output
    assert "Connection refused" in result.output
