"""The state file: older schemas are brought up to date and keep what they hold."""

import sqlite3

from publisher.mail.store.sqlite import MIGRATIONS
from tests.helpers import MAIL_CONFIG


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
