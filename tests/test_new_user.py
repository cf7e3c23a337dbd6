"""What a new user meets: commands that take what they would paste, and say what happened."""

import email
from email import policy

from click.testing import CliRunner

from publisher.cli import main
from tests.helpers import SEED, SEED_NAME, render_newsletter, subscribe


def test_unsubscribe_takes_the_whole_link_from_a_message(mailing, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SMTP_HOST", raising=False)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(mailing, "ann@example.com")
    assert mailing.run("send", "posts/2024-01-01-hello.md").exit_code == 0
    [path] = (mailing.root / ".publisher" / "outbox" / "new").iterdir()
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    link = message["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert mailing.run("unsubscribe", link).output == "Unsubscribed ann@example.com.\n"
    again = mailing.run("unsubscribe", link)
    assert again.exit_code == 0
    assert again.output == "ann@example.com was unsubscribed already.\n"


def test_a_maildir_message_has_the_local_line_ending(mailing, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SMTP_HOST", raising=False)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")
    subscribe(mailing, "ann@example.com")
    mailing.run("send", "posts/2024-01-01-hello.md")
    [path] = (mailing.root / ".publisher" / "outbox" / "new").iterdir()
    assert b"\r" not in path.read_bytes()


def test_export_to_a_file_says_how_many(letters, tmp_path):
    subscribe(letters, "ann@example.com", "bob@example.com")
    result = letters.run("subscribers", "export", str(tmp_path / "list.csv"))
    assert result.output == f"Exported 2 subscribers to {tmp_path / 'list.csv'}.\n"


def test_a_post_is_found_by_its_file_name_alone_or_its_slug(bundled):
    for name in (SEED_NAME, SEED_NAME.removesuffix(".md")):
        preview = render_newsletter(bundled, name)
        assert preview.result.exit_code == 0, preview.result.output
    assert render_newsletter(bundled, SEED).result.exit_code == 0


def test_no_configuration_names_the_folder_and_the_ways_out(tmp_path):
    result = CliRunner().invoke(main, ["check", "--site", str(tmp_path)])
    assert result.exit_code == 1
    assert f"no site configuration found in {tmp_path}" in result.output
    assert "_config.yml" in result.output and "--site" in result.output


def test_a_dry_run_to_nobody_says_why(mailing, smtp_sink):
    result = mailing.run("send", "posts/2024-01-01-hello.md", "--dry-run")
    assert 'Would send "Hello" to nobody: the list has no active subscriber' in result.output


def test_help_lists_every_command_in_full():
    for command in ([], ["subscribers"]):
        result = CliRunner().invoke(main, [*command, "--help"])
        commands = result.output.split("Commands:")[1]
        assert "..." not in commands, commands
    listing = CliRunner().invoke(main, ["subscribers", "list", "--help"]).output
    assert "Only subscribers in this status." in listing
