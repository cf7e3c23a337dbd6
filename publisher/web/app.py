"""`publisher serve`'s pages: sign up, confirm, unsubscribe or come back, over the site's state.

No GET changes anything, because mail scanners and link checkers open every link of a
message. Every change is a POST, and a form's POST is refused when a page of another site
sent it; RFC 8058's one-click POST, which mail providers send without cookies or an Origin,
unsubscribes at once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from publisher.mail.newsletter import template_environment
from publisher.mail.subscribers import SubscriberError
from publisher.mail.tokens import TokenError
from publisher.web.durable import GroupFlush
from publisher.web.guard import (
    RequestLimits,
    client_network,
    cross_origin,
    proxy_networks,
)
from publisher.web.signup import Desk, SignupForm

log = logging.getLogger("publisher.serve")
# A sign-up form is a few hundred bytes; nothing the service takes is larger.
MAX_BODY = 8 * 1024
READ_TIMEOUT = 10.0
# The honeypot: a field people never see, so never fill.
TRAP_FIELD = "website"
# Pages name who they are for, and carry tokens: nothing keeps them, nor sends them on.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class Service:
    """The routes, and what they share: the desk, the pages and the request checks."""

    def __init__(self, desk: Desk, *, base_url: str) -> None:
        site = desk.site
        self.desk = desk
        self.site = site
        self.base_url = base_url
        self.pages = template_environment(site.root / "templates")
        own = urlsplit(base_url)
        self.allowed = frozenset(site.service.allowed_origins) | {f"{own.scheme}://{own.netloc}"}
        self.proxies = proxy_networks(site.service.trusted_proxies)

    def app(self) -> Starlette:
        routes = [
            Route("/", self.home, methods=["GET"]),
            Route("/subscribe", self.subscribe_page, methods=["GET"]),
            Route("/subscribe", self.subscribe, methods=["POST"]),
            Route("/confirm", self.confirm_page, methods=["GET"]),
            Route("/confirm", self.confirm, methods=["POST"]),
            Route("/unsubscribe", self.manage_page, methods=["GET"]),
            Route("/unsubscribe", self.unsubscribe, methods=["POST"]),
            Route("/resubscribe", self.resubscribe, methods=["POST"]),
            Route("/healthz", self.health, methods=["GET"]),
        ]
        limits = Middleware(RequestLimits, max_body=MAX_BODY, read_timeout=READ_TIMEOUT)
        handlers = {HTTPException: self.problem, TokenError: self.bad_token}
        return Starlette(
            routes=routes, middleware=[limits], exception_handlers=handlers, lifespan=self.lifespan
        )

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Commits are flushed to disk for many requests at once while the service runs; on
        the way out (Ctrl-C, SIGTERM), the desk closes and says what it did."""
        with self.desk.store.group_flushes() as flusher:
            self.flushes = GroupFlush(flusher)
            yield
        self.desk.close()
        log.info("stopped: %s", self.desk.summary())

    async def durable(self) -> None:
        """Wait until every change made so far is on disk: no answer says "done" before.
        Requests waiting together share one flush."""
        try:
            await self.flushes.wait()
        except OSError as exc:
            log.error("cannot flush the state to disk: %s", exc)
            raise HTTPException(503, "The service cannot save anything now; try later.") from None

    # Signing up

    async def home(self, request: Request) -> Response:
        return RedirectResponse(f"{self.base_url}/subscribe", status_code=303)

    async def subscribe_page(self, request: Request) -> Response:
        return self.page("subscribe", email="", name="", error="")

    async def subscribe(self, request: Request) -> Response:
        self.refuse_cross_origin(request)
        form = await self.form(request)
        signup = SignupForm(
            email=_field(form, "email").strip(),
            name=_field(form, "name"),
            trap=_field(form, TRAP_FIELD),
            network=self.network(request),
        )
        if not signup.email:
            return self.page("subscribe", 422, email="", name="", error="Enter your email address.")
        try:
            confirmation = self.desk.sign_up(signup, now=datetime.now(UTC))
        except SubscriberError:
            error = "That is not an email address: check it and try again."
            return self.page("subscribe", 422, email=signup.email, name="", error=error)
        if confirmation and not self.desk.post(confirmation):
            raise HTTPException(503, "Too many sign-ups at once: try again in a minute.")
        await self.durable()
        # Mailed after the answer, which is the same page and as quick whatever happened.
        return self.page("check_inbox")

    async def confirm_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        self.desk.check_confirmation(token)
        return self.page("confirm", token=token)

    async def confirm(self, request: Request) -> Response:
        self.refuse_cross_origin(request)
        form = await self.form(request)
        token = _field(form, "token") or request.query_params.get("token", "")
        confirmed = self.desk.confirm(token)
        await self.durable()
        return self.page("confirmed", confirmed=str(confirmed))

    # Leaving and coming back

    async def manage_page(self, request: Request) -> Response:
        token = request.query_params.get("token", "")
        return self.page("manage", subscriber=self.desk.subscriber(token), token=token, done="")

    async def unsubscribe(self, request: Request) -> Response:
        form = await self.form(request)
        one_click = _field(form, "List-Unsubscribe") == "One-Click"
        if not one_click:
            self.refuse_cross_origin(request)
        token = request.query_params.get("token", "")
        subscriber = self.desk.unsubscribe(token, how="one-click" if one_click else "its page")
        await self.durable()
        if one_click:  # a mail provider's request, on the reader's behalf: nobody reads it
            return PlainTextResponse("Unsubscribed.\n", headers=HEADERS)
        return self.page("manage", subscriber=subscriber, token=token, done="unsubscribed")

    async def resubscribe(self, request: Request) -> Response:
        self.refuse_cross_origin(request)
        await self.form(request)
        token = request.query_params.get("token", "")
        subscriber = self.desk.resubscribe(token)
        await self.durable()
        return self.page("manage", subscriber=subscriber, token=token, done="resubscribed")

    async def health(self, request: Request) -> Response:
        if not self.desk.store.readable():
            return PlainTextResponse("the state cannot be read\n", status_code=503)
        if self.flushes.flusher.failure:
            return PlainTextResponse("the state cannot be flushed to disk\n", status_code=503)
        return PlainTextResponse("ok\n")

    # Shared

    def page(self, page: str, status: int = 200, **values) -> HTMLResponse:
        context = {"site": self.site, "base_url": self.base_url, "trap_field": TRAP_FIELD}
        template = self.pages.get_template(f"web/{page}.html")
        body = template.render(context | values)
        return HTMLResponse(body, status, headers=HEADERS)

    async def problem(self, request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code >= 500 or exc.status_code in (400, 408, 413):
            log.warning("refused %s %s: %s", request.method, request.url.path, exc.detail)
        return self.page("problem", exc.status_code, message=exc.detail)

    async def bad_token(self, request: Request, exc: Exception) -> Response:
        log.warning("refused %s %s: %s", request.method, request.url.path, exc)
        message = f"{str(exc).capitalize()}. Use the link of the latest message, or sign up again."
        return self.page("problem", 400, message=message)

    def refuse_cross_origin(self, request: Request) -> None:
        reason = cross_origin(request.headers, self.allowed)
        if reason:
            log.warning(
                "refused %s %s from %s: %s",
                request.method,
                request.url.path,
                self.network(request),
                reason,
            )
            raise HTTPException(403, "This form can only be sent from the site's own pages.")

    def network(self, request: Request) -> str:
        peer = request.client.host if request.client else ""
        return client_network(peer, request.headers.get("x-forwarded-for", ""), self.proxies)

    async def form(self, request: Request) -> FormData:
        return await request.form(max_files=0, max_fields=20, max_part_size=MAX_BODY)


def _field(form: FormData, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def make_app(desk: Desk, *, base_url: str) -> Starlette:
    """The service's ASGI application."""
    return Service(desk, base_url=base_url).app()
