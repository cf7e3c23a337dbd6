"""Hostile input and careless settings: nothing injected, nothing half-done, every problem
named with its file, never a traceback."""

import email
import email.header
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from email import policy

import pytest

from publisher.mail.store import StoredNewsletter, open_store
from publisher.site.config import load_site
from tests.helpers import MAIL_CONFIG, subscribe

ENCODED_WORD = (
    "=?utf-8?q?Weekly_news=0D=0AReply-To:_attacker@evil.example=0D=0ABcc:_victim@evil.example?="
)


def test_an_encoded_word_in_a_title_is_refused_before_anything_is_sent(mailing, smtp_sink):
    mailing.post("2024-01-02-trap.md", f'title: "{ENCODED_WORD}"')
    subscribe(mailing, "ann@example.com")
    check = mailing.run("check")
    assert check.exit_code == 1
    assert "posts/2024-01-02-trap.md:2: error: the newsletter subject (title)" in check.output
    assert "encoded word" in check.output
    assert mailing.run("send", "posts/2024-01-02-trap.md").exit_code == 1
    assert not smtp_sink.messages


@pytest.mark.parametrize("breaker", ["\x0b", "\x00", "\x85", "\u2028", "\u2029", "\t", "\x7f"])
def test_a_subscriber_name_with_any_control_or_line_separator_is_refused(letters, breaker):
    result = letters.run("subscribers", "add", "ann@example.com", "--name", f"Ann{breaker}Bcc: x")
    assert result.exit_code == 1
    assert "Error: the name" in result.output
    assert letters.run("subscribers", "list").output == ""


def test_a_csv_name_that_could_forge_a_header_is_a_bad_row(letters):
    csv = letters.root / "list.csv"
    csv.write_text("email,name\nann@example.com,Ann\u2028Bcc: victim@evil.example\n")
    result = letters.run("subscribers", "import", str(csv))
    assert result.exit_code == 1
    assert f"{csv}:2: error: the name" in result.output


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ('unsubscribe_mailto = "u@example.com>, <https://evil.example"', "unsubscribe_mailto"),
        ('reply_to = "anything at all"', "reply_to"),
    ],
)
def test_addresses_in_settings_must_be_addresses(letters, setting, message):
    letters.config(f"[site]\ntitle='T'\nurl='https://example.com'\n[newsletter]\n{setting}\n")
    result = letters.run("check")
    assert result.exit_code == 1
    assert f"error: newsletter {message}" in result.output and "is not an address" in result.output


def test_exported_names_never_run_as_spreadsheet_formulas(letters, tmp_path):
    formulas = ["=HYPERLINK(1)", "+1", "-1", "@SUM(A1)"]
    for number, name in enumerate(formulas):
        result = letters.run("subscribers", "add", f"r{number}@example.com", "--name", name)
        assert result.exit_code == 0, result.output
    out = tmp_path / "list.csv"
    letters.run("subscribers", "export", str(out))
    names = [line.split(",")[1] for line in out.read_text().splitlines()[1:]]
    assert names == [f"'{name}" for name in formulas]


