"""Signed unsubscribe tokens: each names one subscriber and cannot be forged or altered."""

from __future__ import annotations

import functools
import os

from publisher.site.problems import Refusal

SECRET_VARIABLE = "PUBLISHER_SECRET"
_SALT = "publisher.unsubscribe"


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
