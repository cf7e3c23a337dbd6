"""One feed fetched over HTTP as a polite poller does: conditional, patient with a server
that is busy, and never mistaking a failure for an empty feed."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import requests

# Tries of one fetch, and the wait after each failed one that may pass.
ATTEMPTS = 3
BACKOFF = (0.5, 1.5)
# A feed is text: past this it is something else, or a server gone wrong.
MAX_BYTES = 20 * 1024 * 1024
MAX_REDIRECTS = 5
# A 429 without Retry-After waits this long; no Retry-After is honoured past a week.
DEFAULT_RETRY_AFTER = timedelta(hours=1)
LONGEST_RETRY_AFTER = timedelta(days=7)
_PASSING = {500, 502, 503, 504}
_PERMANENT = {301, 308}
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class Fetched:
    """How a fetch ended: "ok" with a body, "not modified", "gone", "deferred" or "failed"."""

    status: str
    body: bytes = b""
    url: str = ""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    # Where a permanent redirect (301 or 308 at every step) sent the fetch.
    moved_to: str = ""
    retry_after: datetime | None = None
    error: str = ""
    # A failure that lasts until someone fixes it (a 404, a body too big), not one that passes.
    lasting: bool = False


class _TooBig(Exception):
    pass


def fetch(
    url: str,
    *,
    etag: str,
    last_modified: str,
    timeout: float,
    user_agent: str,
    now: datetime,
) -> Fetched:
    """GET the feed, sending what the last fetch was told, and retrying what may pass."""
    headers = {"User-Agent": user_agent, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with requests.Session() as session:
        session.max_redirects = MAX_REDIRECTS
        for attempt in range(ATTEMPTS):
            fetched = _attempt(session, url, headers, timeout, now)
            if fetched.status != "retry":
                return fetched
            if attempt < len(BACKOFF):
                time.sleep(BACKOFF[attempt])
    return Fetched("failed", error=f"{fetched.error} ({ATTEMPTS} tries)")


def _attempt(
    session: requests.Session, url: str, headers: dict, timeout: float, now: datetime
) -> Fetched:
    try:
        response = session.get(url, headers=headers, timeout=timeout, stream=True)
    except requests.Timeout:
        return Fetched("retry", error=f"no answer within {timeout:g} s")
    except requests.ConnectionError as exc:
        return Fetched("retry", error=f"could not connect: {_reason(exc)}")
    except requests.TooManyRedirects:
        return Fetched("failed", error=f"more than {MAX_REDIRECTS} redirects", lasting=True)
    except requests.RequestException as exc:
        return Fetched("failed", error=_reason(exc), lasting=True)
    with response:
        return _answer(response, url, timeout, now)


def _answer(response: requests.Response, url: str, timeout: float, now: datetime) -> Fetched:
    code = response.status_code
    moved = _moved_to(response, url)
    if code == 304:
        return Fetched("not modified", url=response.url, moved_to=moved)
    if code == 410:
        return Fetched("gone", error="the server says the feed is gone (410)", lasting=True)
    if code in (429, 503) and (code == 429 or "Retry-After" in response.headers):
        until = now + _retry_after(response.headers.get("Retry-After", ""), now)
        return Fetched("deferred", retry_after=until, error=f"{code} {response.reason}")
    if code in _PASSING:
        return Fetched("retry", error=f"the server answered {code} {response.reason}")
    if code != 200:
        return Fetched(
            "failed", error=f"the server answered {code} {response.reason}", lasting=True
        )
    try:
        body = _read(response, timeout)
    except _TooBig:
        return Fetched("failed", error=f"the feed is over {MAX_BYTES // 2**20} MB", lasting=True)
    except requests.RequestException as exc:
        return Fetched("retry", error=f"the answer broke off: {_reason(exc)}")
    return Fetched(
        "ok",
        body=body,
        url=response.url,
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag", ""),
        last_modified=response.headers.get("Last-Modified", ""),
        moved_to=moved,
    )


def _read(response: requests.Response, timeout: float) -> bytes:
    """The body, decompressed, within the size limit and a deadline a slow drip cannot pass."""
    deadline = time.monotonic() + 3 * timeout
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise _TooBig
        if time.monotonic() > deadline:
            raise requests.Timeout(f"the body took over {3 * timeout:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _moved_to(response: requests.Response, url: str) -> str:
    """The final URL when every redirect on the way was permanent, else ""."""
    steps = response.history
    if steps and all(step.status_code in _PERMANENT for step in steps) and response.url != url:
        return response.url
    return ""


def _retry_after(value: str, now: datetime) -> timedelta:
    """Retry-After as seconds or as an HTTP date, within a week."""
    wait = DEFAULT_RETRY_AFTER
    if value.strip().isdigit():
        wait = timedelta(seconds=int(value.strip()))
    elif value.strip():
        with contextlib.suppress(TypeError, ValueError):
            wait = parsedate_to_datetime(value) - now
    return min(max(wait, timedelta(0)), LONGEST_RETRY_AFTER)


def _reason(exc: Exception) -> str:
    """The innermost reason of a requests error, without its object addresses."""
    reason = exc
    while reason.args and isinstance(reason.args[0], Exception):
        reason = reason.args[0]
    text = str(reason)
    return text.split(": ", 1)[-1] if "object at 0x" in text else text
