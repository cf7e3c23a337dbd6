"""Running the service: the state, the desk and the application under uvicorn."""

from __future__ import annotations

import logging

from publisher.mail.store import open_store
from publisher.mail.tokens import secret
from publisher.mail.transports import destination
from publisher.site.config import Site
from publisher.web.app import make_app
from publisher.web.signup import Desk

# Connections served at once; more are answered 503 at once rather than queued.
MAX_CONNECTIONS = 500
log = logging.getLogger("publisher.serve")


def base_url(site: Site, host: str, port: int) -> str:
    """Where the service's links point: its public url, else the address it listens on."""
    if site.service.url:
        return site.service.url
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(site: Site, *, host: str, port: int) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM), logging every refusal on standard error;
    uvicorn ends the process by the signal that stopped it, once the service has shut down."""
    import uvicorn

    key = secret()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    url = base_url(site, host, port)
    if not site.service.url:
        log.warning("[service] url is not set: links in mail point at %s", url)
    desk = Desk(site, open_store(site), key, base_url=url)
    log.info(
        "serving %s on http://%s:%s: the form at %s/subscribe; state in %s; mail to %s",
        site.title,
        host,
        port,
        url,
        desk.store.where,
        destination(site.mail),
    )
    uvicorn.run(
        make_app(desk, base_url=url),
        host=host,
        port=port,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_keep_alive=5,
    )
