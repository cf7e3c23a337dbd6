"""`publisher serve` over real HTTP: readers sign up, confirm and leave on their own."""

import re

from publisher.mail.tokens import make_token
from tests.helpers import SECRET, links_in, mail_to, query, subscribe, wait_for

ONE_CLICK = {"List-Unsubscribe": (None, "One-Click")}


def unsubscribe_path(service, email: str) -> str:
    uid = service.store.find_subscriber(email).uid
    return f"/unsubscribe?token={make_token(SECRET, uid)}"


def test_subscribe_page_has_the_form_with_a_hidden_honeypot(service):
    page = service.get("/subscribe")
    assert page.status_code == 200
    assert f'action="{service.url}/subscribe"' in page.text
    assert 'name="email"' in page.text and 'name="name"' in page.text
    assert re.search(r'class="trap" aria-hidden="true">.*?name="website"', page.text, re.S)


def test_a_sign_up_mails_a_confirmation_and_adds_no_subscriber(service):
    answer = service.sign_up("reader@example.org")
    assert answer.status_code == 200
    assert "Check your inbox" in answer.text
    link = service.confirm_link("reader@example.org")
    assert link.startswith(f"{service.url}/confirm?token=")
    assert service.status("reader@example.org") is None


def test_the_confirmation_is_a_newsletter_message_without_list_headers(service):
    service.sign_up("reader@example.org")
    message = wait_for(lambda: mail_to(service.site, "reader@example.org"))[0]
    assert message["Subject"] == "Confirm your subscription to Test Site"
    assert message["From"] == "Test Letters <letters@example.com>"
    assert message["List-Id"] and message["Message-ID"] and message["Date"]
    assert message["List-Unsubscribe"] is None
    html = message.get_body(("html",)).get_content()
    assert "Confirm my subscription" in html and "1 Test Road, Testville" in html


def test_the_confirmation_repeats_nothing_typed_but_the_address(service):
    spam = "Cheap pills at https://spam.example.net"
    service.sign_up("reader@example.org", name=spam)
    message = wait_for(lambda: mail_to(service.site, "reader@example.org"))[0]
    whole = message.as_string()
    assert "pills" not in whole and "spam.example.net" not in whole
    assert "Hello," in message.get_body(("plain",)).get_content()


def test_opening_the_confirmation_link_changes_nothing(service):
    service.sign_up("reader@example.org")
    page = service.get(service.confirm_link("reader@example.org").removeprefix(service.url))
    assert page.status_code == 200
    assert "Confirm my subscription" in page.text
    assert service.status("reader@example.org") is None


def test_confirming_makes_an_active_subscriber_with_their_name(service):
    service.sign_up("reader@example.org", name="Ada")
    answer = service.confirm("reader@example.org")
    assert answer.status_code == 200 and "You are subscribed" in answer.text
    assert service.status("reader@example.org") == "active"
    assert service.store.find_subscriber("reader@example.org").name == "Ada"


def test_a_confirmation_link_confirms_once(service):
    service.sign_up("reader@example.org")
    token = query(service.confirm_link("reader@example.org"))["token"]
    assert "You are subscribed" in service.post("/confirm", {"token": token}).text
    service.store.set_subscriber_status(
        service.store.find_subscriber("reader@example.org").id, "unsubscribed"
    )
    again = service.post("/confirm", {"token": token})
    assert "used already" in again.text
    assert service.status("reader@example.org") == "unsubscribed"


def test_the_answer_is_the_same_for_new_pending_active_and_unknown_addresses(service):
    subscribe(service.site, "active@example.org")
    answers = {
        service.sign_up(email, network=f"203.0.{n}.1").text
        for n, email in enumerate(
            [
                "new@example.org",
                "active@example.org",
                "new@example.org",
                "nobody@unregistered-domain-7f3a.net",
            ]
        )
    }
    assert len(answers) == 1


def test_two_sign_ups_of_one_address_make_one_mail_and_one_subscriber(service):
    service.sign_up("reader@example.org")
    service.sign_up("Reader@Example.org", network="203.0.113.9")
    link = service.confirm_link("reader@example.org")
    service.confirm("reader@example.org")
    assert len(mail_to(service.site, "reader@example.org")) == 1
    assert link
    assert [s.email for s in service.store.subscribers()] == ["reader@example.org"]


def test_a_malformed_address_gets_the_form_again_and_no_mail(service):
    answer = service.sign_up("not an address")
    assert answer.status_code == 422
    assert "not an email address" in answer.text and 'value="not an address"' in answer.text
    assert service.store.pending_signups() == 0


def test_one_click_unsubscribes_at_once_without_cookies_or_origin(service):
    subscribe(service.site, "reader@example.org")
    answer = service.post(unsubscribe_path(service, "reader@example.org"), files=ONE_CLICK)
    assert answer.status_code == 200
    assert service.status("reader@example.org") == "unsubscribed"


def test_one_click_works_form_encoded_too(service):
    subscribe(service.site, "reader@example.org")
    path = unsubscribe_path(service, "reader@example.org")
    answer = service.post(path, "List-Unsubscribe=One-Click", headers=FORM_ENCODED)
    assert answer.status_code == 200
    assert service.status("reader@example.org") == "unsubscribed"


FORM_ENCODED = {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_unsubscribe_page_changes_nothing_and_offers_one_button(service):
    subscribe(service.site, "reader@example.org")
    page = service.get(unsubscribe_path(service, "reader@example.org"))
    assert page.status_code == 200
    assert page.text.count("<button") == 1 and ">Unsubscribe</button>" in page.text
    assert service.status("reader@example.org") == "active"


def test_unsubscribing_from_the_page_can_be_undone(service):
    subscribe(service.site, "reader@example.org")
    path = unsubscribe_path(service, "reader@example.org")
    done = service.post(path, headers={"Origin": service.url, "Sec-Fetch-Site": "same-origin"})
    assert "You are unsubscribed" in done.text and "Undo" in done.text
    assert service.status("reader@example.org") == "unsubscribed"
    undo = service.post(
        path.replace("/unsubscribe", "/resubscribe"), headers={"Origin": service.url}
    )
    assert "subscribed again" in undo.text
    assert service.status("reader@example.org") == "active"


def test_a_scanner_opening_every_link_of_every_message_changes_nothing(service):
    subscribe(service.site, "old@example.org")
    service.site.post("2024-01-01-hello.md", "title: Hello", "The summary.")
    service.sign_up("reader@example.org")
    confirmation = wait_for(lambda: mail_to(service.site, "reader@example.org"))[0]
    assert service.site.run("send", "posts/2024-01-01-hello.md").exit_code == 0
    newsletter = mail_to(service.site, "old@example.org")[0]
    links = {link for message in (confirmation, newsletter) for link in links_in(message)}
    ours = {link for link in links if link.startswith(service.url)}
    assert any("/confirm?" in link for link in ours) and any(
        "/unsubscribe?" in link for link in ours
    )
    for link in ours:
        assert service.get(link.removeprefix(service.url)).status_code == 200
    assert service.status("old@example.org") == "active"
    assert service.status("reader@example.org") is None


def test_a_site_template_replaces_a_page(service):
    folder = service.site.root / "templates" / "web"
    folder.mkdir(parents=True)
    (folder / "check_inbox.html").write_text(
        '{% extends "web/layout.html" %}{% block main %}<h1>Look in your mail</h1>{% endblock %}'
    )
    answer = service.sign_up("reader@example.org")
    assert "<h1>Look in your mail</h1>" in answer.text and "Test Site" in answer.text
