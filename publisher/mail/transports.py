"""Where messages go: a Maildir folder, or an SMTP server. Each reports what became of a message.

Both call the caller's `HandOver` around the act that hands a message over for good: the
Maildir rename, or the last two bytes of the SMTP end-of-data mark. `begin` as the message
starts to go (once the server took its recipient), for the caller to start its record of the
hand-over; `confirm` just before the act. The server cannot take the message before those
bytes arrive, so the record always exists by the time the server has the message; a run
killed in between is the only gap. `done` right after, while the server is still deciding,
for the caller to use that time: to make its record durable and to make the next message.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from publisher.site.config import MailOptions
from publisher.site.problems import Refusal


class Verdict(StrEnum):
    """What became of one message: sent; retry it later; bounce (the address is dead);
    unknown (handed over, and the server went silent before saying what it did)."""

    SENT = "sent"
    RETRY = "retry"
    BOUNCE = "bounce"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Outcome:
    kind: Verdict
    detail: str = ""
    # No server was reached at all (refused, unknown host, time-out, dropped).
    unreachable: bool = False


SENT = Outcome(Verdict.SENT)


@dataclass(frozen=True)
class HandOver:
    """What the caller does around a hand-over (see the module's docstring). `begin` raises
    StopSending when no record can be made; `confirm` raises Withdrawn when the message must
    not go."""

    begin: Callable[[], None]
    confirm: Callable[[], None]
    done: Callable[[], None]


class MaildirTransport:
    """Writes each message into a Maildir (tmp/, then new/), readable by mutt or any client."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for sub in ("tmp", "new", "cur"):
            (folder / sub).mkdir(parents=True, exist_ok=True)

    def deliver(
        self,
        key: str,
        sender: str,
        recipient: str,
        data: bytes,
        hand_over: HandOver,
    ) -> Outcome:
        hand_over.begin()
        temporary = self.folder / "tmp" / key
        with open(temporary, "wb") as handle:
            # A Maildir holds messages with the local line ending; CRLF is for the wire.
            handle.write(data.replace(b"\r\n", b"\n"))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            hand_over.confirm()
        except Withdrawn:
            temporary.unlink()
            raise
        os.replace(temporary, self.folder / "new" / key)
        hand_over.done()
        return SENT

    def settle(self, key: str) -> bool:
        """After a crash: True when the message is in the mailbox, read (cur/) or not (new/)."""
        if (self.folder / "new" / key).exists() or (self.folder / "cur" / key).exists():
            return True
        return any((self.folder / "cur").glob(f"{key}:*"))

    def close(self) -> None:
        pass


class StopSending(Exception):
    """A failure that no retry will fix: bad credentials, a refused sender, a refused message."""


class Withdrawn(Exception):
    """Raised by a `HandOver`: the delivery is another sender's now; the message
    must not be handed over."""


class SmtpTransport:
    """One SMTP connection, reused for many messages and reopened when the server drops it."""

    def __init__(self, options: MailOptions) -> None:
        self.options = options
        self.connection: smtplib.SMTP | None = None

    def deliver(
        self,
        key: str,
        sender: str,
        recipient: str,
        data: bytes,
        hand_over: HandOver,
    ) -> Outcome:
        try:
            return self._deliver(sender, recipient, data, hand_over)
        except ssl.SSLCertVerificationError as exc:
            self.close()
            raise StopSending(
                f"the server's certificate is not valid: {exc.verify_message}"
            ) from None
        except smtplib.SMTPNotSupportedError:
            self.close()
            raise StopSending(
                "the server does not offer STARTTLS; set PUBLISHER_SMTP_SECURITY to ssl or none"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            reason = f"connection failed: {exc or type(exc).__name__}"
            return Outcome(Verdict.RETRY, reason, unreachable=True)

    def _deliver(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        hand_over: HandOver,
    ) -> Outcome:
        smtp = self._connect()
        # Both addresses are checked plain ASCII addresses (the sender in site/config.py,
        # each subscriber in mail/subscribers.py), so the commands are written directly; smtplib's
        # mail() and rcpt() would parse each address again.
        code, reply = smtp.docmd("MAIL", f"FROM:<{sender}>")
        if code != 250:
            return self._refused(code, reply, "the sender", stop_on_5xx=True)
        code, reply = smtp.docmd("RCPT", f"TO:<{recipient}>")
        if code not in (250, 251):
            return self._refused_recipient(code, reply)
        hand_over.begin()
        code, reply = smtp.docmd("DATA")
        if code != 354:
            return self._refused(code, reply, "the message", stop_on_5xx=True)
        smtp.send(_dot_stuffed(data) + b".")
        try:
            hand_over.confirm()
        except BaseException:
            self._drop()  # the message's data went out without its end: the server drops it
            raise
        smtp.send(b"\r\n")
        hand_over.done()
        # A server that drops the line before replying has not taken the message: it is
        # retried. One that goes silent for `timeout` may have it: the verdict is unknown.
        try:
            code, reply = smtp.getreply()
        except smtplib.SMTPServerDisconnected as exc:
            if not isinstance(exc.__context__, TimeoutError):
                raise
            self.close()
            silence = f"no reply to the message in {self.options.timeout:g} s"
            return Outcome(Verdict.UNKNOWN, silence)
        if code == 250:
            return SENT
        return self._refused(
            code, reply, "the message", stop_on_5xx=not _mailbox_problem(code, reply)
        )

    def _refused_recipient(self, code: int, reply: bytes) -> Outcome:
        """Only a 5xx about the recipient's mailbox or address bounces them. A policy refusal
        (5.7.x: relaying denied, not logged in) is about us, and stops the run; 552 is
        temporary at RCPT (RFC 5321 4.5.3.1.10)."""
        if code == 552:
            self._reset()
            return Outcome(Verdict.RETRY, _reply_text(code, reply))
        if 500 <= code < 600 and not _about_the_recipient(code, reply):
            self._reset()
            raise StopSending(f"the server refused the recipient: {_reply_text(code, reply)}")
        return self._refused(code, reply, "the recipient", stop_on_5xx=False)

    def _refused(self, code: int, reply: bytes, what: str, *, stop_on_5xx: bool) -> Outcome:
        text = _reply_text(code, reply)
        if code == 421:
            self.close()
            return Outcome(Verdict.RETRY, text)
        self._reset()
        if 400 <= code < 500:
            return Outcome(Verdict.RETRY, text)
        if stop_on_5xx:
            raise StopSending(f"the server refused {what}: {text}")
        return Outcome(Verdict.BOUNCE, text)

    def _connect(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        options = self.options
        context = ssl.create_default_context()
        port = options.smtp_port or {"ssl": 465, "starttls": 587}.get(options.smtp_security, 25)
        if options.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(
                options.smtp_host, port, timeout=options.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(options.smtp_host, port, timeout=options.timeout)
            if options.smtp_security == "starttls":
                smtp.starttls(context=context)
        # The end-of-data mark's last bytes go out on their own (see `_deliver`); without
        # NODELAY, Nagle's algorithm holds them until the server's delayed ACK, ~40 ms.
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        smtp.ehlo_or_helo_if_needed()
        username = os.environ.get("PUBLISHER_SMTP_USERNAME")
        if username:
            try:
                smtp.login(username, os.environ.get("PUBLISHER_SMTP_PASSWORD", ""))
            except smtplib.SMTPAuthenticationError as exc:
                smtp.close()
                raise StopSending(
                    f"the server refused the login ({exc.smtp_code}); "
                    "check PUBLISHER_SMTP_USERNAME and PUBLISHER_SMTP_PASSWORD"
                ) from None
        self.connection = smtp
        return smtp

    def _reset(self) -> None:
        try:
            if self.connection:
                self.connection.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def _drop(self) -> None:
        """Close the line at once: in the middle of a message's data, a QUIT would only be
        more data, and its reply would never come."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (TimeoutError, smtplib.SMTPException, OSError):
                self.connection.close()
            self.connection = None


def _dot_stuffed(data: bytes) -> bytes:
    """RFC 5321 section 4.5.2: a line that starts with a dot gets a second one."""
    data = b"." + data if data.startswith(b".") else data
    data = data.replace(b"\n.", b"\n..")
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _reply_text(code: int, reply: bytes) -> str:
    return f"{code} {reply.decode(errors='replace')}"


def _about_the_recipient(code: int, reply: bytes) -> bool:
    """A 5xx at RCPT that is about the address (RFC 3463 5.1.x), or, with no enhanced code,
    one of the replies that mean "no such mailbox" (550, 551, 553)."""
    enhanced = re.match(rb"\s*5\.(\d{1,3})\.\d{1,3}", reply)
    if enhanced:
        return enhanced.group(1) == b"1"
    return code in (550, 551, 553)


def _mailbox_problem(code: int, reply: bytes) -> bool:
    """A 5xx after the data that is about the recipient's mailbox (RFC 3463 5.1.x, 5.2.x)."""
    enhanced = re.match(rb"\s*5\.(\d)\.\d", reply)
    if enhanced:
        return enhanced.group(1) in (b"1", b"2")
    return code in (550, 551, 553)


def destination(options: MailOptions) -> str:
    """Where the mail goes, in words, for a run's summary."""
    if options.transport == "smtp":
        port = options.smtp_port or {"ssl": 465, "starttls": 587}.get(options.smtp_security, 25)
        return f"SMTP server {options.smtp_host}:{port} ({options.smtp_security})"
    return f"the Maildir {options.maildir}"


class CannotSend(Refusal):
    """Mail that would be lost or refused as configured; the message says what to do."""


def check_transport(options: MailOptions, environment: Mapping[str, str]) -> None:
    """Refuse mail that cannot leave as configured: on CI, a Maildir nobody chose would
    vanish with the runner, and every message in it would count as delivered."""
    if environment.get("PUBLISHER_SMTP_HOST", "unset").strip() == "":
        # What CI passes for a secret that is not set.
        raise CannotSend(
            "PUBLISHER_SMTP_HOST is set but empty: give it the mail server's name "
            "(on CI, check that its secret exists), or unset it"
        )
    on_ci = environment.get("CI", "").strip().casefold() not in ("", "0", "false")
    if on_ci and not options.transport:
        raise CannotSend(
            "on CI, mail would go into a Maildir on the runner and be lost: set "
            'PUBLISHER_SMTP_HOST (is its secret set?), or transport = "maildir" under [mail] '
            "if that is what you want"
        )


def open_transport(options: MailOptions, root: Path) -> MaildirTransport | SmtpTransport:
    if options.transport == "smtp":
        return SmtpTransport(options)
    return MaildirTransport(root / options.maildir)
