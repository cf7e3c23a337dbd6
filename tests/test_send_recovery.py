"""After a crash or a failing disk: nothing is sent twice unless asked, nothing is lost."""

import errno
import os
import signal

from publisher.mail.status import DeliveryStatus
from publisher.mail.store import open_store
from publisher.site.config import load_site
from publisher.site.post import mail_key
from tests.helpers import start_send, subscribe

POST = "posts/2024-01-01-hello.md"


def test_a_crash_before_the_servers_reply_leaves_unknown_and_never_resends(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    smtp_sink.data_delay = 5.0
    process = start_send(mailing)
    assert smtp_sink.data_seen.wait(30), "the message never reached the server"
    process.send_signal(signal.SIGKILL)
    process.wait()
    smtp_sink.data_delay = 0.0
    result = mailing.run("send", POST)
    assert result.exit_code == 0, result.output
    assert "sent 0" in result.output and "unknown 1" in result.output
    assert smtp_sink.data_count == 1  # the server got the message once, and only once


def test_resend_unknown_sends_what_a_crash_left_unknown(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    assert mailing.run("send", POST).exit_code == 0
    mark_delivery(mailing, "ann@example.com", DeliveryStatus.SENDING)
    assert "unknown 1" in mailing.run("send", POST).output
    result = mailing.run("send", POST, "--resend-unknown")
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and "unknown 0" in result.output
    assert smtp_sink.received == {"ann@example.com": 2, "bob@example.com": 1}


def test_a_maildir_message_already_read_counts_as_sent(mailing, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SMTP_HOST", raising=False)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(mailing, "ann@example.com", "bob@example.com")
    assert mailing.run("send", POST).exit_code == 0
    outbox = mailing.root / ".publisher" / "outbox"
    read = sorted((outbox / "new").iterdir())[0]
    read.rename(outbox / "cur" / f"{read.name}:2,S")  # what a mail client does on reading it
    mark_delivery(mailing, "ann@example.com", DeliveryStatus.SENDING)
    result = mailing.run("send", POST)
    assert result.exit_code == 0, result.output
    assert "sent 0" in result.output and "unknown 0" in result.output
    assert "sent by other runs 2" in result.output
    assert len(os.listdir(outbox / "new")) + len(os.listdir(outbox / "cur")) == 2


def test_a_state_that_cannot_be_flushed_stops_the_send(mailing, smtp_sink, monkeypatch):
    subscribe(mailing, "ann@example.com", "bob@example.com", "cy@example.com")

    def failing_sync(fd):
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as disk_failing:
        disk_failing.setattr(os, "fsync", failing_sync)
        disk_failing.setattr(os, "fdatasync", failing_sync)
        result = mailing.run("send", POST)
    assert result.exit_code == 4
    assert "Stopped: cannot flush the state file to disk" in result.output
    assert smtp_sink.received == {"ann@example.com": 1}
    result = mailing.run("send", POST)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == dict.fromkeys(
        ["ann@example.com", "bob@example.com", "cy@example.com"], 1
    )


def mark_delivery(site, email: str, status: DeliveryStatus) -> None:
    """Put one delivery of the site's only newsletter back in `status`, as a crash at that
    moment would have left it."""
    store = open_store(load_site(site.root)[0])
    [post_id] = store.known_post_ids()
    newsletter_id = store.newsletter_id(f"post:{mail_key(post_id)}")
    store.set_delivery(newsletter_id, store.find_subscriber(email).id, status)
    store.close()
