"""The mailer's state, and every SQL statement publisher runs on it, in one SQLite file.

Subscribers, newsletters as first recorded, every delivery, and the first run's baseline.
The methods of `Store` are the whole interface: nothing outside this module sees SQL or a
sqlite3 type, so another database can implement them a second time.

Durability is explicit. Every write commits at once; outside `Store.sending`, a commit is
on disk before it returns (`synchronous = FULL`). Inside it, a commit is written to the
write-ahead log, which survives a killed process at once, and reaches the disk when the send
asks its `LogFlusher` (see mail/delivery.py). The schema is versioned with `user_version`; each
migration runs once, in order.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from publisher.mail.status import Confirmed, DeliveryStatus, SubscriberStatus
from publisher.site.config import Site
from publisher.site.problems import Refusal

MIGRATIONS = [
    """
    CREATE TABLE subscribers (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL CHECK (status IN ('active', 'unsubscribed', 'bounced')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE newsletters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        subject TEXT NOT NULL,
        message TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT
    );
    CREATE TABLE newsletter_posts (
        newsletter_id INTEGER NOT NULL REFERENCES newsletters (id),
        post_id TEXT NOT NULL,
        PRIMARY KEY (newsletter_id, post_id)
    );
    CREATE TABLE deliveries (
        newsletter_id INTEGER NOT NULL REFERENCES newsletters (id),
        subscriber_id INTEGER NOT NULL REFERENCES subscribers (id),
        status TEXT NOT NULL CHECK (
            status IN ('pending', 'sending', 'sent', 'unknown', 'bounced', 'skipped')
        ),
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL,
        PRIMARY KEY (newsletter_id, subscriber_id)
    );
    CREATE INDEX deliveries_by_status ON deliveries (newsletter_id, status);
    """,
    """
    CREATE TABLE baseline (
        post_id TEXT PRIMARY KEY,
        recorded_at TEXT NOT NULL
    );
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # Unsubscribe links name a subscriber by a random uid, which export and import keep;
    # a row number would name someone else after an import into another state.
    """
    ALTER TABLE subscribers ADD COLUMN uid TEXT;
    ALTER TABLE subscribers ADD COLUMN reactivated_at TEXT;
    UPDATE subscribers SET uid = lower(hex(randomblob(16)));
    CREATE UNIQUE INDEX subscribers_by_uid ON subscribers (uid);
    """,
    # What each WebSub hub was last told of each feed, so a ping lost to a crash or a
    # failing hub is sent by the next run.
    """
    CREATE TABLE hub_pings (
        hub TEXT NOT NULL,
        path TEXT NOT NULL,
        stamp TEXT NOT NULL,
        PRIMARY KEY (hub, path)
    );
    """,
    # A post's newsletter is known by the post's id without the site's domain (see
    # post.mail_key), so moving the site to another domain mails nothing again.
    """
    UPDATE newsletters SET key = 'post:' || substr(key, instr(key, ',') + 1)
    WHERE key LIKE 'post:tag:%,%';
    """,
    # `publisher serve`: sign-ups waiting for their confirmation (never subscribers before
    # it), and the counters of its rate limits, each forgotten once its period is over.
    """
    CREATE TABLE signups (
        email_key TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        name TEXT NOT NULL,
        nonce TEXT NOT NULL,
        created_at TEXT NOT NULL,
        mailed_at TEXT NOT NULL
    );
    CREATE INDEX signups_by_age ON signups (created_at);
    CREATE TABLE limits (
        bucket TEXT PRIMARY KEY,
        hits INTEGER NOT NULL,
        expires INTEGER NOT NULL
    );
    CREATE INDEX limits_by_expiry ON limits (expires);
    """,
    # An unsubscribe skips the subscriber's pending deliveries: found by subscriber, not by
    # reading every delivery of every newsletter.
    """
    CREATE INDEX deliveries_by_subscriber ON deliveries (subscriber_id, status);
    """,
]
# Deliveries are read in batches of this many, so memory stays flat on a long list.
BATCH = 500


@dataclass(frozen=True)
class Subscriber:
    id: int
    uid: str
    email: str
    name: str
    status: SubscriberStatus


@dataclass(frozen=True)
class NewSubscriber:
    """One to add: a uid of its own when they come from another list, else a new one."""

    email: str
    name: str = ""
    status: SubscriberStatus = SubscriberStatus.ACTIVE
    uid: str = ""


@dataclass(frozen=True)
class StoredNewsletter:
    """A newsletter exactly as first recorded, so a resumed send mails the same thing."""

    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Limit:
    """At most `most` requests counted in `bucket` in each period of `period` seconds."""

    bucket: str
    most: int
    period: int
    # What the limit is, for the reason given when it is reached.
    what: str = ""


