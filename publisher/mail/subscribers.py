"""The subscriber list: validated, de-duplicated addresses, and CSV import and export."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from publisher.mail.status import SubscriberStatus
from publisher.mail.store import NewSubscriber, Store, Subscriber
from publisher.mail.tokens import read_token
from publisher.site.problems import Refusal
from publisher.site.text import header_problem

MAX_NAME = 200
# What makes a spreadsheet read a cell as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class SubscriberError(Refusal):
    """An address or name that cannot go on the list, with the reason."""


@dataclass
class ImportReport:
    """What an import did; bad rows carry their line number in the file."""

    added: int = 0
    duplicates: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)


def normalize(email: str) -> str:
    """The address as it will be mailed; raises SubscriberError saying what is wrong."""
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False)
        return result.ascii_email or result.normalized
    except EmailNotValidError as exc:
        raise SubscriberError(f"{email!r} is not a valid address: {exc}") from None


def check_name(name: str) -> str:
    """A name goes into each message's To header: it must be plain text on one line."""
    if len(name) > MAX_NAME:
        raise SubscriberError(f"a name of {len(name):,} characters is longer than {MAX_NAME}")
    problem = header_problem(name)
    if problem:
        raise SubscriberError(f"the name {name!r} {problem}")
    return name.strip()


def add(store: Store, email: str, name: str = "", *, resubscribe: bool = False) -> Subscriber:
    """Add an active subscriber; with `resubscribe`, one who left or bounced becomes active
    again, on purpose (see `reactivate`)."""
    address, name = normalize(email), check_name(name)
    if store.add_subscribers([NewSubscriber(address, name)])[0]:
        return store.find_subscriber(address)
    existing = store.find_subscriber(address)
    if resubscribe and existing.status != SubscriberStatus.ACTIVE:
        return reactivate(store, existing.email)
    hint = "; add --resubscribe to make them active again" if existing.status != "active" else ""
    raise SubscriberError(f"{address} is already on the list ({existing.status}){hint}")


def reactivate(store: Store, email: str) -> Subscriber:
    """Make an unsubscribed or bounced subscriber active again; the store records when."""
    subscriber = find(store, email)
    if subscriber.status == SubscriberStatus.ACTIVE:
        raise SubscriberError(f"{subscriber.email} is active already")
    store.reactivate_subscriber(subscriber.id)
    return store.get_subscriber(subscriber.id)


def find(store: Store, who: str, *, secret: Callable[[], str] | None = None) -> Subscriber:
    """A subscriber by address (in either form of an international domain), or, given the
    secret, by an unsubscribe link's token; SubscriberError when nobody on the list has it."""
    link = urlsplit(who)
    if link.scheme in ("http", "https"):  # the whole unsubscribe link, pasted from a message
        who = next(iter(parse_qs(link.query).get("token", [])), who)
    if "@" in who or secret is None:
        subscriber = store.find_subscriber(who)
        if subscriber is None:
            with contextlib.suppress(SubscriberError):
                subscriber = store.find_subscriber(normalize(who))
    else:
        subscriber = by_token(store, secret(), who)
    if subscriber is None:
        raise SubscriberError(f"{who} is not on the list")
    return subscriber


def by_token(store: Store, secret_key: str, token: str) -> Subscriber | None:
    """Who an unsubscribe link's token names, if they are still on the list: by uid, or by
    row id in a token made before uids. TokenError when the token is not genuine."""
    named = read_token(secret_key, token)
    if isinstance(named, int):
        return store.get_subscriber(named)
    return store.subscriber_by_uid(named)


def remove(store: Store, email: str) -> Subscriber:
    """Forget a subscriber and their delivery history."""
    subscriber = find(store, email)
    store.remove_subscriber(subscriber.id)
    return subscriber


def unsubscribe(store: Store, subscriber: Subscriber) -> bool:
    """Never mail them again; False when they were unsubscribed already."""
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        return False
    store.set_subscriber_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED)
    return True


def import_csv(store: Store, path: Path) -> ImportReport:
    """Add every good row of a CSV file in one transaction; report each bad row by line.

    The columns are found by name (email, and optionally name, status and uid, as `export`
    writes them); without a header, the first column is the address and the second the name.
    """
    report = ImportReport()
    rows = _read_rows(path)
    columns = _columns(rows[0][1]) if rows else None
    columns, rows = (columns, rows[1:]) if columns else ({"email": 0, "name": 1}, rows)
    entries = []
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue
        try:
            entries.append(_entry(row, columns))
        except SubscriberError as exc:
            report.bad_rows.append((line, str(exc)))
    added = store.add_subscribers(entries)
    report.added = sum(added)
    report.duplicates = len(added) - report.added
    return report


def _entry(row: list[str], columns: dict[str, int]) -> NewSubscriber:
    email = normalize(_cell(row, columns["email"]))
    name = _cell(row, columns.get("name"))
    if name.startswith("'") and name[1:].startswith(FORMULA_STARTS):
        name = name[1:]  # as `export` protected it
    status = _cell(row, columns.get("status")).strip().casefold() or SubscriberStatus.ACTIVE
    if status not in set(SubscriberStatus):
        raise SubscriberError(f"unknown status {status!r}; use active, unsubscribed or bounced")
    uid = _cell(row, columns.get("uid")).strip().casefold()
    if uid and not re.fullmatch(r"[0-9a-f]{32}", uid):
        raise SubscriberError(f"{uid!r} is not a uid that publisher wrote")
    return NewSubscriber(email, check_name(name), SubscriberStatus(status), uid)


def export_csv(store: Store) -> str:
    """Every subscriber, with the status and uid that an import into another state keeps."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "status", "uid"])
    for subscriber in store.subscribers():
        row = [subscriber.email, _inert(subscriber.name), subscriber.status, subscriber.uid]
        writer.writerow(row)
    return out.getvalue()


def _inert(cell: str) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP's advice: a leading quote)."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [cell.strip().casefold() for cell in header]
    if "email" not in names:
        return None
    known = ("email", "name", "status", "uid")
    return {name: index for index, name in enumerate(names) if name in known}


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    """The file's rows with the line each starts on; UTF-8 (with or without a byte order
    mark) or UTF-16 with one. SubscriberError names the line of anything unreadable."""
    data = path.read_bytes()
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None
    try:
        text = data.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubscriberError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "save the file as UTF-8 and import it again"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SubscriberError(f"{path}:{start}: {exc}; is it a CSV file?") from None
    return rows


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""
