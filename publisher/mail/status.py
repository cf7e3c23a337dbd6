"""What a subscriber and each delivery can be; the store keeps them, the commands show them."""

from enum import StrEnum


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class DeliveryStatus(StrEnum):
    """pending -> sending -> sent or bounced; unknown when a crash hid the verdict; skipped
    when the subscriber left before their copy went out."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNKNOWN = "unknown"
    BOUNCED = "bounced"
    SKIPPED = "skipped"


class Confirmed(StrEnum):
    """What a sign-up's confirmation did: made a subscriber; found one active already; or
    found no such sign-up waiting (used already, or expired)."""

    SUBSCRIBED = "subscribed"
    ALREADY = "already"
    UNKNOWN = "unknown"
