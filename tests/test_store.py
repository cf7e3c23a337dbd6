"""The state file: older schemas are brought up to date and keep what they hold."""

import sqlite3

from publisher.mail.status import DeliveryStatus
from publisher.mail.store import NewSubscriber, open_state
from publisher.mail.store.sqlite import MIGRATIONS
from tests.helpers import LETTER, MAIL_CONFIG, NOW


def test_a_state_from_the_first_schema_is_migrated_and_keeps_its_subscribers(site):
    site.config(MAIL_CONFIG)
    site.post("2024-01-01-hello.md", "title: Hello")
    state = site.root / ".publisher" / "state.db"
    state.parent.mkdir()
    old = sqlite3.connect(state)
    old.executescript(MIGRATIONS[0])
    old.execute(
        "INSERT INTO subscribers (email, email_key, name, status, created_at, updated_at) "
        "VALUES ('ann@example.com', 'ann@example.com', 'Ann', 'active', '2024-01-01', "
        "'2024-01-01')"
    )
    old.execute("PRAGMA user_version = 1")
    old.commit()
    old.close()
    assert site.run("subscribers", "list").output == "ann@example.com\tactive\tAnn\n"
    result = site.run("publish")
    assert result.exit_code == 0, result.output
    assert "First run: 1 published post recorded" in result.output
    migrated = sqlite3.connect(state)
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert migrated.execute("SELECT post_id FROM baseline").fetchall() != []


def test_a_hand_over_begun_is_written_only_when_the_message_goes(tmp_path):
    """On SQLite, so that a run killed while a message's data goes out leaves no "sending"
    for a message the server never got."""
    store = open_state(str(tmp_path / "state.db"), tmp_path)
    store.add_subscribers([NewSubscriber("ann@example.com"), NewSubscriber("bob@example.com")])
    ann, bob = (store.find_subscriber(f"{name}@example.com") for name in ("ann", "bob"))
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        never_went = store.begin_hand_over(newsletter, ann.id)
        goes = store.begin_hand_over(newsletter, bob.id)
        assert DeliveryStatus.SENDING not in store.delivery_counts(newsletter)
        assert not never_went(False)
        assert goes(True)
        assert store.delivery_counts(newsletter)[DeliveryStatus.SENDING] == 1
    store.close()
