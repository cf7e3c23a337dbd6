"""`publisher state copy`: a whole state moves to PostgreSQL and back, every row kept."""

import sqlite3
from datetime import timedelta

import psycopg

from publisher.mail.status import DeliveryStatus, SubscriberStatus
from publisher.mail.store import Limit, NewSubscriber, StoredNewsletter, open_state
from publisher.mail.store.queries import COPIED_TABLES
from tests.helpers import MAIL_CONFIG, NOW, polled_source


def fill(store) -> None:
    """Subscribers in every status, two newsletters with deliveries in every status, the
    baseline, a hub's pings, a waiting sign-up, a rate limit's counter and a remote feed
    with an entry."""
    statuses = list(DeliveryStatus)
    store.add_subscribers(NewSubscriber(f"user{n}@example.com", f"User {n}") for n in range(8))
    for key in ("post:2024-01-01:hello", "post:2024-01-02:again"):
        newsletter = store.record_newsletter(
            key, StoredNewsletter(key, f"<p>{key}</p>", key), [key[5:]], NOW
        )
        for n, status in enumerate(statuses):
            store.set_delivery(newsletter, n + 1, status, f"reply {n}", attempted=True)
    store.finish_newsletter(1)
    store.set_subscriber_status(7, SubscriberStatus.UNSUBSCRIBED)
    store.set_subscriber_status(8, SubscriberStatus.BOUNCED)
    store.record_baseline(["2023-12-01:old"], NOW)
    store.record_pinged("https://hub.example.com/", {"/feed.xml": "stamp"})
    store.offer_signup(
        "new@example.com",
        "New",
        now=NOW,
        resend_after=NOW,
        expire_before=NOW - timedelta(days=7),
        max_pending=10,
    )
    store.count_hits([Limit("network:198.51.100.0/24", 10, 3600)], now=1e10)
    store.record_polls([polled_source(NOW)])


def sqlite_rows(path) -> dict[str, list[tuple]]:
    with sqlite3.connect(path) as db:
        return {
            table: sorted(db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
            for table, columns in COPIED_TABLES.items()
        }


def postgres_rows(url) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as db:
        return {
            table: sorted(db.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall())
            for table, columns in COPIED_TABLES.items()
        }


def test_a_state_copied_to_postgresql_and_back_keeps_every_row(site, database_url, monkeypatch):
    site.config(MAIL_CONFIG)
    state = site.root / ".publisher" / "state.db"
    original = open_state(str(state), site.root)
    fill(original)
    original.close()
    before = sqlite_rows(state)
    assert all(before.values())

    result = site.run("state", "copy", "--to", database_url)
    assert result.exit_code == 0, result.output
    assert "subscribers 8, newsletters 2, newsletter_posts 2, deliveries 16" in result.output
    assert postgres_rows(database_url) == before

    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    back = site.root / "back.db"
    result = site.run("state", "copy", "--to", str(back))
    assert result.exit_code == 0, result.output
    assert sqlite_rows(back) == before


def test_a_copied_state_goes_on_with_new_ids(site, database_url, monkeypatch):
    site.config(MAIL_CONFIG)
    original = open_state(str(site.root / ".publisher" / "state.db"), site.root)
    fill(original)
    original.close()
    assert site.run("state", "copy", "--to", database_url).exit_code == 0
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", database_url)
    assert site.run("subscribers", "add", "later@example.com").exit_code == 0
    listed = site.run("subscribers", "list").output.splitlines()
    assert len(listed) == 9 and listed[-1].startswith("later@example.com\tactive")


def test_a_target_that_is_not_empty_is_refused_and_kept(site, database_url):
    site.config(MAIL_CONFIG)
    target = open_state(database_url, site.root)
    target.add_subscribers([NewSubscriber("theirs@example.com")])
    target.close()
    site.run("subscribers", "add", "ours@example.com")
    result = site.run("state", "copy", "--to", database_url)
    assert result.exit_code != 0
    assert "is not empty" in result.output
    assert "Traceback" not in result.output
    assert [row[0] for row in postgres_rows(database_url)["subscribers"]] == [1]
