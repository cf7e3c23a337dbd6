"""The subscriber list: validated, de-duplicated addresses, and CSV import and export."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from publisher.mail.status import SubscriberStatus
from publisher.mail.store import Store, Subscriber
from publisher.mail.tokens import read_token
from publisher.site.problems import Refusal
from publisher.site.text import header_problem


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
    problem = header_problem(name)
    if problem:
        raise SubscriberError(f"the name {name!r} {problem}")
    return name.strip()


def add(store: Store, email: str, name: str = "") -> Subscriber:
    address, name = normalize(email), check_name(name)
    if not store.add_subscribers([(address, name)])[0]:
        existing = store.find_subscriber(address)
        raise SubscriberError(f"{address} is already on the list ({existing.status})")
    return store.find_subscriber(address)


def find(store: Store, who: str, *, secret: Callable[[], str] | None = None) -> Subscriber:
    """A subscriber by address, or (given the secret) by an unsubscribe link's token;
    SubscriberError when nobody on the list has it."""
    if "@" in who or secret is None:
        subscriber = store.find_subscriber(who)
    else:
        subscriber = store.get_subscriber(read_token(secret(), who))
    if subscriber is None:
        raise SubscriberError(f"{who} is not on the list")
    return subscriber


def remove(store: Store, email: str) -> Subscriber:
    """Forget a subscriber and their delivery history."""
    subscriber = find(store, email)
    store.remove_subscriber(subscriber.id)
    return subscriber


def unsubscribe(store: Store, subscriber: Subscriber) -> None:
    store.set_subscriber_status(subscriber.id, SubscriberStatus.UNSUBSCRIBED)


def import_csv(store: Store, path: Path) -> ImportReport:
    """Add every good row of a CSV file in one transaction; report each bad row by line."""
    report = ImportReport()
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    columns = _columns(rows[0]) if rows else None
    start = 1 if columns else 0
    columns = columns or {"email": 0, "name": 1}
    entries = []
    for line, row in enumerate(rows[start:], start=start + 1):
        if not any(cell.strip() for cell in row):
            continue
        try:
            email = normalize(_cell(row, columns["email"]))
            name = check_name(_cell(row, columns.get("name")))
        except SubscriberError as exc:
            report.bad_rows.append((line, str(exc)))
            continue
        entries.append((email, name))
    added = store.add_subscribers(entries)
    report.added = sum(added)
    report.duplicates = len(added) - report.added
    return report


def export_csv(store: Store) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "status"])
    for subscriber in store.subscribers():
        writer.writerow([subscriber.email, subscriber.name, subscriber.status])
    return out.getvalue()


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [cell.strip().casefold() for cell in header]
    if "email" not in names:
        return None
    return {name: index for index, name in enumerate(names) if name in ("email", "name")}


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""
