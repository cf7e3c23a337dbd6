"""Real `publisher send` processes, killed, rerun and run side by side: still exactly once."""

import os
import time

from tests.helpers import import_subscribers, kill_when, start_send


def test_killed_sends_resume_and_deliver_each_message_once(mailing, smtp_sink):
    emails = import_subscribers(mailing, 2000)
    for threshold in (100, 600, 1100, 1600):
        kill_when(start_send(mailing), lambda t=threshold: sum(smtp_sink.received.values()) >= t)
        assert threshold <= sum(smtp_sink.received.values()) < len(emails)
    finished = start_send(mailing)
    output, _ = finished.communicate(timeout=120)
    assert finished.returncode == 0, output
    assert smtp_sink.received == dict.fromkeys(emails, 1)


def test_two_sends_at_once_never_double_send(mailing, smtp_sink):
    emails = import_subscribers(mailing, 300)
    first = start_send(mailing, "--rate", "200/s")
    time.sleep(0.5)
    second = start_send(mailing)
    second_output, _ = second.communicate(timeout=60)
    first_output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, first_output
    assert second.returncode == 1
    assert "another publisher send is running" in second_output
    assert smtp_sink.received == dict.fromkeys(emails, 1)


def test_unsubscribing_during_a_send_stops_their_copy(mailing, smtp_sink):
    emails = import_subscribers(mailing, 200)
    process = start_send(mailing, "--rate", "100/s")
    time.sleep(0.8)
    assert mailing.run("unsubscribe", "user199@example.com").exit_code == 0
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "skipped 1" in output
    assert "user199@example.com" not in smtp_sink.received
    assert sum(smtp_sink.received.values()) == len(emails) - 1


def test_crash_leaves_no_unknown_for_a_maildir(mailing, monkeypatch):
    for variable in ("PUBLISHER_SMTP_HOST", "PUBLISHER_SMTP_PORT"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    emails = import_subscribers(mailing, 1500)
    new = mailing.root / ".publisher" / "outbox" / "new"
    for threshold in (200, 900):
        kill_when(
            start_send(mailing), lambda t=threshold: new.exists() and len(os.listdir(new)) >= t
        )
        assert threshold <= len(os.listdir(new)) < len(emails)
    output, _ = start_send(mailing).communicate(timeout=120)
    assert "unknown 0" in output
    outbox = mailing.root / ".publisher" / "outbox"
    delivered = list((outbox / "new").iterdir())
    assert len(delivered) == len(emails)
    assert not list((outbox / "tmp").iterdir())
