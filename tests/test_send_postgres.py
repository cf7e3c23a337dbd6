"""State on PostgreSQL: real `publisher send` processes killed, rerun and run side by side
on one database, each from a folder of its own; the sign-up service and `publish` sharing it."""

import shutil
import time

import psycopg

from tests.helpers import SiteDir, import_subscribers, kill_when, start_send, wait_for


def copy_of(site: SiteDir, name: str) -> SiteDir:
    """The same site checked out in another folder, as on another machine."""
    other = SiteDir(site.root.parent / name)
    shutil.copytree(site.root, other.root)
    return other


def unknown_emails(url: str) -> set[str]:
    with psycopg.connect(url) as db:
        rows = db.execute(
            "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE d.status = 'unknown'"
        )
        return {email for (email,) in rows}


def sent_by(output: str) -> int:
    return int(output.split(": sent ", 1)[1].split(",", 1)[0])


def test_killed_sends_on_postgresql_resume_and_deliver_each_message_once(
    mailing, smtp_sink, on_postgres
):
    emails = import_subscribers(mailing, 600)
    # Each kill falls after a message was handed over, while the server takes 20 ms to answer:
    # the moment whose record decides between a lost and a doubled message.
    smtp_sink.reply_delay = 0.02
    for threshold in (50, 150, 300, 450):
        kill_when(start_send(mailing), lambda t=threshold: smtp_sink.data_count >= t)
        assert sum(smtp_sink.received.values()) < len(emails)
    smtp_sink.reply_delay = 0
    finished = start_send(mailing)
    output, _ = finished.communicate(timeout=120)
    assert "Sent " in output, output
    assert smtp_sink.received == dict.fromkeys(emails, 1)
    # The message of each kill was received, and left unknown: never sent twice.
    assert 1 <= len(unknown_emails(on_postgres)) <= 4
    assert unknown_emails(on_postgres) <= set(smtp_sink.received)


def delivery_statuses(url: str) -> dict[str, int]:
    with psycopg.connect(url) as db:
        return dict(db.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))


def test_a_send_killed_while_it_waits_for_its_rate_has_written_every_verdict(
    mailing, smtp_sink, on_postgres
):
    import_subscribers(mailing, 5)
    process = start_send(mailing, "--rate", "2/s")
    wait_for(lambda: sum(smtp_sink.received.values()) >= 2)
    time.sleep(0.2)  # into the half-second wait before the third message
    kill_when(process, lambda: True)
    assert delivery_statuses(on_postgres) == {"sent": 2, "pending": 3}


def test_three_senders_share_one_send_and_survive_one_killed(mailing, smtp_sink, on_postgres):
    emails = import_subscribers(mailing, 300)
    smtp_sink.reply_delay = 0.03
    sites = [mailing, copy_of(mailing, "second"), copy_of(mailing, "third")]
    senders = [start_send(site) for site in sites]
    time.sleep(1.5)
    killed = senders.pop()
    kill_when(killed, lambda: True)
    outputs = [process.communicate(timeout=120)[0] for process in senders]
    for process, output in zip(senders, outputs, strict=True):
        assert process.returncode in (0, 3), output
    assert all(count == 1 for count in smtp_sink.received.values())
    unknown = unknown_emails(on_postgres)
    assert len(unknown) <= 1
    assert set(smtp_sink.received) | unknown == set(emails)
    assert all(sent_by(output) > 30 for output in outputs), outputs


def test_a_second_sender_on_postgresql_joins_instead_of_stopping(mailing, smtp_sink, on_postgres):
    emails = import_subscribers(mailing, 200)
    first = start_send(mailing, "--rate", "100/s")
    time.sleep(0.7)
    second = start_send(copy_of(mailing, "second"), "--rate", "100/s")
    second_output, _ = second.communicate(timeout=60)
    first_output, _ = first.communicate(timeout=60)
    assert first.returncode == 0, first_output
    assert second.returncode == 0, second_output
    assert "another publisher send is running" not in second_output
    assert sent_by(first_output) + sent_by(second_output) == len(emails)
    assert sent_by(second_output) > 20
    assert smtp_sink.received == dict.fromkeys(emails, 1)


def test_a_send_whose_database_drops_its_connections_stops_clearly_and_resumes(
    mailing, smtp_sink, on_postgres
):
    emails = import_subscribers(mailing, 300)
    smtp_sink.reply_delay = 0.01
    process = start_send(mailing)
    wait_for(lambda: smtp_sink.data_count >= 30, timeout=60)
    with psycopg.connect(on_postgres, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    output, _ = process.communicate(timeout=60)
    assert process.returncode != 0, output
    assert "Stopped: the PostgreSQL database" in output, output
    assert "Traceback" not in output and "unexpected error" not in output, output
    smtp_sink.reply_delay = 0
    rerun = start_send(mailing)
    output, _ = rerun.communicate(timeout=120)
    assert "Sent " in output, output
    assert set(smtp_sink.received.values()) == {1}
    assert set(smtp_sink.received) | unknown_emails(on_postgres) == set(emails)
