"""A real `publisher publish` of remote entries, SIGKILLed at any moment and rerun: each
entry reaches each subscriber once."""

import subprocess

from tests.helpers import PUBLISHER, Item, import_subscribers, kill_when, rss

NOW = "2026-12-01T12:00:00Z"


def start_publish(site):
    return subprocess.Popen(
        [PUBLISHER, "publish", "--site", str(site.root), "--now", NOW],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_killed_publishes_mail_each_new_entry_once(remote, feeds, smtp_sink):
    emails = import_subscribers(remote, 1500)
    feeds.answer("/feed.xml", rss([Item(1)]))
    assert remote.run("publish", "--now", NOW).exit_code == 0
    feeds.answer("/feed.xml", rss([Item(1), Item(2), Item(3)]))
    kill_when(start_publish(remote), lambda: len(feeds.hits("/feed.xml")) >= 2)
    for threshold in (200, 1400, 2300):
        kill_when(start_publish(remote), lambda t=threshold: sum(smtp_sink.received.values()) >= t)
    finished = start_publish(remote)
    output, _ = finished.communicate(timeout=120)
    assert finished.returncode == 0, output
    everyone = [*emails, "ann@example.com", "bob@example.com"]
    assert smtp_sink.received == dict.fromkeys(everyone, 2)
