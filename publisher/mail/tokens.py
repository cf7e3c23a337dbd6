"""Signed tokens: each names one subscriber (or one address) and cannot be forged or altered.

Each kind has its own salt, so a token made for one purpose is refused for any other: a
confirmation link cannot unsubscribe anyone, nor an unsubscribe link confirm anyone.
"""

from __future__ import annotations

import functools
import os

from publisher.site.problems import Refusal

SECRET_VARIABLE = "PUBLISHER_SECRET"
_SALT = "publisher.unsubscribe"
_CONFIRM_SALT = "publisher.confirm"


class TokenError(Refusal):
    """A token that was not signed with this site's secret, or was altered."""


class MissingSecret(Refusal):
    """PUBLISHER_SECRET is not set, so no token can be signed or checked."""


def secret() -> str:
    value = os.environ.get(SECRET_VARIABLE, "")
    if not value:
        raise MissingSecret(
            f"{SECRET_VARIABLE} is not set: set it to a long random string, and keep it, "
            "or every unsubscribe link already sent stops working"
        )
    return value


@functools.cache
def _serializer(secret_key: str):
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(secret_key, salt=_SALT)


@functools.cache
def _confirm_serializer(secret_key: str):
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(secret_key, salt=_CONFIRM_SALT)


def make_token(secret_key: str, uid: str) -> str:
    """A token naming the subscriber by their uid, which export and import keep."""
    return _serializer(secret_key).dumps(uid)


def read_token(secret_key: str, token: str) -> str | int:
    """The subscriber a token was made for: their uid, or their row id in a token made
    before uids (still honoured); TokenError when it is not genuine."""
    from itsdangerous import BadSignature

    try:
        value = _serializer(secret_key).loads(token)
    except BadSignature:
        raise TokenError("the unsubscribe token is not valid") from None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TokenError("the unsubscribe token is not valid")
    return value


def make_confirm_token(secret_key: str, email: str, nonce: str) -> str:
    """A token for one sign-up: the address, and the nonce of its pending row, so that each
    token confirms once; it carries its time, and expires."""
    return _confirm_serializer(secret_key).dumps([email, nonce])


def read_confirm_token(secret_key: str, token: str, *, max_age: float) -> tuple[str, str]:
    """The address and nonce a confirmation token was made for; TokenError when it is not
    genuine, or older than `max_age` seconds."""
    from itsdangerous import BadSignature, SignatureExpired

    try:
        value = _confirm_serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenError("the confirmation link has expired") from None
    except BadSignature:
        raise TokenError("the confirmation link is not valid") from None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise TokenError("the confirmation link is not valid")
    return value[0], value[1]
