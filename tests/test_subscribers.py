"""The subscriber list from the command line: validation, de-duplication, import and export."""

import re

from tests.helpers import subscribe


def test_add_validates_and_normalizes(letters):
    result = letters.run("subscribers", "add", "Ann@Example.COM", "--name", "Ann")
    assert result.exit_code == 0
    assert "Added Ann@example.com." in result.output
    bad = letters.run("subscribers", "add", "not-an-address")
    assert bad.exit_code == 1
    assert "'not-an-address' is not a valid address" in bad.output


def test_addresses_are_unique_whatever_their_case(letters):
    letters.run("subscribers", "add", "ann@example.com")
    again = letters.run("subscribers", "add", "ANN@example.com")
    assert again.exit_code == 1
    assert "already on the list (active)" in again.output


def test_a_name_with_a_line_break_is_refused(letters):
    result = letters.run(
        "subscribers", "add", "ann@example.com", "--name", "Ann\r\nBcc: x@example.com"
    )
    assert result.exit_code == 1
    assert "contains a line break" in result.output


def test_remove_and_list_by_status(letters):
    subscribe(letters, "ann@example.com", "bob@example.com")
    letters.run("unsubscribe", "bob@example.com")
    assert (
        letters.run("subscribers", "list", "--status", "active").output
        == "ann@example.com\tactive\t\n"
    )
    assert letters.run("subscribers", "remove", "ann@example.com").exit_code == 0
    assert letters.run("subscribers", "list").output == "bob@example.com\tunsubscribed\t\n"
    assert letters.run("subscribers", "remove", "nobody@example.com").exit_code == 1


def test_import_reports_bad_rows_and_keeps_the_good(letters):
    csv = letters.root / "list.csv"
    csv.write_bytes(
        "\ufeffName,Email\nZoë Ålund,zoe@example.com\nBad,not-an-address\n"
        "Dup,ZOE@example.com\n,\n Ann ,ann@example.com\n".encode()
    )
    result = letters.run("subscribers", "import", str(csv))
    assert result.exit_code == 1
    assert f"{csv}:3: error: 'not-an-address' is not a valid address" in result.output
    assert "Imported 2, skipped 1 already on the list, 1 bad rows." in result.output
    assert letters.run("subscribers", "list").output == (
        "zoe@example.com\tactive\tZoë Ålund\nann@example.com\tactive\tAnn\n"
    )


def test_import_without_a_header_reads_email_then_name(letters):
    csv = letters.root / "list.csv"
    csv.write_text("ann@example.com,Ann\nbob@example.com\n")
    assert letters.run("subscribers", "import", str(csv)).exit_code == 0
    assert "bob@example.com\tactive\t" in letters.run("subscribers", "list").output


def test_export_round_trips(letters, tmp_path):
    subscribe(letters, "ann@example.com")
    out = tmp_path / "out.csv"
    assert letters.run("subscribers", "export", str(out)).exit_code == 0
    header, row = out.read_text().splitlines()
    assert header == "email,name,status,uid"
    assert re.fullmatch(r"ann@example\.com,,active,[0-9a-f]{32}", row)


def test_a_tampered_token_is_refused(letters, monkeypatch):
    from publisher.mail.tokens import make_token

    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(letters, "ann@example.com", "bob@example.com")
    token = make_token("test-secret", 1)
    forged = make_token("another-secret", 2)
    assert letters.run("unsubscribe", token[:-2] + "xx").exit_code == 1
    result = letters.run("unsubscribe", forged)
    assert result.exit_code == 1
    assert "not valid" in result.output
    assert "unsubscribed" not in letters.run("subscribers", "list").output
    assert letters.run("unsubscribe", token).output == "Unsubscribed ann@example.com.\n"
