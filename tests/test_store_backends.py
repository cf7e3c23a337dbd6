"""The state's interface, the same on SQLite and on PostgreSQL: each test runs on both."""

from datetime import timedelta

from publisher.mail.status import Confirmed, DeliveryStatus, SubscriberStatus
from publisher.mail.store import Limit, NewSubscriber
from tests.helpers import LETTER, NOW, polled_source


def add(store, *emails):
    store.add_subscribers([NewSubscriber(email) for email in emails])
    return [store.find_subscriber(email) for email in emails]


def test_an_address_is_on_the_list_once_whatever_its_case(store):
    assert store.add_subscribers([NewSubscriber("Ann@Example.com", "Ann")]) == [True]
    assert store.add_subscribers([NewSubscriber("ann@example.COM")]) == [False]
    assert [s.email for s in store.subscribers()] == ["Ann@Example.com"]
    assert store.find_subscriber(" ANN@example.com ").name == "Ann"


def test_a_newsletter_is_recorded_once_with_the_audience_of_that_moment(store):
    _, bob = add(store, "ann@example.com", "bob@example.com")
    store.set_subscriber_status(bob.id, SubscriberStatus.UNSUBSCRIBED)
    first = store.record_newsletter("post:hello", LETTER, ["2024-01-01:hello"], NOW)
    add(store, "cy@example.com")
    assert store.record_newsletter("post:hello", LETTER, ["2024-01-01:hello"], NOW) == first
    assert store.recorded_newsletter(first) == LETTER
    assert store.pending_emails(first) == ["ann@example.com"]
    assert store.known_post_ids() == {"2024-01-01:hello"}


def test_unsubscribing_skips_pending_deliveries(store):
    (ann,) = add(store, "ann@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    store.set_subscriber_status(ann.id, SubscriberStatus.UNSUBSCRIBED)
    assert store.delivery_counts(newsletter) == {DeliveryStatus.SKIPPED: 1}


def test_deliveries_are_read_in_order_past_one_batch(store):
    emails = [f"user{n:04}@example.com" for n in range(1200)]
    add(store, *emails)
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    read = [s.email for s in store.deliveries(newsletter, DeliveryStatus.PENDING)]
    assert read == emails


def test_a_claimed_delivery_is_handed_over_once(store):
    (ann,) = add(store, "ann@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        assert [s.email for s in store.claim(newsletter)] == ["ann@example.com"]
        assert store.hand_over(newsletter, ann.id)
        store.set_delivery(newsletter, ann.id, DeliveryStatus.SENT, attempted=True)
    assert store.delivery_counts(newsletter) == {DeliveryStatus.SENT: 1}


def test_verdicts_are_written_by_the_next_hand_over_or_the_flush(store):
    ann, bob, cy = add(store, "ann@example.com", "bob@example.com", "cy@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        assert store.hand_over(newsletter, ann.id)
        store.record_verdict(newsletter, ann.id, DeliveryStatus.SENT)
        assert store.hand_over(newsletter, bob.id)
        store.record_verdict(newsletter, bob.id, DeliveryStatus.PENDING, "421 busy")
        store.flush_verdicts()
    counts = store.delivery_counts(newsletter)
    assert counts == {DeliveryStatus.SENT: 1, DeliveryStatus.PENDING: 2}
    # The retried delivery is free again, for this sender or any other.
    with store.sender():
        assert {s.email for s in store.claim(newsletter)} == {"bob@example.com", cy.email}


def test_a_verdict_is_written_even_when_the_next_hand_over_is_refused(store):
    ann, bob = add(store, "ann@example.com", "bob@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        assert store.hand_over(newsletter, ann.id)
        store.record_verdict(newsletter, ann.id, DeliveryStatus.SENT)
        store.set_subscriber_status(bob.id, SubscriberStatus.UNSUBSCRIBED)
        assert not store.hand_over(newsletter, bob.id)
    counts = store.delivery_counts(newsletter)
    assert counts == {DeliveryStatus.SENT: 1, DeliveryStatus.SKIPPED: 1}


def test_a_hand_over_begun_for_one_who_left_is_answered_no(store):
    (ann,) = add(store, "ann@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    with store.sender():
        list(store.claim(newsletter))
        store.set_subscriber_status(ann.id, SubscriberStatus.UNSUBSCRIBED)
        assert not store.begin_hand_over(newsletter, ann.id)(True)


def test_unknown_deliveries_are_pending_again_on_request(store):
    (ann,) = add(store, "ann@example.com")
    newsletter = store.record_newsletter("post:hello", LETTER, [], NOW)
    store.set_delivery(newsletter, ann.id, DeliveryStatus.UNKNOWN, "interrupted")
    store.resend_unknown(newsletter)
    assert store.delivery_counts(newsletter) == {DeliveryStatus.PENDING: 1}


def test_the_baseline_is_recorded_once(store):
    assert store.record_baseline(["a", "b"], NOW)
    assert not store.record_baseline(["c"], NOW)
    assert store.baseline_recorded()
    assert store.known_post_ids() == {"a", "b"}


def test_a_hub_ping_replaces_what_the_hub_was_told(store):
    store.record_pinged("https://hub", {"/feed.xml": "1"})
    store.record_pinged("https://hub", {"/feed.xml": "2", "/atom.xml": "1"})
    assert store.pinged("https://hub") == {"/feed.xml": "2", "/atom.xml": "1"}


def test_a_sign_up_is_confirmed_once(store):
    offer = store.offer_signup(
        "ann@example.com",
        "Ann",
        now=NOW,
        resend_after=NOW - timedelta(minutes=5),
        expire_before=NOW - timedelta(days=7),
        max_pending=10,
    )
    assert store.confirm_signup("ann@example.com", "wrong") == Confirmed.UNKNOWN
    assert store.confirm_signup("ann@example.com", offer.nonce) == Confirmed.SUBSCRIBED
    assert store.confirm_signup("ann@example.com", offer.nonce) == Confirmed.ALREADY
    assert store.find_subscriber("ann@example.com").name == "Ann"


def test_a_limit_refuses_once_reached_until_its_period_ends(store):
    limit = Limit("network:198.51.100.0/24", most=2, period=3600)
    assert [store.count_hits([limit], now=1000.0) for _ in range(3)] == [None, None, limit]
    assert store.count_hits([limit], now=3600.0 + 1) is None


def test_the_last_digest_is_known_by_its_date(store):
    assert store.last_digest_at() is None
    store.record_newsletter("digest:2024-01-01", LETTER, [], NOW)
    assert store.last_digest_at() == NOW


def test_a_sources_fetch_and_its_entries_are_kept_whole(store):
    store.record_polls([polled_source(NOW)])
    [state] = set(store.source_states().values())
    assert (state.etag, state.checked_at, state.baseline_at) == ('"e1"', NOW, NOW)
    [kept] = store.kept_entries(verdict="mail")
    assert (kept.entry.title, kept.entry.date, kept.entry.content) == ("One", NOW, "<p>One</p>")
    memory = store.source_memory()["https://remote.example/feed.xml"]
    assert memory.keys == {"id:urn:1"}
    assert memory.newest == NOW


def test_an_entry_is_recorded_once_whoever_records_it(store):
    store.record_polls([polled_source(NOW)])
    store.record_polls([polled_source(NOW + timedelta(hours=1))])
    assert len(store.kept_entries()) == 1
    assert store.kept_entries()[0].seen_at == NOW
