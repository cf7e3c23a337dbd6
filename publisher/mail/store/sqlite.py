"""The state in one SQLite file: the embedded default, one machine and one sender.

Durability is explicit. Every write commits at once; outside `group_flushes`, a commit is
on disk before it returns (`synchronous = FULL`). Inside it, a commit is written to the
write-ahead log, which survives a killed process at once, and reaches the disk when the send
asks its `LogFlusher` (see mail/delivery.py). The schema is versioned with `user_version`; each
migration runs once, in order.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from publisher.mail.store.queries import SOURCES_SCHEMA, Row, Store
from publisher.mail.store.records import Busy, StateError

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
    # Remote feeds ([[sources]]), as PostgreSQL has them too.
    SOURCES_SCHEMA,
]


class SQLiteStore(Store):
    """One SQLite file, shared safely by the threads of a send (one statement at a time)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = f"the state file {path}"
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

    @contextmanager
    def sender(self) -> Iterator[None]:
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

    def _one(self, query: str, *values: object) -> Row | None:
        with self._lock, self._errors():
            return self._db.execute(query, values).fetchone()

    def _all(self, query: str, *values: object) -> list[Row]:
        with self._lock, self._errors():
            return self._db.execute(query, values).fetchall()

    def _write(self, query: str, *values: object) -> int:
        with self._lock, self._errors():
            return self._db.execute(query, values).rowcount

    def _write_many(self, query: str, rows: Iterable[Sequence[object]]) -> None:
        with self._lock, self._errors():
            self._db.executemany(query, rows)

    def _stream(self, query: str) -> Iterator[Sequence[object]]:
        with self._lock, self._errors():
            cursor = self._db.execute(query)
            cursor.row_factory = None
            yield from cursor

    @contextmanager
    def _transaction(self) -> Iterator[None]:
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
