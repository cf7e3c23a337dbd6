"""`publisher serve` against abuse: list bombing, forged and misused links, cross-site forms,
oversized and slow requests. Each is refused or ignored, and nothing is stored or mailed."""

import socket
import time

import pytest

from publisher.mail.tokens import make_confirm_token, make_token
from publisher.web.guard import client_network, proxy_networks
from tests.helpers import (
    SECRET,
    Service,
    mail_to,
    query,
    subscribe,
    use_no_smtp_server,
    wait_for,
)

EVIL = "https://evil.example.net"
ONE_CLICK = {"List-Unsubscribe": (None, "One-Click")}


@pytest.fixture
def limited(site, monkeypatch):
    """The service with small limits: 3 sign-ups an hour per domain, 4 waiting at most."""
    monkeypatch.setenv("PUBLISHER_SECRET", SECRET)
    running = Service(site, extra="signups_per_domain = 3\nmax_pending = 4")
    yield running
    running.stop()


def nothing_stored(service) -> bool:
    return service.store.pending_signups() == 0 and not service.store.subscribers()


def test_a_form_posted_from_another_site_is_refused(service):
    headers = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    answer = service.post("/subscribe", {"email": "victim@example.org"}, headers=headers)
    assert answer.status_code == 403
    assert nothing_stored(service)


def test_an_origin_outside_the_allowed_ones_is_refused_without_fetch_metadata(service):
    answer = service.post("/subscribe", {"email": "victim@example.org"}, headers={"Origin": EVIL})
    assert answer.status_code == 403
    assert nothing_stored(service)


def test_a_form_from_an_allowed_origin_is_taken_whatever_its_fetch_site(service):
    headers = {"Origin": "https://example.com", "Sec-Fetch-Site": "cross-site"}
    answer = service.post("/subscribe", {"email": "reader@example.org"}, headers=headers)
    assert answer.status_code == 200
    assert service.store.pending_signups() == 1


def test_a_confirmation_posted_from_another_site_is_refused(service):
    service.sign_up("reader@example.org")
    token = query(service.confirm_link("reader@example.org"))["token"]
    headers = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    assert service.post("/confirm", {"token": token}, headers=headers).status_code == 403
    assert service.status("reader@example.org") is None


def test_an_unsubscribe_form_from_another_site_is_refused(service):
    subscribe(service.site, "reader@example.org")
    uid = service.store.find_subscriber("reader@example.org").uid
    headers = {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"}
    answer = service.post(f"/unsubscribe?token={make_token(SECRET, uid)}", headers=headers)
    assert answer.status_code == 403
    assert service.status("reader@example.org") == "active"


def test_a_honeypot_hit_gets_the_same_answer_and_no_mail(service):
    real = service.sign_up("reader@example.org", network="203.0.113.1")
    trapped = service.sign_up("bot@example.org", network="203.0.114.1", website="http://x.example")
    assert trapped.status_code == 200 and trapped.text == real.text
    wait_for(lambda: mail_to(service.site, "reader@example.org"))
    assert mail_to(service.site, "bot@example.org") == []
    assert service.store.pending_signups() == 1


def test_a_burst_from_one_network_mails_at_most_its_limit(service):
    answers = {
        service.sign_up(f"victim{n}@example.org", network=f"203.0.113.{n}").text for n in range(14)
    }
    assert len(answers) == 1
    assert service.store.pending_signups() == 10
    time.sleep(0.3)
    mailed = [n for n in range(14) if mail_to(service.site, f"victim{n}@example.org")]
    assert mailed == list(range(10))


def test_another_network_is_not_held_back_by_a_burst(service):
    for n in range(12):
        service.sign_up(f"victim{n}@example.org", network="203.0.113.5")
    service.sign_up("reader@example.org", network="198.51.100.5")
    assert service.confirm_link("reader@example.org")


def test_an_ipv6_network_is_counted_by_its_64(service):
    for n in range(12):
        service.sign_up(f"victim{n}@example.org", network=f"2001:db8:1:2::{n + 1}")
    assert service.store.pending_signups() == 10


def test_sign_ups_to_one_domain_are_limited(limited):
    for n in range(5):
        limited.sign_up(f"user{n}@target.example", network=f"203.0.{n}.1")
    assert limited.store.pending_signups() == 3


def test_waiting_sign_ups_are_capped(limited):
    for n in range(6):
        limited.sign_up(f"user@domain{n}.example", network=f"203.0.{n}.1")
    assert limited.store.pending_signups() == 4


def test_an_oversized_body_is_refused_before_it_is_read(service):
    answer = service.post("/subscribe", {"email": "reader@example.org", "name": "x" * 9000})
    assert answer.status_code == 413
    assert nothing_stored(service)


def test_an_oversized_body_without_a_length_is_refused(service):
    chunks = (b"email=reader%40example.org&name=" if n == 0 else b"x" * 1000 for n in range(12))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "https://example.com"}
    answer = service.post("/subscribe", chunks, headers=headers)
    assert answer.status_code == 413
    assert nothing_stored(service)


def test_a_body_that_stops_arriving_is_timed_out(site, monkeypatch):
    monkeypatch.setenv("PUBLISHER_SECRET", SECRET)
    monkeypatch.setattr("publisher.web.app.READ_TIMEOUT", 0.3)
    running = Service(site)
    try:
        host, port = running.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as client:
            client.sendall(
                b"POST /subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail="
            )
            assert client.recv(100).startswith(b"HTTP/1.1 408")
        assert nothing_stored(running)
    finally:
        running.stop()


