"""The SMTP transport and the caller's record of each hand-over, against a real aiosmtpd server."""

import time

import pytest

from publisher.mail.transports import SENT, HandOver, SmtpTransport, Verdict, Withdrawn
from publisher.site.config import MailOptions

MESSAGE = b"Subject: Hello\r\n\r\nHello.\r\n"


@pytest.fixture
def transport(smtp_sink):
    options = MailOptions(
        transport="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_sink.port,
        smtp_security="none",
        timeout=20,
    )
    yield SmtpTransport(options)


def recording(smtp_sink, steps: list) -> HandOver:
    """A hand-over that notes each step, and whether the server had the message by then."""

    def step(name):
        return lambda: steps.append((name, smtp_sink.data_seen.is_set()))

    return HandOver(step("begin"), step("confirm"), step("done"))


def test_the_record_begins_with_the_data_and_is_confirmed_before_the_end_mark(transport, smtp_sink):
    steps = []
    outcome = transport.deliver(
        "k", "news@example.com", "ann@example.com", MESSAGE, recording(smtp_sink, steps)
    )
    assert outcome == SENT
    assert steps[:2] == [("begin", False), ("confirm", False)]
    assert [name for name, _ in steps] == ["begin", "confirm", "done"]
    assert smtp_sink.received["ann@example.com"] == 1


def test_a_refused_recipient_begins_no_record(transport, smtp_sink):
    smtp_sink.rcpt_replies["bob@example.com"] = ["550 5.1.1 no such user"]
    steps = []
    outcome = transport.deliver(
        "k", "news@example.com", "bob@example.com", MESSAGE, recording(smtp_sink, steps)
    )
    assert outcome.kind == Verdict.BOUNCE
    assert steps == []


def test_a_withdrawn_message_drops_the_line_without_waiting_and_the_next_one_goes(
    transport, smtp_sink
):
    def withdrawn():
        raise Withdrawn

    started = time.monotonic()
    with pytest.raises(Withdrawn):
        transport.deliver(
            "k1",
            "news@example.com",
            "ann@example.com",
            MESSAGE,
            HandOver(lambda: None, withdrawn, lambda: None),
        )
    # A QUIT sent inside the message's data would wait out the 20 s timeout for its reply.
    assert time.monotonic() - started < 10
    steps = []
    outcome = transport.deliver(
        "k2", "news@example.com", "bob@example.com", MESSAGE, recording(smtp_sink, steps)
    )
    assert outcome == SENT
    assert smtp_sink.received == {"bob@example.com": 1}
