"""What flows in and out of the state, whichever database keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from publisher.mail.status import SubscriberStatus
from publisher.site.problems import Refusal


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
    """The state cannot be opened, read or written; the message says what to do."""


class Flushed:
    """The flusher of a database whose every commit is on disk when it returns: nothing
    to wait for (see `LogFlusher` for one that has work to do)."""

    failure: OSError | None = None

    def ask(self) -> int:
        return 0

    def wait(self, ticket: int) -> None:
        return None


def stamp(moment: datetime) -> str:
    """A moment as the state keeps it: UTC, so that stamps compare as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def stamp_now() -> str:
    return stamp(datetime.now(UTC))
