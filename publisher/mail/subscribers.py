"""The subscriber list: validated, de-duplicated addresses and their status."""

from __future__ import annotations

import csv
import io
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from publisher.mail.store import now_text, transaction

STATUSES = ("active", "unsubscribed", "bounced")


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str
    status: str


class SubscriberError(ValueError):
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
    if "\r" in name or "\n" in name:
        raise SubscriberError("a name cannot contain a line break")
    return name.strip()


def add(connection: sqlite3.Connection, email: str, name: str = "") -> Subscriber:
    address, name = normalize(email), check_name(name)
    with transaction(connection):
        existing = find(connection, address)
        if existing:
            raise SubscriberError(f"{address} is already on the list ({existing.status})")
        _insert(connection, address, name)
    return find(connection, address)


def remove(connection: sqlite3.Connection, email: str) -> bool:
    """Delete a subscriber and their delivery history; False when they were not on the list."""
    subscriber = find(connection, email)
    if not subscriber:
        return False
    with transaction(connection):
        connection.execute("DELETE FROM deliveries WHERE subscriber_id = ?", (subscriber.id,))
        connection.execute("DELETE FROM subscribers WHERE id = ?", (subscriber.id,))
    return True


def set_status(connection: sqlite3.Connection, subscriber_id: int, status: str) -> None:
    """Change a status at once; an unsubscribed or bounced subscriber gets nothing more."""
    with transaction(connection):
        connection.execute(
            "UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
            (status, now_text(), subscriber_id),
        )
        if status != "active":
            connection.execute(
                "UPDATE deliveries SET status = 'skipped', updated_at = ? "
                "WHERE subscriber_id = ? AND status = 'pending'",
                (now_text(), subscriber_id),
            )


def find(connection: sqlite3.Connection, email: str) -> Subscriber | None:
    row = connection.execute(
        "SELECT id, email, name, status FROM subscribers WHERE email_key = ?",
        (email.strip().casefold(),),
    ).fetchone()
    return Subscriber(**row) if row else None


def get(connection: sqlite3.Connection, subscriber_id: int) -> Subscriber | None:
    row = connection.execute(
        "SELECT id, email, name, status FROM subscribers WHERE id = ?", (subscriber_id,)
    ).fetchone()
    return Subscriber(**row) if row else None


def listing(connection: sqlite3.Connection, status: str | None = None) -> list[Subscriber]:
    query = "SELECT id, email, name, status FROM subscribers"
    rows = connection.execute(
        query + (" WHERE status = ? ORDER BY id" if status else " ORDER BY id"),
        (status,) if status else (),
    )
    return [Subscriber(**row) for row in rows]


def import_csv(connection: sqlite3.Connection, path: Path) -> ImportReport:
    """Add every good row of a CSV file in one transaction; report each bad row by line."""
    report = ImportReport()
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    columns = _columns(rows[0]) if rows else None
    start = 1 if columns else 0
    columns = columns or {"email": 0, "name": 1}
    with transaction(connection):
        for line, row in enumerate(rows[start:], start=start + 1):
            if not any(cell.strip() for cell in row):
                continue
            try:
                email = normalize(_cell(row, columns["email"]))
                name = check_name(_cell(row, columns.get("name")))
            except SubscriberError as exc:
                report.bad_rows.append((line, str(exc)))
                continue
            if find(connection, email):
                report.duplicates += 1
                continue
            _insert(connection, email, name)
            report.added += 1
    return report


def export_csv(connection: sqlite3.Connection) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["email", "name", "status"])
    for subscriber in listing(connection):
        writer.writerow([subscriber.email, subscriber.name, subscriber.status])
    return out.getvalue()


def _insert(connection: sqlite3.Connection, email: str, name: str) -> None:
    stamp = now_text()
    connection.execute(
        "INSERT INTO subscribers (email, email_key, name, status, created_at, updated_at) "
        "VALUES (?, ?, ?, 'active', ?, ?)",
        (email, email.casefold(), name, stamp, stamp),
    )


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [cell.strip().casefold() for cell in header]
    if "email" not in names:
        return None
    return {name: index for index, name in enumerate(names) if name in ("email", "name")}


def _cell(row: list[str], index: int | None) -> str:
    return row[index] if index is not None and index < len(row) else ""