@dataclass(frozen=True)
class Offer:
    """A sign-up's fate: the nonce its confirmation mail carries, or why none is mailed."""

    nonce: str = ""
    refused: str = ""


class Busy(Refusal):
    """Another send holds the state's lock."""


class StateError(Refusal):
    """The state file cannot be opened, read or written; the message says what to do."""


def open_store(site: Site) -> Store:
    """The site's state, created and brought up to date if needed."""
    return Store(site.root / site.mail.state)


def _at(moment: datetime) -> str:
    """A moment as the state keeps it: UTC, so that stamps compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _now() -> str:
    return _at(datetime.now(UTC))


class Store:
    """One SQLite file, shared safely by the threads of a send (one statement at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            # Whatever a killed run left in the write-ahead log goes into the file itself.
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except (OSError, sqlite3.Error) as exc:
            raise _state_error(path, exc) from None

    def close(self) -> None:
        """Fold the write-ahead log into the file, so the state is one file again."""
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    # Subscribers

    def find_subscriber(self, email: str) -> Subscriber | None:
        """By address, whatever its case."""
        return self._subscriber("email_key = ?", email.strip().casefold())

    def get_subscriber(self, subscriber_id: int) -> Subscriber | None:
        return self._subscriber("id = ?", subscriber_id)

    def subscriber_by_uid(self, uid: str) -> Subscriber | None:
        return self._subscriber("uid = ?", uid)

    def subscribers(self, status: SubscriberStatus | None = None) -> list[Subscriber]:
        query = f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers"
        if status:
            rows = self._all(query + " WHERE status = ? ORDER BY id", status)
        else:
            rows = self._all(query + " ORDER BY id")
        return [_subscriber(row) for row in rows]

    def add_subscribers(self, entries: Iterable[NewSubscriber]) -> list[bool]:
        """Add subscribers in one transaction; for each, False when the address (or the uid)
        was on the list already."""
        added = []
        with self._transaction():
            for entry in entries:
                uid = entry.uid or secrets.token_hex(16)
                if self.find_subscriber(entry.email) or self.subscriber_by_uid(uid):
                    added.append(False)
                    continue
                stamp = _now()
                self._db.execute(
                    "INSERT INTO subscribers (uid, email, email_key, name, status, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        uid,
                        entry.email,
                        entry.email.casefold(),
                        entry.name,
                        entry.status,
                        stamp,
                        stamp,
                    ),
                )
                added.append(True)
        return added

    def remove_subscriber(self, subscriber_id: int) -> None:
        """Forget a subscriber and their delivery history."""
        with self._transaction():
            self._db.execute("DELETE FROM deliveries WHERE subscriber_id = ?", (subscriber_id,))
            self._db.execute("DELETE FROM subscribers WHERE id = ?", (subscriber_id,))

    def set_subscriber_status(self, subscriber_id: int, status: SubscriberStatus) -> None:
        """At once; one who is no longer active gets nothing more, from any send."""
        with self._transaction():
            self._db.execute(
                "UPDATE subscribers SET status = ?, updated_at = ? WHERE id = ?",
                (status, _now(), subscriber_id),
            )
            if status != SubscriberStatus.ACTIVE:
                self._db.execute(
                    "UPDATE deliveries SET status = 'skipped', updated_at = ? "
                    "WHERE subscriber_id = ? AND status = 'pending'",
                    (_now(), subscriber_id),
                )

    def reactivate_subscriber(self, subscriber_id: int) -> None:
        """Active again, on the writer's word, recorded as such."""
        with self._transaction():
            self._db.execute(
                "UPDATE subscribers SET status = 'active', updated_at = ?, reactivated_at = ? "
                "WHERE id = ?",
                (_now(), _now(), subscriber_id),
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
            self._db.execute("DELETE FROM signups WHERE created_at < ?", (_at(expire_before),))
            row = self._one("SELECT nonce, mailed_at FROM signups WHERE email_key = ?", key)
            if row and row["mailed_at"] >= _at(resend_after):
                return Offer(refused="a confirmation went to this address recently")
            if row:
                self._db.execute(
                    "UPDATE signups SET name = ?, mailed_at = ? WHERE email_key = ?",
                    (name, _at(now), key),
                )
                return Offer(row["nonce"])
            if self.pending_signups() >= max_pending:
                return Offer(refused=f"{max_pending} sign-ups wait for their confirmation")
            nonce = secrets.token_hex(8)
            self._db.execute(
                "INSERT INTO signups (email_key, email, name, nonce, created_at, mailed_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, email, name, nonce, _at(now), _at(now)),
            )
        return Offer(nonce)

    def confirm_signup(self, email: str, nonce: str) -> Confirmed:
        """The waiting sign-up with this nonce becomes an active subscriber, at most once."""
        key = email.casefold()
        with self._transaction():
            row = self._one("SELECT name, nonce FROM signups WHERE email_key = ?", key)
            subscriber = self.find_subscriber(email)
            active = subscriber is not None and subscriber.status == SubscriberStatus.ACTIVE
            if row is None or not secrets.compare_digest(row["nonce"], nonce):
                return Confirmed.ALREADY if active else Confirmed.UNKNOWN
            self._db.execute("DELETE FROM signups WHERE email_key = ?", (key,))
            if subscriber is None:
                self.add_subscribers([NewSubscriber(email, row["name"])])
            elif not active:
                self.reactivate_subscriber(subscriber.id)
        return Confirmed.ALREADY if active else Confirmed.SUBSCRIBED

    def drop_signup(self, email: str, nonce: str) -> None:
        """Forget a sign-up whose confirmation could not be mailed, so it can be asked again."""
        self._write(
            "DELETE FROM signups WHERE email_key = ? AND nonce = ?", email.casefold(), nonce
        )

    def pending_signups(self) -> int:
        return self._one("SELECT count(*) FROM signups")[0]

    def count_hits(self, limits: Sequence[Limit], *, now: float) -> Limit | None:
        """Count one more request against each limit's bucket in its current period; when one
        is reached already, count nothing and return it."""
        windows = [(limit, int(now // limit.period)) for limit in limits]
        counters = [
            (f"{limit.bucket}@{limit.period}:{window}", (window + 1) * limit.period)
            for limit, window in windows
        ]
        with self._transaction():
            self._db.execute("DELETE FROM limits WHERE expires <= ?", (int(now),))
            for limit, (name, _) in zip(limits, counters, strict=True):
                row = self._one("SELECT hits FROM limits WHERE bucket = ?", name)
                if row and row["hits"] >= limit.most:
                    return limit
            self._db.executemany(
                "INSERT INTO limits (bucket, hits, expires) VALUES (?, 1, ?) "
                "ON CONFLICT (bucket) DO UPDATE SET hits = hits + 1",
                counters,
            )
        return None

    def readable(self) -> bool:
        """True when the state answers a query (for a health check)."""
        try:
            self._one("SELECT count(*) FROM subscribers")
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
        pending delivery for each subscriber active at this moment."""
        with self._transaction():
            known = self.newsletter_id(key)
            if known is not None:
                return known
            message = json.dumps(
                {"subject": letter.subject, "html": letter.html, "text": letter.text}
            )
            cursor = self._db.execute(
                "INSERT INTO newsletters (key, subject, message, created_at) VALUES (?, ?, ?, ?)",
                (key, letter.subject, message, created.isoformat()),
            )
            newsletter_id = cursor.lastrowid
            self._db.executemany(
                "INSERT INTO newsletter_posts (newsletter_id, post_id) VALUES (?, ?)",
                [(newsletter_id, post_id) for post_id in post_ids],
            )
            self._db.execute(
                "INSERT INTO deliveries (newsletter_id, subscriber_id, status, updated_at) "
                "SELECT ?, id, 'pending', ? FROM subscribers WHERE status = 'active'",
                (newsletter_id, _now()),
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
        with self._transaction():
            self._db.execute(
                "UPDATE newsletters SET finished_at = coalesce(finished_at, ?) WHERE id = ?",
                (_now(), newsletter_id),
            )

    def last_digest_at(self) -> datetime | None:
        row = self._one("SELECT max(created_at) AS at FROM newsletters WHERE key LIKE 'digest:%'")
        return datetime.fromisoformat(row["at"]) if row["at"] else None

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
                status,
                last,
                BATCH,
            )
            if not rows:
                return
            yield from (_subscriber(row) for row in rows)
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
        self._write(
            "UPDATE deliveries SET status = ?, last_error = ?, attempts = attempts + ?, "
            "updated_at = ? WHERE newsletter_id = ? AND subscriber_id = ?",
            status,
            error,
            int(attempted),
            _now(),
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
        return self._one("SELECT 1 FROM settings WHERE key = 'baseline_at'") is not None

    def record_baseline(self, post_ids: list[str], at: datetime) -> bool:
        """Record posts as published before the newsletter started; False (and nothing
        recorded) when a baseline exists already."""
        with self._transaction():
            if self.baseline_recorded():
                return False
            self._db.executemany(
                "INSERT OR IGNORE INTO baseline (post_id, recorded_at) VALUES (?, ?)",
                [(post_id, _now()) for post_id in post_ids],
            )
            self._db.execute(
                "INSERT INTO settings (key, value) VALUES ('baseline_at', ?)", (at.isoformat(),)
            )
        return True

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
            self._db.executemany(
                "INSERT OR REPLACE INTO hub_pings (hub, path, stamp) VALUES (?, ?, ?)",
                [(hub, path, stamp) for path, stamp in stamps.items()],
            )

    # Running a send, or the service

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """One send at a time per state; a second one is refused at once, not queued."""
        with open(self.path.with_suffix(".lock"), "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy("another publisher send is running on this state file") from None
            yield

    @contextmanager
    def group_flushes(self) -> Iterator[LogFlusher]:
        """Commits that do not wait for the disk, and the flusher that puts them there, once
        for all who wait at the time (a send's workers, the service's requests).

        Every commit inside still survives a killed process at once; a power cut loses only
        what was not flushed yet, which nobody was told is done. Leaving the block flushes
        everything and goes back to flushing each commit."""
        self._write("PRAGMA synchronous = NORMAL")
        flusher = LogFlusher(Path(f"{self.path}-wal"))
        try:
            yield flusher
        finally:
            flusher.close()
            self._write("PRAGMA synchronous = FULL")

    # Plumbing

    def _subscriber(self, where: str, value: object) -> Subscriber | None:
        row = self._one(f"SELECT {_SUBSCRIBER_COLUMNS} FROM subscribers WHERE {where}", value)
        return _subscriber(row) if row else None

    def _one(self, query: str, *values: object) -> sqlite3.Row | None:
        with self._lock, self._errors():
            return self._db.execute(query, values).fetchone()

    def _all(self, query: str, *values: object) -> list[sqlite3.Row]:
        with self._lock, self._errors():
            return self._db.execute(query, values).fetchall()

    def _write(self, query: str, *values: object) -> None:
        """One statement, committed on its own at once."""
        with self._lock, self._errors():
            self._db.execute(query, values)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One atomic change: all of it is committed, or none of it."""
        with self._lock, self._errors():
            if self._db.in_transaction:  # already inside one of ours
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _state_error(self.path, exc) from None

    def _migrate(self) -> None:
        with self._transaction():
            version = self._one("PRAGMA user_version")[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")


_SUBSCRIBER_COLUMNS = "id, uid, email, name, status"


def _state_error(path: Path, error: Exception) -> StateError:
    """What went wrong with the state file, and what to do about it."""
    reason = str(error)
    if "readonly" in reason or isinstance(error, PermissionError):
        hint = "make the file and its folder writable by this user"
    elif "not a database" in reason or "malformed" in reason:
        hint = "it is damaged: restore it from a backup (see docs/ci.md)"
    elif "disk" in reason or "full" in reason:
        hint = "free some disk space, then run again: nothing was lost"
    elif "unable to open" in reason:
        hint = "check that its folder exists and is reachable"
    else:
        hint = "check the file, or restore it from a backup"
    return StateError(f"the state file {path} cannot be used ({reason}): {hint}")


def _subscriber(row: sqlite3.Row) -> Subscriber:
    status = SubscriberStatus(row["status"])
    return Subscriber(row["id"], row["uid"], row["email"], row["name"], status)


class LogFlusher:
    """Flushes the state's write-ahead log to disk on a thread of its own.

    A worker asks for a flush right after a hand-over and waits for it only before its next
    one, so the disk works while the server decides and the next message goes out.
    """

    def __init__(self, wal: Path) -> None:
        self.fd = os.open(wal, os.O_RDONLY)
        self.asked = 0
        self.done = 0
        self.closing = False
        self.failure: OSError | None = None
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def ask(self) -> int:
        """A ticket: the flush that will cover every commit made so far."""
        with self.changed:
            self.asked += 1
            self.changed.notify_all()
            return self.asked

    def wait(self, ticket: int) -> None:
        """Until the flush of `ticket` is done; raises the OSError of a failed flush."""
        with self.changed:
            self.changed.wait_for(lambda: self.done >= ticket)
            if self.failure:
                raise self.failure

    def close(self) -> None:
        """A last flush, then stop; a failed one is kept in `failure`, like the others."""
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        self.thread.join()
        try:
            os.fsync(self.fd)
        except OSError as exc:
            self.failure = self.failure or exc
        os.close(self.fd)

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.asked > self.done or self.closing)
                if self.asked == self.done:
                    return
                target = self.asked
            try:
                # The log's data, and its size when it grew: what SQLite itself syncs. A full
                # fsync waits for the file system's journal too, and took up to 0.5 s under
                # load (bench/serve.py).
                os.fdatasync(self.fd)
            except OSError as exc:
                self.failure = exc
            with self.changed:
                self.done = target
                self.changed.notify_all()
