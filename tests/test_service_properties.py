"""Generated hostile sign-ups against the running service: never a server error, nothing
typed echoed unescaped, and every confirmation a well-formed message to one address."""

import itertools
import re

from hypothesis import event, given
from hypothesis import strategies as st

from tests.helpers import mail_to
from tests.test_properties import EXAMPLES, text

ALLOWED_HEADERS = {
    "to",
    "date",
    "message-id",
    "from",
    "subject",
    "list-id",
    "mime-version",
    "content-type",
}
networks = itertools.count(1)
addresses = st.one_of(
    text,
    st.builds(lambda local, tail: f"{local}@example.org{tail}", text, text),
    st.builds(
        lambda local: f"{local}@example.org", st.from_regex(r"[a-z0-9.+_-]{1,20}", fullmatch=True)
    ),
)


@EXAMPLES
@given(email=addresses, name=text, trap=st.sampled_from(["", "x"]))
def test_a_hostile_sign_up_is_answered_safely_and_mails_a_clean_message(service, email, name, trap):
    n = next(networks)
    answer = service.sign_up(
        email, network=f"10.{n // 256 % 256}.{n % 256}.1", name=name, website=trap
    )
    assert answer.status_code in (200, 422), answer.text
    assert "<script>" not in answer.text
    if answer.status_code == 422 or trap or "@" not in email:
        return
    service.desk.outbox.join()  # every confirmation queued so far is in the Maildir
    messages = mail_to(service.site, email.strip())
    event(f"confirmations to the address: {len(messages)}")
    for message in messages:
        assert {key.lower() for key in message} <= ALLOWED_HEADERS
        assert len(message["To"].addresses) == 1
        if len(name.strip()) >= 6 and not re.fullmatch(r"[\w .-]*", name):
            assert name.strip() not in message.as_string()
