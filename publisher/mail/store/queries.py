"""Every statement that SQLite and PostgreSQL run the same way, written once.

`Store` is the whole interface of the state: nothing outside this package sees SQL or a
database's types. Statements use `?` placeholders; each backend (sqlite.py, postgres.py)
supplies the connection plumbing and what the two databases do differently: durability,
who may send at once, and how deliveries are handed out to the senders.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import datetime
from itertools import islice
from typing import Any

from publisher.mail.status import Confirmed, DeliveryStatus, SubscriberStatus
from publisher.mail.store.records import (
    Flushed,
    Limit,
    NewSubscriber,
    Offer,
    StateError,
    StoredNewsletter,
    Subscriber,
    stamp,
    stamp_now,
)
from publisher.sources.records import KeptEntry, Memory, Polled, RemoteEntry, SourceState

# Deliveries are read in batches of this many, so memory stays flat on a long list.
BATCH = 500

Row = Mapping[str, Any]


class Store:
    """The state, whichever database holds it; `where` names it for messages, with no
    password in it."""

    where: str

    # Plumbing, given by each backend

    def close(self) -> None:
        raise NotImplementedError

    def _one(self, query: str, *values: object) -> Row | None:
        raise NotImplementedError

    def _all(self, query: str, *values: object) -> list[Row]:
        raise NotImplementedError

    def _write(self, query: str, *values: object) -> int:
        """One statement, committed on its own at once (inside `_transaction`, with it);
        the number of rows it changed."""
        raise NotImplementedError

    def _write_many(self, query: str, rows: Iterable[Sequence[object]]) -> None:
        raise NotImplementedError

    def _write_verdict(self, query: str, *values: object) -> None:
        """A delivery's status, written as `_write` does, unless the backend lets it reach
        the disk later (see postgres.py)."""
        self._write(query, *values)

    def _stream(self, query: str) -> Iterator[Sequence[object]]:
        """Every row of a query as a tuple, read as they come, not all at once."""
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[None]:
        """One atomic change: all of it is committed, or none of it. Nests."""
        raise NotImplementedError

    # Sending, as each database allows it

    def sender(self) -> AbstractContextManager[None]:
        """This process as a sender of the state's newsletters, for the length of a send."""
        raise NotImplementedError

    def group_flushes(self) -> AbstractContextManager[Flushed]:
        """Commits that may wait for the disk together (a send's workers, the service's
        requests), and what a caller waits on until its own are there."""
        raise NotImplementedError

    def claim(self, newsletter_id: int) -> Iterator[Subscriber]:
        """The pending deliveries this sender is to make in one pass, in batches."""
        return self.deliveries(newsletter_id, DeliveryStatus.PENDING)

    def interrupted(self, newsletter_id: int) -> Iterator[Subscriber]:
        """Deliveries left in "sending" by a sender that is gone."""
        return self.deliveries(newsletter_id, DeliveryStatus.SENDING)

    def hand_over(self, newsletter_id: int, subscriber_id: int) -> bool:
        """Mark a pending delivery "sending" just before its hand-over; False when it is not
        pending any more (its subscriber left, or another sender has it)."""
        return bool(
            self._write(
                "UPDATE deliveries SET status = 'sending', updated_at = ? "
                "WHERE newsletter_id = ? AND subscriber_id = ? AND status = 'pending'",
                stamp_now(),
                newsletter_id,
                subscriber_id,
            )
        )

    def begin_hand_over(self, newsletter_id: int, subscriber_id: int) -> Callable[[bool], bool]:
        """`hand_over` in two steps: begun once the server takes the recipient, then answered,
        once: `answer(True)` just before the message's last bytes, which gives hand_over's
        answer, or `answer(False)` when the message never went. This backend writes at the
        answer, so a killed run leaves "sending" for a message the server never got only in
        that moment; a backend whose statements are round trips sends the statement at the
        beginning instead, to commit while the message goes out."""

        def answer(goes: bool) -> bool:
            return goes and self.hand_over(newsletter_id, subscriber_id)

        return answer

    def record_verdict(
        self, newsletter_id: int, subscriber_id: int, status: DeliveryStatus, error: str = ""
    ) -> None:
        """What became of a message handed over, written at once; a backend whose every
        statement is a round trip carries it with this thread's next hand-over instead."""
        self.set_delivery(newsletter_id, subscriber_id, status, error, attempted=True)

    def flush_verdicts(self) -> None:
        """Write the verdicts this thread still carries: before it waits, and at its end."""

    # Subscribers

    def find_subscriber(self, email: str) -> Subscriber | None:
        """By address, whatever its case."""
        return self._subscriber("email_key = ?", email.strip().casefold())

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        return self._subscriber("id = ?", subscriber_id)

    def subscriber_by_uid(self, uid: str) -> Subscriber | None:
        return self._subscriber("uid = ?", uid)

    def subscribers(self, status: SubscriberStatus | None = None) -> list[Subscriber]:
        query = f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers"
        if status:
            rows = self._all(query + " WHERE status = ? ORDER BY id", str(status))
        else:
            rows = self._all(query + " ORDER BY id")
        return [subscriber(row) for row in rows]

    def add_subscribers(self, entries: Iterable[NewSubscriber]) -> list[bool]:
        """Add subscribers in one transaction; for each, False when the address (or the uid)
        was on the list already."""
        added = []
        with self._transaction():
            for entry in entries:
                created = stamp_now()
                added.append(
                    self._write(
                        "INSERT INTO subscribers (uid, email, email_key, name, status, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        entry.uid or secrets.token_hex(16),
                        entry.email,
                        entry.email.strip().casefold(),
                        entry.name,
                        str(entry.status),
                        created,
                        created,
                    )
                    == 1
                )
        return added

    def remove_subscriber(self, subscriber_id: int) -> None:
        """Forget a subscriber and their delivery history."""
        with self._transaction():
            self._write("DELETE FROM deliveries WHERE subscriber_id = ?", subscriber_id)
            self._write("DELETE FROM subscribers WHERE id = ?", subscriber_id)

    def set_subscriber_status(self, subscriber_id: int, status: SubscriberStatus) -> None:
        """At once; one who is no longer active gets nothing more, from any send."""
        with self._transaction():
            self._write(
                "UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
                str(status),
                stamp_now(),
                subscriber_id,
            )
            if status != SubscriberStatus.ACTIVE:
                self._write(
                    "UPDATE deliveries SET status = 'skipped', updated_at = ? "
                    "WHERE subscriber_id = ? AND status = 'pending'",
                    stamp_now(),
                    subscriber_id,
                )

    def reactivate_subscriber(self, subscriber_id: int) -> None:
        """Active again, on the writer's word, recorded as such."""
        self._write(
            "UPDATE subscribers SET status = 'active', updated_at = ?, reactivated_at = ? "
            "WHERE id = ?",
            stamp_now(),
            stamp_now(),
            subscriber_id,
        )

    # Sign-ups (`publisher serve`)

    def offer_signup(
        self,
        email: str,
        name: str,
        *,
        now: datetime,
        resend_after: datetime,
        expire_before: datetime,
        max_pending: int,
    ) -> Offer:
        """Keep a sign-up until it is confirmed. No mail when one went to this address since
        `resend_after`, or when `max_pending` sign-ups wait already; those older than
        `expire_before` are forgotten first."""
        key = email.casefold()
        with self._transaction():
            self._write("DELETE FROM signups WHERE created_at < ?", stamp(expire_before))
            row = self._one("SELECT nonce, mailed_at FROM signups WHERE email_key = ?", key)
            if row and row["mailed_at"] >= stamp(resend_after):
                return Offer(refused="a confirmation went to this address recently")
            if row:
                self._write(
                    "UPDATE signups SET name = ?, mailed_at = ? WHERE email_key = ?",
                    name,
                    stamp(now),
                    key,
                )
                return Offer(row["nonce"])
            if self.pending_signups() >= max_pending:
                return Offer(refused=f"{max_pending} sign-ups wait for their confirmation")
            nonce = secrets.token_hex(8)
            self._write(
                "INSERT INTO signups (email_key, email, name, nonce, created_at, mailed_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (email_key) DO NOTHING",
                key,
                email,
                name,
                nonce,
                stamp(now),
                stamp(now),
            )
        return Offer(nonce)

    def confirm_signup(self, email: str, nonce: str) -> Confirmed:
        """The waiting sign-up with this nonce becomes an active subscriber, at most once."""
        key = email.casefold()
        with self._transaction():
            row = self._one("SELECT name, nonce FROM signups WHERE email_key = ?", key)
            found = self.find_subscriber(email)
            active = found is not None and found.status == SubscriberStatus.ACTIVE
            if row is None or not secrets.compare_digest(row["nonce"], nonce):
                return Confirmed.ALREADY if active else Confirmed.UNKNOWN
            if not self._write(
                "DELETE FROM signups WHERE email_key = ? AND nonce = ?", key, row["nonce"]
            ):
                return Confirmed.ALREADY  # confirmed at this moment by another request
            if found is None:
                self.add_subscribers([NewSubscriber(email, row["name"])])
            elif not active:
                self.reactivate_subscriber(found.id)
        return Confirmed.ALREADY if active else Confirmed.SUBSCRIBED

    def drop_signup(self, email: str, nonce: str) -> None:
        """Forget a sign-up whose confirmation could not be mailed, so it can be asked again."""
        self._write(
            "DELETE FROM signups WHERE email_key = ? AND nonce = ?", email.casefold(), nonce
        )

    def pending_signups(self) -> int:
        return self._one("SELECT count(*) AS n FROM signups")["n"]

    def count_hits(self, limits: Sequence[Limit], *, now: float) -> Limit | None:
        """Count one more request against each limit's bucket in its current period; when one
        is reached already, count nothing and return it."""
        windows = [(limit, int(now // limit.period)) for limit in limits]
        counters = [
            (f"{limit.bucket}@{limit.period}:{window}", (window + 1) * limit.period)
            for limit, window in windows
        ]
        with self._transaction():
            self._write("DELETE FROM limits WHERE expires <= ?", int(now))
            for limit, (name, _) in zip(limits, counters, strict=True):
                row = self._one("SELECT hits FROM limits WHERE bucket = ?", name)
                if row and row["hits"] >= limit.most:
                    return limit
            self._write_many(
                "INSERT INTO limits (bucket, hits, expires) VALUES (?, 1, ?) "
                "ON CONFLICT (bucket) DO UPDATE SET hits = limits.hits + 1",
                counters,
            )
        return None

    def readable(self) -> bool:
        """True when the state answers a query (for a health check)."""
        try:
            self._one("SELECT count(*) AS n FROM subscribers")
        except StateError:
            return False
        return True

    # Newsletters

    def newsletter_id(self, key: str) -> int | None:
        row = self._one("SELECT id FROM newsletters WHERE key = ?", key)
        return row["id"] if row else None

    def record_newsletter(
        self, key: str, letter: StoredNewsletter, post_ids: list[str], created: datetime
    ) -> int:
        """The newsletter's id; on first sight, store it and snapshot its audience: one
        pending delivery for each subscriber active at this moment. Whoever records it
        first does so; a second run at the same moment gets the same id."""
        message = json.dumps({"subject": letter.subject, "html": letter.html, "text": letter.text})
        with self._transaction():
            row = self._one(
                "INSERT INTO newsletters (key, subject, message, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key) DO NOTHING RETURNING id",
                key,
                letter.subject,
                message,
                created.isoformat(),
            )
            if row is None:
                return self.newsletter_id(key)
            newsletter_id = row["id"]
            self._write_many(
                "INSERT INTO newsletter_posts (newsletter_id, post_id) VALUES (?, ?)",
                [(newsletter_id, post_id) for post_id in post_ids],
            )
            self._write(
                "INSERT INTO deliveries (newsletter_id, subscriber_id, status, updated_at) "
                "SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'",
                newsletter_id,
                stamp_now(),
            )
        return newsletter_id

    def recorded_newsletter(self, newsletter_id: int) -> StoredNewsletter:
        row = self._one("SELECT message FROM newsletters WHERE id = ?", newsletter_id)
        stored = json.loads(row["message"])
        return StoredNewsletter(stored["subject"], stored["html"], stored["text"])

    def unfinished_newsletters(self) -> list[int]:
        """Newsletters an earlier run left with deliveries to make, oldest first."""
        rows = self._all("SELECT id FROM newsletters WHERE finished_at IS NULL ORDER BY id")
        return [row["id"] for row in rows]

    def finish_newsletter(self, newsletter_id: int) -> None:
        self._write(
            "UPDATE newsletters SET finished_at = coalesce(finished_at, ?) WHERE id = ?",
            stamp_now(),
            newsletter_id,
        )

    def last_digest_at(self) -> datetime | None:
        row = self._one("SELECT max(created_at) AS at FROM newsletters WHERE key LIKE 'digest:%'")
        return _moment(row["at"])

    def active_emails(self) -> list[str]:
        rows = self._all("SELECT email FROM subscribers WHERE status = 'active' ORDER BY id")
        return [row["email"] for row in rows]

    def pending_emails(self, newsletter_id: int) -> list[str]:
        """Who a recorded newsletter has still to reach."""
        rows = self._all(
            "SELECT s.email FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id "
            "WHERE d.newsletter_id = ? AND d.status = 'pending' AND s.status = 'active' "
            "ORDER BY s.id",
            newsletter_id,
        )
        return [row["email"] for row in rows]

    # Deliveries

    def deliveries(self, newsletter_id: int, status: DeliveryStatus) -> Iterator[Subscriber]:
        """The subscribers of a newsletter's deliveries in one status, read in batches."""
        last = 0
        while True:
            rows = self._all(
                "SELECT s.id, s.uid, s.email, s.name, s.status FROM deliveries d "
                "JOIN subscribers s ON s.id = d.subscriber_id "
                "WHERE d.newsletter_id = ? AND d.status = ? AND d.subscriber_id > ? "
                "ORDER BY d.subscriber_id LIMIT ?",
                newsletter_id,
                str(status),
                last,
                BATCH,
            )
            if not rows:
                return
            yield from (subscriber(row) for row in rows)
            last = rows[-1]["id"]

    def set_delivery(
        self,
        newsletter_id: int,
        subscriber_id: int,
        status: DeliveryStatus,
        error: str = "",
        *,
        attempted: bool = False,
    ) -> None:
        """One delivery's new status: one statement, committed on its own at once."""
        self._write_verdict(
            "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, "
            "updated_at = ? WHERE newsletter_id = ? AND subscriber_id = ?",
            str(status),
            error,
            int(attempted),
            stamp_now(),
            newsletter_id,
            subscriber_id,
        )

    def resend_unknown(self, newsletter_id: int) -> None:
        """Make the deliveries a crash left unknown pending again, on the writer's word."""
        self._write(
            "UPDATE deliveries SET status = 'pending' "
            "WHERE newsletter_id = ? AND status = 'unknown'",
            newsletter_id,
        )

    def delivery_counts(self, newsletter_id: int) -> Counter[DeliveryStatus]:
        rows = self._all(
            "SELECT status, count(*) AS n FROM deliveries WHERE newsletter_id = ? GROUP BY status",
            newsletter_id,
        )
        return Counter({DeliveryStatus(row["status"]): row["n"] for row in rows})

    # The first run's baseline

    def baseline_recorded(self) -> bool:
        return self._one("SELECT 1 AS found FROM settings WHERE key = 'baseline_at'") is not None

    def record_baseline(self, post_ids: list[str], at: datetime) -> bool:
        """Record posts as published before the newsletter started; False (and nothing
        recorded) when a baseline exists already."""
        with self._transaction():
            if not self._write(
                "INSERT INTO settings (key, value) VALUES ('baseline_at', ?) "
                "ON CONFLICT (key) DO NOTHING",
                at.isoformat(),
            ):
                return False
            self._write_many(
                "INSERT INTO baseline (post_id, recorded_at) VALUES (?, ?) "
                "ON CONFLICT (post_id) DO NOTHING",
                [(post_id, stamp_now()) for post_id in post_ids],
            )
        return True

    def newsletter_posts(self) -> list[tuple[str, ...]]:
        """The post ids of each recorded newsletter, in the order they were recorded."""
        rows = self._all(
            "SELECT newsletter_id, post_id FROM newsletter_posts ORDER BY newsletter_id, post_id"
        )
        groups: dict[int, list[str]] = {}
        for row in rows:
            groups.setdefault(row["newsletter_id"], []).append(row["post_id"])
        return [tuple(ids) for ids in groups.values()]

    def known_post_ids(self) -> set[str]:
        """Posts that a newsletter holds or the baseline recorded: never mailed again."""
        known = {row["post_id"] for row in self._all("SELECT post_id FROM newsletter_posts")}
        return known | {row["post_id"] for row in self._all("SELECT post_id FROM baseline")}

    # WebSub hubs

    def pinged(self, hub: str) -> dict[str, str]:
        """What `hub` was last told of each feed: the feed's stamp then, by its path."""
        rows = self._all("SELECT path, stamp FROM hub_pings WHERE hub = ?", hub)
        return {row["path"]: row["stamp"] for row in rows}

    def record_pinged(self, hub: str, stamps: dict[str, str]) -> None:
        with self._transaction():
            self._write_many(
                "INSERT INTO hub_pings (hub, path, stamp) VALUES (?, ?, ?) "
                "ON CONFLICT (hub, path) DO UPDATE SET stamp = excluded.stamp",
                [(hub, path, stamp) for path, stamp in stamps.items()],
            )

    # Remote feeds ([[sources]])

    def source_states(self) -> dict[str, SourceState]:
        """What each source's last fetch left, by the feed's URL as first configured and by
        the URL it is fetched from now."""
        states = {}
        for row in self._all(f"SELECT {SOURCE_COLUMNS} FROM sources"):
            state = SourceState(
                row["feed"],
                row["url"],
                row["etag"],
                row["last_modified"],
                _moment(row["checked_at"]),
                row["status"],
                row["error"],
                _moment(row["retry_after"]),
                bool(row["gone"]),
                _moment(row["baseline_at"]),
            )
            states[state.feed] = state
            states.setdefault(state.url, state)
        return states

    def source_memory(self) -> dict[str, Memory]:
        """What each source's entries were, to tell the new ones of a fetch."""
        seen: dict[str, tuple[set[str], set[str], list[str]]] = {}
        rows = self._all("SELECT feed, entry_key, fingerprint, published_at FROM source_entries")
        for row in rows:
            keys, prints, dates = seen.setdefault(row["feed"], (set(), set(), []))
            keys.add(row["entry_key"])
            prints.add(row["fingerprint"])
            if row["published_at"]:
                dates.append(row["published_at"])
        return {
            feed: Memory(frozenset(keys), frozenset(prints), _moment(max(dates, default=None)))
            for feed, (keys, prints, dates) in seen.items()
        }

    def record_polls(self, polled: Iterable[Polled]) -> None:
        """Every fetch's state and new entries, all in one transaction: each entry's verdict
        is kept before anything is mailed."""
        with self._transaction():
            for poll in polled:
                if not poll.changed:
                    continue
                state = poll.state
                self._write(
                    f"INSERT INTO sources ({SOURCE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (feed) DO UPDATE SET url = excluded.url, etag = excluded.etag, "
                    "last_modified = excluded.last_modified, checked_at = excluded.checked_at, "
                    "status = excluded.status, error = excluded.error, "
                    "retry_after = excluded.retry_after, gone = excluded.gone, "
                    "baseline_at = excluded.baseline_at",
                    state.feed,
                    state.url,
                    state.etag,
                    state.last_modified,
                    _stamp(state.checked_at),
                    state.status,
                    state.error,
                    _stamp(state.retry_after),
                    int(state.gone),
                    _stamp(state.baseline_at),
                )
                self._write_many(
                    "INSERT INTO source_entries (post_key, feed, entry_key, fingerprint, "
                    "published_at, seen_at, verdict, entry) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (post_key) DO NOTHING",
                    [
                        (
                            one.post_key,
                            state.feed,
                            one.key,
                            one.fingerprint,
                            _stamp(one.entry.date),
                            stamp(one.seen_at),
                            one.verdict,
                            json.dumps(_entry_json(one.entry)),
                        )
                        for one in poll.decided
                    ],
                )

    def kept_entries(self, *, verdict: str = "", mailed: bool = False) -> list[KeptEntry]:
        """The sources' entries, oldest first: every one, those given `verdict`, or with
        `mailed` those a newsletter holds."""
        query = "SELECT feed, post_key, verdict, seen_at, entry FROM source_entries"
        if verdict:
            rows = self._all(query + " WHERE verdict = ? ORDER BY seen_at", verdict)
        elif mailed:
            held = "SELECT post_id FROM newsletter_posts"
            rows = self._all(query + f" WHERE post_key IN ({held}) ORDER BY seen_at")
        else:
            rows = self._all(query + " ORDER BY seen_at")
        return [
            KeptEntry(
                row["feed"],
                row["post_key"],
                row["verdict"],
                _moment(row["seen_at"]),
                _entry_from_json(json.loads(row["entry"])),
            )
            for row in rows
        ]

    # The whole state, table by table (`publisher state copy`)

    def copy_to(self, target: Store) -> dict[str, int]:
        """Every row of this state into the empty `target`, in one transaction there, read
        from one snapshot here; each table's count checked on both sides before the target
        commits. The counts, by table."""
        if not target.is_empty():
            raise StateError(
                f"{target.where} is not empty: copy into a new database or file, so that no "
                "subscriber or delivery is mixed with another list's"
            )
        counts = {}
        with self._snapshot(), target._transaction():
            for table in COPIED_TABLES:
                for rows in _batches(self._stream(_select_all(table))):
                    target._write_many(_insert(table), rows)
                counts[table] = target.count_rows(table)
                expected = self.count_rows(table)
                if counts[table] != expected:
                    raise StateError(
                        f"copying {table} to {target.where} gave {counts[table]} rows of "
                        f"{expected}: nothing was copied; run the copy again"
                    )
            target._finish_copy()
        return counts

    def is_empty(self) -> bool:
        return not any(
            self._one(f"SELECT 1 AS found FROM {table} LIMIT 1") for table in COPIED_TABLES
        )

    def count_rows(self, table: str) -> int:
        return self._one(f"SELECT count(*) AS n FROM {table}")["n"]

    def _snapshot(self) -> AbstractContextManager[None]:
        """Reads that all see the state as it was at one moment."""
        return self._transaction()

    def _finish_copy(self) -> None:
        """Whatever the database needs after rows came in with their ids."""

    # Plumbing

    def _subscriber(self, where: str, value: object) -> Subscriber | None:
        row = self._one(f"SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE {where}", value)
        return subscriber(row) if row else None


SUBSCRIBER_COLUMNS = "id, uid, email, name, status"
# Remote feeds ([[sources]]): how each was last fetched, and every entry seen in it, kept
# whole, so an entry due for a later digest is mailed even once the feed drops it. The same
# migration on both databases.
SOURCES_SCHEMA = """
    CREATE TABLE sources (
        feed TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        etag TEXT NOT NULL DEFAULT '',
        last_modified TEXT NOT NULL DEFAULT '',
        checked_at TEXT,
        status TEXT NOT NULL DEFAULT '',
        error TEXT NOT NULL DEFAULT '',
        retry_after TEXT,
        gone INTEGER NOT NULL DEFAULT 0,
        baseline_at TEXT
    );
    CREATE TABLE source_entries (
        post_key TEXT PRIMARY KEY,
        feed TEXT NOT NULL REFERENCES sources (feed),
        entry_key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        published_at TEXT,
        seen_at TEXT NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('mail', 'baseline', 'republished', 'renamed')),
        entry TEXT NOT NULL
    );
    CREATE INDEX source_entries_by_feed ON source_entries (feed, verdict);
    """
SOURCE_COLUMNS = (
    "feed, url, etag, last_modified, checked_at, status, error, retry_after, gone, baseline_at"
)

# What a state is made of, table by table, in an order that keeps references valid.
COPIED_TABLES = {
    "subscribers": (
        "id",
        "uid",
        "email",
        "email_key",
        "name",
        "status",
        "created_at",
        "updated_at",
        "reactivated_at",
    ),
    "newsletters": ("id", "key", "subject", "message", "created_at", "finished_at"),
    "newsletter_posts": ("newsletter_id", "post_id"),
    "deliveries": (
        "newsletter_id",
        "subscriber_id",
        "status",
        "attempts",
        "last_error",
        "updated_at",
    ),
    "baseline": ("post_id", "recorded_at"),
    "settings": ("key", "value"),
    "hub_pings": ("hub", "path", "stamp"),
    "signups": ("email_key", "email", "name", "nonce", "created_at", "mailed_at"),
    "limits": ("bucket", "hits", "expires"),
    "sources": tuple(SOURCE_COLUMNS.split(", ")),
    "source_entries": (
        "post_key",
        "feed",
        "entry_key",
        "fingerprint",
        "published_at",
        "seen_at",
        "verdict",
        "entry",
    ),
}


def _select_all(table: str) -> str:
    return f"SELECT {', '.join(COPIED_TABLES[table])} FROM {table}"


def _insert(table: str) -> str:
    columns = COPIED_TABLES[table]
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _batches(rows: Iterator[Sequence[object]]) -> Iterator[list[Sequence[object]]]:
    while batch := list(islice(rows, BATCH)):
        yield batch


def subscriber(row: Row) -> Subscriber:
    status = SubscriberStatus(row["status"])
    return Subscriber(row["id"], row["uid"], row["email"], row["name"], status)


def _stamp(moment: datetime | None) -> str | None:
    return stamp(moment) if moment else None


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _entry_json(entry: RemoteEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["date"] = _stamp(entry.date)
    return data


def _entry_from_json(data: dict[str, Any]) -> RemoteEntry:
    return RemoteEntry(**{**data, "date": _moment(data["date"]), "tags": tuple(data["tags"])})
