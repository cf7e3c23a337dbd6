"""Choosing PostgreSQL for the state: the setting, its errors, and sharing it between hosts."""

import shutil
import subprocess

import psycopg
import pytest

from publisher.mail.status import DeliveryStatus
from publisher.mail.store import NewSubscriber, StateError, open_state
from tests.helpers import (
    LETTER,
    MAIL_CONFIG,
    NOW,
    PUBLISHER,
    SiteDir,
    free_port,
    mail_to,
    wait_for,
)


def test_a_password_in_the_configuration_file_is_refused(site):
    site.config(MAIL_CONFIG + 'database = "postgresql://blog:s3cret@db.example.com/blog"\n')
    result = site.run("check")
    assert result.exit_code != 0
    assert "mail database holds a password" in result.output
    assert "PGPASSWORD" in result.output
    assert "s3cret" not in result.output


def test_a_database_that_is_not_postgresql_is_refused(site, monkeypatch):
    site.config(MAIL_CONFIG)
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", "mysql://db.example.com/blog")
    result = site.run("check")
    assert result.exit_code != 0
    assert "must be a postgresql:// URL" in result.output


def test_an_unreachable_database_is_reported_without_its_password(site, monkeypatch):
    site.config(MAIL_CONFIG)
    url = f"postgresql://blog:s3cret@127.0.0.1:{free_port()}/blog"
    monkeypatch.setenv("PUBLISHER_DATABASE_URL", url)
    result = site.run("subscribers", "list")
    assert result.exit_code != 0
    assert "the PostgreSQL database blog on 127.0.0.1" in result.output
    assert "check that the server runs and is reachable" in result.output
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output


def test_two_processes_starting_on_a_new_database_migrate_it_once(site, on_postgres):
    site.config(MAIL_CONFIG)
    runs = [
        subprocess.Popen(
            [PUBLISHER, "subscribers", "add", f"user{n}@example.com", "--site", str(site.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for n in range(3)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert len(site.run("subscribers", "list").output.splitlines()) == 3


def test_a_sign_up_through_the_service_is_mailed_by_publish_on_another_host(
    on_postgres, service, site
):
    assert service.sign_up("ann@example.com").status_code == 200
    assert service.confirm("ann@example.com").status_code == 200
    ci = SiteDir(site.root.parent / "ci")
    shutil.copytree(site.root, ci.root, ignore=shutil.ignore_patterns(".publisher"))
    ci.post("2024-01-01-hello.md", "title: Hello")
    assert ci.run("publish").exit_code == 0  # the first run: a baseline, nothing mailed
    ci.post("2024-01-02-news.md", "title: News")
    result = ci.run("publish")
    assert result.exit_code == 0, result.output
    (letter,) = mail_to(ci, "ann@example.com")
    assert letter["Subject"] == "News"


def test_a_hand_over_on_a_connection_the_server_dropped_is_a_clear_state_error(
    database_url, tmp_path
):
    store = open_state(database_url, tmp_path)
    store.add_subscribers([NewSubscriber("ann@example.com")])
    ann = store.find_subscriber("ann@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        with pytest.raises(StateError, match="cannot be used"):
            store.hand_over(newsletter, ann.id)
    store.close()


def test_a_hand_over_begun_is_committed_before_its_answer_is_read(database_url, tmp_path):
    """The statement goes when the server takes the recipient: it commits while the
    message's data goes out, and the answer is read just before the last bytes."""
    store = open_state(database_url, tmp_path)
    store.add_subscribers([NewSubscriber("ann@example.com"), NewSubscriber("bob@example.com")])
    ann, bob = (store.find_subscriber(f"{name}@example.com") for name in ("ann", "bob"))
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        assert store.hand_over(newsletter, ann.id)
        store.record_verdict(newsletter, ann.id, DeliveryStatus.SENT)
        answer = store.begin_hand_over(newsletter, bob.id)
        both = {DeliveryStatus.SENT: 1, DeliveryStatus.SENDING: 1}
        wait_for(lambda: store.delivery_counts(newsletter) == both)
        assert answer(True)
    store.close()
