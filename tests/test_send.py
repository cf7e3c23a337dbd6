"""Sending to a real SMTP server: each subscriber gets one correct message, whatever fails."""

import email
import re
import time
import urllib.parse
from email import policy

from tests.helpers import Sink, SmtpServer, subscribe, use_no_smtp_server, use_smtp

POST = "posts/2024-01-01-hello.md"


def send(site, *args):
    return site.run("send", *args)


def test_every_subscriber_gets_one_message_addressed_to_them_alone(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com", "cy@example.com")
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert "sent 3, pending retry 0, bounced 0" in result.output
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1, "cy@example.com": 1}
    for recipient, data in smtp_sink.messages:
        message = email.message_from_bytes(data, policy=policy.default)
        assert message["To"] == recipient
        assert message["Cc"] is None
        assert message["Subject"] == "Hello"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_unsubscribe_links_carry_a_working_personal_token(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    send(mailing, POST)
    recipient, data = smtp_sink.messages[0]
    message = email.message_from_bytes(data, policy=policy.default)
    link = message["List-Unsubscribe"].split(",")[0].strip("<> ")
    token = link.split("token=")[1]
    html = message.get_body(("html",)).get_content()
    assert f'href="{link}"' in html
    result = mailing.run("unsubscribe", token)
    assert result.exit_code == 0
    assert f"Unsubscribed {recipient}." in result.output
    statuses = mailing.run("subscribers", "list").output
    assert statuses.count("\tunsubscribed") == 1 and statuses.count("\tactive") == 1


def test_a_second_send_sends_nothing(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    send(mailing, POST)
    result = send(mailing, POST)
    assert result.exit_code == 0
    assert "sent 0" in result.output and "sent by other runs 1" in result.output
    assert smtp_sink.received == {"ann@example.com": 1}


def test_451_is_retried_and_delivered(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    smtp_sink.rcpt_replies["ann@example.com"] = ["451 4.3.0 try later"]
    smtp_sink.data_replies["bob@example.com"] = ["451 4.7.1 greylisted"]
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}


def test_451_that_never_clears_stays_pending_for_the_next_run(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    smtp_sink.rcpt_replies["ann@example.com"] = ["451 4.3.0 try later"] * 3
    result = send(mailing, POST)
    assert result.exit_code == 3
    assert "pending retry 1" in result.output
    result = send(mailing, POST)
    assert result.exit_code == 0
    assert smtp_sink.received == {"ann@example.com": 1}


def test_550_bounces_and_is_never_retried(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "gone@example.com")
    smtp_sink.rcpt_replies["gone@example.com"] = ["550 5.1.1 no such user"] * 5
    result = send(mailing, POST)
    assert result.exit_code == 0
    assert "bounced 1" in result.output
    assert len(smtp_sink.rcpt_replies["gone@example.com"]) == 4
    listing = mailing.run("subscribers", "list", "--status", "bounced").output
    assert listing.startswith("gone@example.com\tbounced")


def test_a_dropped_connection_reconnects_without_loss_or_doubles(mailing, smtp_sink):
    emails = [f"user{n}@example.com" for n in range(20)]
    subscribe(mailing, *emails)
    smtp_sink.drop_at = {3, 9}
    smtp_sink.data_replies["user15@example.com"] = ["421 4.3.2 shutting down"]
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == dict.fromkeys(emails, 1)


def test_a_slow_server_times_out_and_is_retried(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    smtp_sink.rcpt_delays["ann@example.com"] = [3.0]
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == {"ann@example.com": 1, "bob@example.com": 1}


def test_a_refused_sender_stops_the_run(mailing, smtp_sink, monkeypatch):
    subscribe(mailing, "ann@example.com")

    async def refuse(server, session, envelope, address, mail_options):
        return "550 5.7.1 sender not allowed"

    monkeypatch.setattr(smtp_sink, "handle_MAIL", refuse, raising=False)
    result = send(mailing, POST)
    assert result.exit_code == 4
    assert "Stopped: the server refused the sender: 550" in result.output
    assert not smtp_sink.received


def test_a_dry_run_sends_nothing(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    result = send(mailing, POST, "--dry-run")
    assert 'Would send "Hello" to 2 subscribers: ann@example.com, bob@example.com' in result.output
    assert not smtp_sink.received


def test_unsubscribed_and_bounced_subscribers_get_nothing(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com", "gone@example.com")
    mailing.run("unsubscribe", "bob@example.com")
    smtp_sink.rcpt_replies["gone@example.com"] = ["550 5.1.1 no such user"]
    assert "bounced 1" in send(mailing, POST).output
    mailing.post("2024-01-02-next.md", "title: Next")
    result = send(mailing, "posts/2024-01-02-next.md")
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and "of 1 " in result.output
    assert smtp_sink.received == {"ann@example.com": 2}
    assert [recipient for recipient, _ in smtp_sink.messages] == ["ann@example.com"] * 2


def test_concurrency_delivers_each_once(mailing, smtp_sink):
    emails = [f"user{n}@example.com" for n in range(60)]
    subscribe(mailing, *emails)
    result = send(mailing, POST, "--concurrency", "4", "--rate", "1000/s")
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == dict.fromkeys(emails, 1)


def test_no_secret_is_a_clear_error(mailing, smtp_sink, monkeypatch):
    monkeypatch.delenv("PUBLISHER_SECRET")
    subscribe(mailing, "ann@example.com")
    result = send(mailing, POST)
    assert result.exit_code == 1
    assert "PUBLISHER_SECRET is not set" in result.output


def test_an_authentication_failure_stops_the_run(mailing, monkeypatch):
    from aiosmtpd.smtp import AuthResult

    def refuse(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    sink = Sink()
    server = SmtpServer(
        sink, authenticator=refuse, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"]
    )
    server.start()
    try:
        use_smtp(monkeypatch, server)
        monkeypatch.setenv("PUBLISHER_SMTP_USERNAME", "me")
        monkeypatch.setenv("PUBLISHER_SMTP_PASSWORD", "wrong-password")
        subscribe(mailing, "ann@example.com")
        result = send(mailing, POST)
    finally:
        server.stop()
    assert result.exit_code == 4, result.output
    assert "the server refused the login (535)" in result.output
    assert "wrong-password" not in result.output
    assert not sink.received


def test_dkim_signs_both_unsubscribe_headers(mailing, smtp_sink):
    import base64
    import subprocess

    import dkim

    key = mailing.root / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    config = (mailing.root / "publisher.toml").read_text()
    mailing.config(config + 'dkim_key = "dkim.pem"\ndkim_selector = "mail"\n')
    subscribe(mailing, "ann@example.com")
    assert send(mailing, POST).exit_code == 0
    _, data = smtp_sink.messages[0]
    signature = data.split(b"\r\n\r\n")[0].split(b"DKIM-Signature:")[1]
    signed = signature.split(b"h=")[1].split(b";")[0].replace(b"\r\n", b"").replace(b" ", b"")
    assert b"list-unsubscribe:list-unsubscribe-post" in signed

    def dns(name, timeout=5):
        assert name == b"mail._domainkey.example.com."
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    assert dkim.verify(data, dnsfunc=dns)
    assert b"c=relaxed/relaxed" in signature.replace(b"\r\n ", b"")
    # A relay that pads lines or widens spaces in the body keeps the signature valid.
    head, body = data.split(b"\r\n\r\n", 1)
    assert dkim.verify(head + b"\r\n\r\n" + body.replace(b" ", b"  "), dnsfunc=dns)


def test_each_newsletter_has_its_own_feedback_id(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    assert send(mailing, POST).exit_code == 0
    message = email.message_from_bytes(smtp_sink.messages[0][1], policy=policy.default)
    assert message["Feedback-ID"] == "n1:newsletter:example.com"


def test_the_mailto_unsubscribe_carries_a_token_that_unsubscribes(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    assert send(mailing, POST).exit_code == 0
    message = email.message_from_bytes(smtp_sink.messages[0][1], policy=policy.default)
    mailto = re.search(r"<mailto:([^>]+)>", message["List-Unsubscribe"])[1]
    token = urllib.parse.unquote(mailto.split("?subject=")[1]).removeprefix("unsubscribe ")
    assert token and token in message["List-Unsubscribe"].split(",")[0]
    result = mailing.run("unsubscribe", token)
    assert result.output == "Unsubscribed ann@example.com.\n", result.output


def test_lines_that_start_with_a_dot_arrive_intact(mailing, smtp_sink):
    mailing.post("2024-01-02-dots.md", "title: Dots", ".NET and .\n\n## Part\n\n.. more")
    subscribe(mailing, "ann@example.com")
    result = send(mailing, "posts/2024-01-02-dots.md")
    assert result.exit_code == 0, result.output
    [(_, data)] = smtp_sink.messages
    message = email.message_from_bytes(data, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert ".NET and ." in text.splitlines()


def test_a_send_logs_its_progress_where_there_is_no_terminal(mailing, smtp_sink, monkeypatch):
    monkeypatch.setattr("publisher.console.PROGRESS_IN_LOG", 0.0)
    subscribe(mailing, "ann@example.com", "bob@example.com")
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("Sent 1 (") for line in lines)
    assert any(line.startswith("Sent 2 (") for line in lines)


def test_a_refused_message_after_data_stops_the_run(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    smtp_sink.data_replies["ann@example.com"] = ["554 5.6.0 message content refused"]
    result = send(mailing, POST)
    assert result.exit_code == 4
    assert "Stopped: the server refused the message: 554 5.6.0" in result.output
    assert not smtp_sink.received


def test_a_mailbox_refused_after_data_bounces_only_that_subscriber(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    smtp_sink.data_replies["ann@example.com"] = ["550 5.1.1 mailbox disabled"]
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert "bounced 1" in result.output
    assert smtp_sink.received == {"bob@example.com": 1}


def test_a_rate_that_is_not_one_is_a_usage_error(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    result = send(mailing, POST, "--rate", "fast")
    assert result.exit_code == 2
    assert "'fast' is not a rate like 14/s" in result.output
    assert not smtp_sink.received


def test_a_policy_refusal_stops_the_run_and_bounces_nobody(mailing, smtp_sink):
    emails = [f"user{n}@example.com" for n in range(20)]
    subscribe(mailing, *emails)
    for address in emails:
        smtp_sink.rcpt_replies[address] = ["554 5.7.1 <x>: Relay access denied"]
    result = send(mailing, POST)
    assert result.exit_code == 4
    assert "Stopped: the server refused the recipient: 554 5.7.1" in result.output
    assert "bounced" not in mailing.run("subscribers", "list").output


def test_the_same_refusal_for_many_in_a_row_bounces_nobody(mailing, smtp_sink):
    emails = [f"user{n}@example.com" for n in range(20)]
    subscribe(mailing, *emails)
    for address in emails:
        smtp_sink.rcpt_replies[address] = [f"550 <{address}>: not permitted here"]
    result = send(mailing, POST)
    assert result.exit_code == 4
    assert "recipients in a row with the same reply" in result.output
    assert "bounced" not in mailing.run("subscribers", "list").output


def test_552_at_rcpt_is_temporary(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com")
    smtp_sink.rcpt_replies["ann@example.com"] = ["552 4.2.2 mailbox full"]
    result = send(mailing, POST)
    assert result.exit_code == 0, result.output
    assert smtp_sink.received == {"ann@example.com": 1}


def test_a_server_silent_after_the_message_is_unknown_within_the_timeout(mailing, smtp_sink):
    subscribe(mailing, "ann@example.com", "bob@example.com")
    smtp_sink.data_delay = 30.0
    started = time.monotonic()
    result = send(mailing, POST)
    assert time.monotonic() - started < 15  # timeout = 2 s in MAIL_CONFIG, not 600 s
    assert "unknown 2" in result.output and "pending retry 0" in result.output
    assert smtp_sink.data_count == 2  # each was handed over once and never again


def test_an_unreachable_server_stops_the_run_after_a_few_tries(mailing, monkeypatch):
    use_no_smtp_server(monkeypatch)
    subscribe(mailing, *[f"user{n}@example.com" for n in range(50)])
    result = send(mailing, POST)
    assert result.exit_code == 4
    assert "Stopped: could not reach the mail server 3 times in a row" in result.output
    assert "Connection refused" in result.output
    assert "pending retry 50" in result.output
