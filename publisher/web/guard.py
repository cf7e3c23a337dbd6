"""What the service checks of every request: who sent it, where its form came from, and how
much it may send."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
log = logging.getLogger("publisher.serve")


def proxy_networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy, strict=False) for proxy in proxies)


def client_network(peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The client's network, as rate limits count clients: its /24 (IPv4) or its /64 (IPv6).

    X-Forwarded-For is read only when the peer is a trusted proxy, and then from the right:
    the first address that is not a trusted proxy is the client, as each proxy appends.
    """
    client = _address(peer)
    if client is not None and _trusted(client, proxies):
        for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
            address = _address(hop)
            if address is None:
                break
            client = address
            if not _trusted(address, proxies):
                break
    if client is None:
        return "unknown"
    prefix = 24 if client.version == 4 else 64
    return str(ipaddress.ip_network(f"{client}/{prefix}", strict=False))


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return mapped or address


def _trusted(address, proxies: tuple[Network, ...]) -> bool:
    return any(address.version == net.version and address in net for net in proxies)


def cross_origin(headers: Mapping[str, str], allowed: frozenset[str]) -> str:
    """Why a form POST must be refused as coming from another site's page, or "".

    Go 1.25's CrossOriginProtection: an allowed Origin passes; else Sec-Fetch-Site decides
    where a browser sent it; else a request with no Origin is not a browser's form, and one
    with an Origin passes only when it names this host.
    """
    origin = headers.get("origin", "")
    if origin in allowed:
        return ""
    fetch_site = headers.get("sec-fetch-site", "")
    if fetch_site:
        if fetch_site in ("same-origin", "none"):
            return ""
        return f"a form posted from {origin or 'another site'} (Sec-Fetch-Site: {fetch_site})"
    if not origin or urlsplit(origin).netloc == headers.get("host", ""):
        return ""
    return f"a form posted from {origin}"


class TooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"A request may send at most {limit:,} bytes.")


class TooSlow(HTTPException):
    def __init__(self) -> None:
        super().__init__(408, "The request's body took too long to arrive.")


class RequestLimits:
    """ASGI middleware: a body larger than `max_body` bytes is refused (by its Content-Length
    before any of it is read, else when it grows past), and so is one whose parts stop
    arriving for `read_timeout` seconds."""

    def __init__(self, app: ASGIApp, *, max_body: int, read_timeout: float) -> None:
        self.app = app
        self.max_body = max_body
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_body:
            log.warning("refused %s %s: a body of %s bytes", scope["method"], scope["path"], length)
            response = PlainTextResponse(TooLarge(self.max_body).detail, status_code=413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            try:
                message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                raise TooSlow() from None
            received += len(message.get("body", b""))
            if received > self.max_body:
                raise TooLarge(self.max_body)
            return message

        await self.app(scope, limited, send)
