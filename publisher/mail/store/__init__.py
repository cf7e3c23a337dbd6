"""The mailer's state: subscribers, newsletters as first recorded, every delivery, the first
run's baseline, the service's sign-ups and what each WebSub hub was told.

It lives in a SQLite file by default, or in PostgreSQL when the site names a database
(`[mail] database`, or `PUBLISHER_DATABASE_URL`). `Store` (queries.py) is the whole
interface; no module outside this package knows which database is in use.
"""

from __future__ import annotations

from pathlib import Path

from publisher.mail.store.queries import Store
from publisher.mail.store.records import (
    Busy,
    Flushed,
    Limit,
    NewSubscriber,
    Offer,
    StateError,
    StoredNewsletter,
    Subscriber,
)
from publisher.site.config import Site, is_database_url

__all__ = [
    "Busy",
    "Flushed",
    "Limit",
    "NewSubscriber",
    "Offer",
    "StateError",
    "Store",
    "StoredNewsletter",
    "Subscriber",
    "open_state",
    "open_store",
]


def open_store(site: Site) -> Store:
    """The site's state, created and brought up to date if needed."""
    return open_state(site.mail.database or site.mail.state, site.root)


def open_state(location: str, root: Path) -> Store:
    """A state by where it is: a postgresql:// URL, or a SQLite file (relative to `root`)."""
    if is_database_url(location):
        from publisher.mail.store.postgres import PostgresStore

        return PostgresStore(location)
    from publisher.mail.store.sqlite import SQLiteStore

    return SQLiteStore(root / location)