def test_a_confirmation_link_cannot_unsubscribe(service):
    subscribe(service.site, "reader@example.org")
    uid = service.store.find_subscriber("reader@example.org").uid
    token = make_confirm_token(SECRET, "reader@example.org", uid)
    answer = service.post(f"/unsubscribe?token={token}", files=ONE_CLICK)
    assert answer.status_code == 400
    assert service.status("reader@example.org") == "active"


def test_an_unsubscribe_link_cannot_confirm(service):
    service.sign_up("reader@example.org")
    token = make_token(SECRET, "reader@example.org")
    assert service.post("/confirm", {"token": token}).status_code == 400
    assert service.status("reader@example.org") is None


def test_a_tampered_confirmation_link_is_refused(service):
    service.sign_up("reader@example.org")
    token = query(service.confirm_link("reader@example.org"))["token"]
    forged = token.replace(token[5], "A" if token[5] != "A" else "B", 1)
    answer = service.post("/confirm", {"token": forged})
    assert answer.status_code == 400 and "not valid" in answer.text
    assert service.status("reader@example.org") is None


def test_a_confirmation_link_signed_with_another_secret_is_refused(service):
    service.sign_up("reader@example.org")
    nonce = query(service.confirm_link("reader@example.org"))["token"]
    token = make_confirm_token("another secret", "reader@example.org", nonce)
    assert service.post("/confirm", {"token": token}).status_code == 400
    assert service.status("reader@example.org") is None


def test_an_expired_confirmation_link_is_refused(service, monkeypatch):
    service.sign_up("reader@example.org")
    eight_days_ago = time.time() - 8 * 86400
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: eight_days_ago)
        token = make_confirm_token(SECRET, "reader@example.org", "any")
    assert "expired" in service.get(f"/confirm?token={token}").text
    answer = service.post("/confirm", {"token": token})
    assert answer.status_code == 400 and "expired" in answer.text
    assert service.status("reader@example.org") is None


def test_refusals_are_logged_with_reasons_and_never_an_address(service, caplog):
    caplog.set_level("INFO", logger="publisher.serve")
    service.sign_up("trapped@example.org", website="x")
    service.post("/subscribe", {"email": "victim@example.org"}, headers={"Origin": EVIL})
    for n in range(11):
        service.sign_up(f"burst{n}@example.org", network="203.0.113.8")
    service.post("/confirm", {"token": "forged"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "honeypot" in logged and "evil.example.net" in logged
    assert "more than 10 sign-ups from its network" in logged and "not valid" in logged
    assert "@example.org" not in logged


def test_x_forwarded_for_is_read_only_from_a_trusted_proxy():
    proxies = proxy_networks(("10.0.0.0/8",))
    assert client_network("10.1.2.3", "203.0.113.9", proxies) == "203.0.113.0/24"
    assert client_network("10.1.2.3", "198.51.100.1, 203.0.113.9, 10.0.0.5", proxies) == (
        "203.0.113.0/24"
    )
    assert client_network("192.0.2.1", "203.0.113.9", proxies) == "192.0.2.0/24"
    assert client_network("10.1.2.3", "not an address", proxies) == "10.1.2.0/24"
    assert client_network("2001:db8::1", "", proxies) == "2001:db8::/64"


def test_healthz_answers_when_the_state_can_be_read(service):
    answer = service.get("/healthz")
    assert answer.status_code == 200 and answer.text == "ok\n"


def test_pages_are_neither_kept_nor_framed_nor_sent_on(service):
    headers = service.get("/subscribe").headers
    assert headers["Cache-Control"] == "no-store"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_a_disk_that_fails_is_a_503_never_a_false_done(service, monkeypatch):
    subscribe(service.site, "reader@example.org")
    uid = service.store.find_subscriber("reader@example.org").uid

    def failing_sync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("os.fdatasync", failing_sync)
    answer = service.post(f"/unsubscribe?token={make_token(SECRET, uid)}", files=ONE_CLICK)
    assert answer.status_code == 503
    assert service.get("/healthz").status_code == 503


def test_an_address_is_taken_three_times_a_day_at_most(service, caplog):
    caplog.set_level("INFO", logger="publisher.serve")
    for n in range(4):
        service.sign_up("victim@example.org", network=f"203.0.{n}.1")
    logged = [record.getMessage() for record in caplog.records]
    assert sum("confirmation went to this address recently" in line for line in logged) == 2
    assert sum("more than 3 sign-ups of the address in a day" in line for line in logged) == 1
    assert len(wait_for(lambda: mail_to(service.site, "victim@example.org"))) == 1


def test_a_mail_server_that_cannot_be_reached_loses_no_sign_up(site, monkeypatch, caplog):
    caplog.set_level("INFO", logger="publisher.serve")
    use_no_smtp_server(monkeypatch)
    running = Service(site)
    try:
        answer = running.sign_up("reader@example.org")
        assert answer.status_code == 200 and "Check your inbox" in answer.text
        running.desk.outbox.join()
        assert running.store.pending_signups() == 0  # forgotten, so it can be asked again
        assert any("could not mail a confirmation" in r.getMessage() for r in caplog.records)
        running.sign_up("reader@example.org", network="198.51.100.9")
        running.desk.outbox.join()
        assert running.desk.tally["refused"] == 0
    finally:
        running.stop()