def test_export_then_import_keeps_statuses_and_unsubscribe_links(letters, tmp_path, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(letters, "ann@example.com", "bob@example.com")
    letters.run("unsubscribe", "bob@example.com")
    store = open_store(load_site(letters.root)[0])
    from publisher.mail.tokens import make_token

    token = make_token("test-secret", store.find_subscriber("ann@example.com").uid)
    store.close()
    out = tmp_path / "list.csv"
    letters.run("subscribers", "export", str(out))
    (letters.root / ".publisher" / "state.db").unlink()
    subscribe(letters, "carl@example.com")  # a fresh state, with ids in another order
    assert letters.run("subscribers", "import", str(out)).exit_code == 0
    listing = letters.run("subscribers", "list").output
    assert "bob@example.com\tunsubscribed" in listing
    assert letters.run("unsubscribe", token).output == "Unsubscribed ann@example.com.\n"


def test_control_characters_from_yaml_escapes_and_entities_are_dropped_and_reported(site):
    site.post(
        "2024-01-01-a.md",
        'title: "bad\\x01title"\ntags: ["x\\x02"]',
        "Body &#x1; and &#xFFFE; and &#65;.",
    )
    check = site.run("check")
    assert check.exit_code == 0, check.output
    assert "posts/2024-01-01-a.md:2: warning: removed characters XML cannot carry from title" in (
        check.output
    )
    assert "posts/2024-01-01-a.md:6: warning: the character reference &#x1;" in check.output
    site.build()
    entry = site.feed().entries[0]
    assert entry.title == "badtitle"
    assert "Body  and  and A." in entry.content[0].value


@pytest.mark.parametrize("date", ["0001-01-01 00:00:00 +14:00", "9999-12-31 23:00:00 -05:00"])
def test_dates_at_the_edge_of_time_are_errors_not_crashes(site, date):
    site.post("2024-01-01-a.md", f"title: A\ndate: {date}")
    result = site.run("build", "--future")
    assert result.exit_code == 1
    assert "posts/2024-01-01-a.md:3: error: the date is out of range" in result.output


def test_nested_yaml_aliases_are_refused_quickly(site):
    levels = ["a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9]"]
    for number, name in enumerate("bcdefghi"):
        previous = "abcdefghi"[number]
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    site.post("2024-01-01-a.md", "\n".join(levels) + "\ntitle: *i")
    started = time.monotonic()
    result = site.run("check")
    assert time.monotonic() - started < 5
    assert result.exit_code == 1
    assert "values once its YAML aliases are expanded" in result.output


@pytest.mark.parametrize("escape", ["\\u2028", "\\x85", "\\r", "\\n"])
def test_a_line_separator_in_a_title_is_found_by_check(site, escape):
    site.post("2024-01-01-a.md", f'title: "One{escape}Two"')
    result = site.run("check")
    assert result.exit_code == 1
    assert "the newsletter subject (title)" in result.output


def test_publish_writes_nothing_when_the_secret_is_missing(mailing, smtp_sink, monkeypatch):
    subscribe(mailing, "ann@example.com")
    assert mailing.run("publish").exit_code == 0  # the baseline: nothing to sign yet
    mailing.post("2024-06-01-new.md", "title: New")
    monkeypatch.delenv("PUBLISHER_SECRET")
    before = mailing.output("feed.xml").read_bytes()
    result = mailing.run("publish", "--now", "2024-06-02T00:00:00+00:00")
    assert result.exit_code == 1
    assert "PUBLISHER_SECRET is not set" in result.output
    assert mailing.output("feed.xml").read_bytes() == before
    store = open_store(load_site(mailing.root)[0])
    assert store.unfinished_newsletters() == []


def test_an_unsendable_newsletter_recorded_earlier_never_blocks_the_next(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    assert mailing.run("publish", "--now", "2024-05-01T00:00:00+00:00").exit_code == 0
    store = open_store(load_site(mailing.root)[0])
    bad = StoredNewsletter("Old\u2028Bcc: x@evil.example", "<p>old</p>", "old")
    store.record_newsletter("post:legacy", bad, [], datetime(2024, 5, 1, tzinfo=UTC))
    store.close()
    mailing.post("2024-05-30-new.md", "title: New")
    result = mailing.run("publish", "--now", "2024-06-01T00:00:00+00:00")
    assert result.exit_code == 0, result.output
    assert "Abandoned" in result.output
    [(_, data)] = smtp_sink.messages
    assert email.message_from_bytes(data, policy=policy.default)["Subject"] == "New"
    assert "Abandoned" not in mailing.run("publish", "--now", "2024-06-02T00:00:00+00:00").output


def test_a_damaged_state_file_is_named_before_any_feed_is_written(mailing, smtp_sink):
    state = mailing.root / ".publisher" / "state.db"
    state.parent.mkdir()
    state.write_bytes(b"this is not a database" * 100)
    result = mailing.run("publish")
    assert result.exit_code == 1
    assert f"the state file {state} cannot be used" in result.output
    assert "restore it from a backup" in result.output
    assert not mailing.output("feed.xml").exists()


def test_a_latin_1_list_names_its_line_and_utf_16_is_read(letters):
    latin = letters.root / "latin.csv"
    latin.write_bytes("email,name\nann@example.com,Ann\nzoe@example.com,Zo\xeb\n".encode("latin-1"))
    result = letters.run("subscribers", "import", str(latin))
    assert result.exit_code == 1
    assert f"{latin}:3: not UTF-8 text (byte 0xeb)" in result.output
    wide = letters.root / "wide.csv"
    wide.write_bytes("email,name\nzoe@example.com,Zoë\n".encode("utf-16"))
    assert letters.run("subscribers", "import", str(wide)).exit_code == 0
    assert "zoe@example.com\tactive\tZoë" in letters.run("subscribers", "list").output


def test_a_huge_csv_cell_names_its_line(letters):
    csv = letters.root / "list.csv"
    csv.write_text("email,name\nann@example.com,Ann\nbob@example.com," + "x" * 200_000 + "\n")
    result = letters.run("subscribers", "import", str(csv))
    assert result.exit_code == 1
    assert f"{csv}:3:" in result.output


def test_an_international_address_is_found_in_either_form(letters):
    assert letters.run("subscribers", "add", "a7@bücher.de").exit_code == 0
    result = letters.run("unsubscribe", "a7@bücher.de")
    assert result.exit_code == 0, result.output
    assert "Unsubscribed a7@xn--bcher-kva.de." in result.output


def test_a_tag_too_long_for_a_file_name_gets_a_bounded_slug(site):
    site.post("2024-01-01-a.md", "title: A\ntags: [" + "é" * 200 + ", " + "é" * 199 + "]")
    site.build()
    folders = [path.name for path in (site.root / "_site" / "tags").iterdir()]
    assert len(folders) == 2
    assert all(len(name.encode()) <= 100 for name in folders)


def test_a_feed_that_cannot_be_written_names_its_tag(site):
    site.post("2024-01-01-a.md", "title: A\ntags: [News]")
    (site.root / "_site" / "tags").mkdir(parents=True)
    (site.root / "_site" / "tags" / "news").write_text("a file where a folder goes")
    result = site.run("build")
    assert result.exit_code == 1
    assert "could not write tags/news/feed.xml, the feed of the tag 'News'" in result.output


def test_a_post_linked_from_outside_the_site_is_a_warning(site, tmp_path):
    outside = tmp_path / "elsewhere.md"
    outside.write_text("---\ntitle: From elsewhere\n---\n\nHi.\n")
    (site.root / "posts").mkdir()
    (site.root / "posts" / "2024-01-01-linked.md").symlink_to(outside)
    result = site.run("build")
    assert result.exit_code == 0
    assert f"posts/2024-01-01-linked.md: warning: is a link to {outside}, outside the site" in (
        result.output
    )


def test_temporary_files_a_killed_build_left_are_removed(site):
    """However recent: a build holds the site's lock while it writes, so a temporary file
    found under that lock is no running build's."""
    site.post("2024-01-01-a.md")
    site.build()
    cache = site.root / ".publisher" / "cache"
    leftovers = [
        site.output(".feed.xml.0123456789ab.tmp"),
        cache / ".build.marshal.0123456789ab.tmp",
        cache / "posts" / ".07.json.0123456789ab.tmp",
        cache / "entries" / ".017.entries.0123456789ab.tmp",
    ]
    for leftover in leftovers:
        leftover.parent.mkdir(parents=True, exist_ok=True)
        leftover.write_text("half a file")
    site.post("2024-01-02-b.md")
    site.build()
    assert [path for path in leftovers if path.exists()] == []


def test_a_build_waits_for_one_writing_the_same_site_and_leaves_its_files_alone(site):
    site.post("2024-01-01-a.md")
    site.build()
    writing = site.output(".feed.xml.0123456789ab.tmp")
    other = textwrap.dedent(f"""
        import fcntl, os, sys, time
        fd = os.open({str(site.root / ".publisher" / "build.lock")!r}, os.O_RDWR)
        fcntl.lockf(fd, fcntl.LOCK_EX)
        open({str(writing)!r}, "w").write("being written")
        print("writing", flush=True)
        time.sleep(1)
        os.replace({str(writing)!r}, {str(writing.with_name("other.xml"))!r})
    """)
    holder = subprocess.Popen([sys.executable, "-c", other], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "writing\n"
    site.post("2024-01-02-b.md")
    started = time.monotonic()
    site.build()
    assert time.monotonic() - started > 0.5
    assert holder.wait() == 0
    assert writing.with_name("other.xml").read_text() == "being written"


def test_a_name_that_reads_like_a_header_stays_a_name(mailing, smtp_sink):
    name = "Bcc: victim@evil.example0\u0800\u0800\u0800"  # long enough to need folding
    assert mailing.run("subscribers", "add", "ann@example.com", "--name", name).exit_code == 0
    assert mailing.run("send", "posts/2024-01-01-hello.md").exit_code == 0
    [(_, data)] = smtp_sink.messages
    raw_to = email.message_from_bytes(data)["To"].strip()
    assert raw_to.startswith("=?utf-8?"), raw_to  # encoded whole: no "Bcc:" a reader could parse
    phrase = raw_to.rpartition(" <")[0]
    assert str(email.header.make_header(email.header.decode_header(phrase))) == name


def test_a_sender_name_that_reads_like_a_header_stays_a_name(mailing, smtp_sink):
    name = "Bcc: victim@evil.example, and a name long enough to fold: ünïcode"
    mailing.config(MAIL_CONFIG.replace('from_name = "Test Letters"', f'from_name = "{name}"'))
    subscribe(mailing, "ann@example.com")
    assert mailing.run("send", "posts/2024-01-01-hello.md").exit_code == 0
    [(_, data)] = smtp_sink.messages
    message = email.message_from_bytes(data, policy=policy.default)
    [address] = message["From"].addresses
    assert address.addr_spec == "letters@example.com"
    # Python's parser doubles the space between two encoded words; readers do not.
    assert " ".join(address.display_name.split()) == name


def test_an_empty_smtp_host_refuses_to_send_rather_than_fill_a_maildir(mailing, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "")  # what CI passes for a secret not set
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(mailing, "ann@example.com")
    result = mailing.run("send", "posts/2024-01-01-hello.md")
    assert result.exit_code == 1
    assert "PUBLISHER_SMTP_HOST is set but empty" in result.output
    assert not (mailing.root / ".publisher" / "outbox").exists()


def test_on_ci_a_maildir_must_be_chosen_before_publish_writes(mailing, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SMTP_HOST", raising=False)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(mailing, "ann@example.com")
    assert mailing.run("publish", "--now", "2024-05-01T00:00:00+00:00").exit_code == 0
    mailing.post("2024-05-30-new.md", "title: New")
    monkeypatch.setenv("CI", "true")
    before = mailing.output("feed.xml").read_bytes()
    result = mailing.run("publish", "--now", "2024-06-01T00:00:00+00:00")
    assert result.exit_code == 1
    assert "on CI, mail would go into a Maildir on the runner and be lost" in result.output
    assert mailing.output("feed.xml").read_bytes() == before
    mailing.config(MAIL_CONFIG.replace("[mail]", '[mail]\ntransport = "maildir"'))
    chosen = mailing.run("publish", "--now", "2024-06-01T00:00:00+00:00")
    assert chosen.exit_code == 0, chosen.output
    assert "to the Maildir .publisher/outbox" in chosen.output
