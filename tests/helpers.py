"""What tests share besides fixtures: site folders, the real CLI, feed reading, servers."""

from __future__ import annotations

import ast
import asyncio
import collections
import contextlib
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime
from html import escape, unescape
from pathlib import Path

import feedparser
import psycopg
import requests
from aiosmtpd.controller import Controller
from click.testing import CliRunner, Result

from publisher.cli import main
from publisher.mail.store import StoredNewsletter

# A newsletter as the state keeps it, and the moment the store's tests record one at.
LETTER = StoredNewsletter("Hello", "<p>Hello</p>", "Hello")
NOW = datetime(2024, 1, 1, tzinfo=UTC)

ROOT = Path(__file__).resolve().parent.parent
# The bundled post: a real review with Jekyll front matter and mojibake.
SEED_NAME = "2018-02-04-review-of-andrew-ngs-deep-learning-specialization.md"
SEED = f"posts/{SEED_NAME}"
SEED_URL = (
    "https://blog.example.com/deep%20learning/2018/02/04/"
    "review-of-andrew-ngs-deep-learning-specialization.html"
)
# Its summary: the first paragraph, without the "TL;DR:" label.
SEED_SUMMARY = (
    "Andrew Ng's deep learning specialization is a good way to get started in deep learning"
)

CONFIG = """
[site]
title = "Test Site"
url = "https://example.com"
description = "A site for tests."
author = "Site Author"
timezone = "UTC"
"""
NEWSLETTER_CONFIG = (
    CONFIG
    + """
[newsletter]
from_name = "Test Letters"
from_address = "letters@example.com"
postal_address = "1 Test Road, Testville"
unsubscribe_url = "https://example.com/unsubscribe?token={token}"
unsubscribe_mailto = "unsubscribe@example.com"
"""
)
MAIL_CONFIG = (
    NEWSLETTER_CONFIG
    + """
[mail]
retries = 2
retry_delay = 0.05
timeout = 2.0
"""
)


@dataclass
class SiteDir:
    """A site on disk that tests write posts into and build."""

    root: Path

    def config(self, text: str) -> None:
        (self.root / "publisher.toml").write_text(textwrap.dedent(text), encoding="utf-8")

    def post(self, name: str, front_matter: str = "title: A post", body: str = "Hello.") -> Path:
        path = self.root / "posts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = f"---\n{textwrap.dedent(front_matter).strip()}\n---\n\n{textwrap.dedent(body)}"
        path.write_text(text, encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        return CliRunner().invoke(main, [*args, "--site", str(self.root)])

    def build(self, *args: str) -> Result:
        result = self.run("build", *args)
        assert result.exit_code == 0, result.output
        return result

    def output(self, path: str) -> Path:
        return self.root / "_site" / path

    def feed(self, path: str = "feed.xml") -> feedparser.FeedParserDict:
        return parse_feed(self.output(path))


JEKYLL_CONFIG = """
title: Jekyll Blog
url: https://jekyll.example.com
"""


@dataclass
class JekyllDir(SiteDir):
    """A Jekyll site: _config.yml, and files anywhere in its tree."""

    def config(self, text: str) -> None:
        (self.root / "_config.yml").write_text(textwrap.dedent(text), encoding="utf-8")

    def file(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def post(self, name: str, front_matter: str = "title: A post", body: str = "Hello.") -> Path:
        folder = "" if "_posts/" in name or "_drafts/" in name else "_posts/"
        text = f"---\n{textwrap.dedent(front_matter).strip()}\n---\n\n{textwrap.dedent(body)}"
        return self.file(folder + name, text)

    def entry(self, title: str, path: str = "feed.xml") -> feedparser.FeedParserDict:
        """The entry of that title, in the feed a fresh build writes."""
        self.build()
        return next(e for e in self.feed(path).entries if e.title == title)

    def html(self, title: str) -> str:
        return self.entry(title).content[0].value

    def raw_html(self, title: str) -> str:
        """The entry's content as the feed holds it, before a reader's sanitizer drops
        scripts and data- attributes."""
        from lxml import etree

        self.build()
        atom = "{http://www.w3.org/2005/Atom}"
        for entry in etree.parse(self.output("feed.xml")).iter(f"{atom}entry"):
            if entry.findtext(f"{atom}title") == title:
                return entry.findtext(f"{atom}content")
        raise KeyError(title)


def modules_a_build_loads(site: SiteDir, names: set[str]) -> list[str]:
    """Which of the packages `names` a `publisher build` of the site imports, in a fresh
    interpreter."""
    script = (
        "import sys\n"
        "from publisher.cli import main\n"
        "try:\n"
        f"    main(['build', '--site', {str(site.root)!r}])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(set({sorted(names)!r}) & {{name.split('.')[0] for name in sys.modules}}))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return ast.literal_eval(result.stdout.splitlines()[-1])


def parse_feed(path: Path) -> feedparser.FeedParserDict:
    """Read a feed as a reader would, failing on anything feedparser finds malformed."""
    parsed = feedparser.parse(path.read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    return parsed


@dataclass
class Preview:
    """The three files `publisher newsletter` writes, and what it printed."""

    folder: Path
    result: Result

    @property
    def html(self) -> str:
        return (self.folder / "message.html").read_text(encoding="utf-8")

    @property
    def text(self) -> str:
        return (self.folder / "message.txt").read_text(encoding="utf-8")

    @property
    def eml(self) -> bytes:
        return (self.folder / "message.eml").read_bytes()


def render_newsletter(site: SiteDir, *args: str) -> Preview:
    folder = site.root / "preview"
    result = site.run("newsletter", *args, "--out", str(folder))
    return Preview(folder, result)


def subscribe(site: SiteDir, *emails: str) -> None:
    from publisher.mail import subscribers
    from publisher.mail.store import open_store
    from publisher.site.config import load_site

    loaded, _ = load_site(site.root)
    store = open_store(loaded)
    for email in emails:
        subscribers.add(store, email)
    store.close()


PUBLISHER = str(Path(sys.executable).with_name("publisher"))


def start_send(site: SiteDir, *args: str, post: str = "posts/2024-01-01-hello.md"):
    """A real `publisher send` of `post` in a process of its own."""
    return subprocess.Popen(
        [PUBLISHER, "send", post, "--site", str(site.root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def import_subscribers(site: SiteDir, count: int) -> list[str]:
    csv = site.root / "list.csv"
    csv.write_text("email\n" + "".join(f"user{n}@example.com\n" for n in range(count)))
    assert site.run("subscribers", "import", str(csv)).exit_code == 0
    return [f"user{n}@example.com" for n in range(count)]


def kill_when(process: subprocess.Popen, ready, limit: float = 60.0) -> None:
    """SIGKILL `process` as soon as `ready()` holds (or it ends by itself)."""
    deadline = time.monotonic() + limit
    while not ready() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()


class Sink:
    """A real SMTP server's handler (aiosmtpd) that counts what it accepts.

    Tests script its failures: replies to give a recipient at RCPT or after DATA (used up in
    order, then it accepts), a delay before answering RCPT or the final dot, or dropping the
    line at the Nth DATA. `data_seen` is set once a whole message has arrived. With
    `reply_delay`, a message is kept first and answered later, as an MTA queues it before it
    replies: a client gone in between does not take it back.
    """

    def __init__(self) -> None:
        self.received: collections.Counter[str] = collections.Counter()
        self.messages: list[tuple[str, bytes]] = []
        self.rcpt_replies: dict[str, list[str]] = {}
        self.data_replies: dict[str, list[str]] = {}
        self.rcpt_delays: dict[str, list[float]] = {}
        self.data_delay = 0.0
        self.reply_delay = 0.0
        self.data_seen = threading.Event()
        self.drop_at: set[int] = set()
        self.data_count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        delays = self.rcpt_delays.get(address)
        if delays:
            await asyncio.sleep(delays.pop(0))
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.data_count += 1
            count = self.data_count
        self.data_seen.set()
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if count in self.drop_at:
            server.transport.close()
            return "421 4.4.2 dropped"
        recipient = envelope.rcpt_tos[0]
        replies = self.data_replies.get(recipient)
        if replies:
            return replies.pop(0)
        with self.lock:
            self.received[recipient] += 1
            self.messages.append((recipient, envelope.original_content))
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return "250 2.0.0 OK"


class SmtpServer(Controller):
    """aiosmtpd's server on a port the system picks as it binds, so tests never race for one.

    Give `ssl_context` for implicit TLS, or `tls_context` for STARTTLS."""

    def __init__(self, handler, **options) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, **options)

    def _create_server(self):
        async def bound():
            server = await super(SmtpServer, self)._create_server()
            self.port = server.sockets[0].getsockname()[1]
            return server

        return bound()


def use_smtp(monkeypatch, server: SmtpServer, security: str = "none") -> None:
    """Point the CLI at `server`, as a CI job's PUBLISHER_SMTP_* variables would."""
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PUBLISHER_SMTP_PORT", str(server.port))
    monkeypatch.setenv("PUBLISHER_SMTP_SECURITY", security)
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")


def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens (until someone else takes it)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        return closed.getsockname()[1]


def use_no_smtp_server(monkeypatch) -> None:
    """Point the CLI at a port of 127.0.0.1 where nothing listens: every connection is refused."""
    port = free_port()
    monkeypatch.setenv("PUBLISHER_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PUBLISHER_SMTP_PORT", str(port))
    monkeypatch.setenv("PUBLISHER_SMTP_SECURITY", "none")
    monkeypatch.setenv("PUBLISHER_SECRET", "test-secret")


class Hub:
    """A WebSub hub stand-in on 127.0.0.1 that records publish pings; it can fail or hang."""

    def __init__(self) -> None:
        self.pings: list[dict[str, list[str]]] = []
        self.mode = "ok"

    def handler(self):
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                if hub.mode == "hang":
                    time.sleep(2)
                hub.pings.append(form)
                self.send_response(500 if hub.mode == "fail" else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler

    def urls(self) -> list[str]:
        """Every feed the hub was told of, in every ping."""
        return [url for ping in self.pings for url in ping["hub.url"]]


def serve(hub: Hub) -> Hub:
    """Run `hub` on 127.0.0.1 until the test process ends; its `url` says where."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), hub.handler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/"
    return hub


SECRET = "test-secret"
SERVICE_CONFIG = (
    MAIL_CONFIG.replace('unsubscribe_url = "https://example.com/unsubscribe?token={token}"\n', "")
    + """
[service]
url = "{url}"
allowed_origins = ["https://example.com"{origins}]
trusted_proxies = ["127.0.0.1"]
{extra}
"""
)


class Service:
    """`publisher serve`'s application under a real uvicorn on 127.0.0.1, in a thread of the
    test, over the site's real state and Maildir."""

    def __init__(self, site: SiteDir, *, origins: tuple[str, ...] = (), extra: str = "") -> None:
        import uvicorn

        from publisher.mail.store import open_store
        from publisher.site.config import load_site
        from publisher.web.app import make_app
        from publisher.web.signup import Desk

        self.site = site
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        more = "".join(f', "{origin}"' for origin in origins)
        site.config(SERVICE_CONFIG.format(url=self.url, origins=more, extra=extra))
        loaded, _ = load_site(site.root)
        self.store = open_store(loaded)
        self.desk = Desk(loaded, self.store, SECRET, base_url=self.url)
        config = uvicorn.Config(
            make_app(self.desk, base_url=self.url), log_level="warning", proxy_headers=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, args=([self.socket],))
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)
        self.http = requests.Session()

    def get(self, path: str, **options) -> requests.Response:
        return self.http.get(self.url + path, allow_redirects=False, timeout=10, **options)

    def post(self, path: str, data=None, **options) -> requests.Response:
        return self.http.post(self.url + path, data=data, timeout=10, **options)

    def sign_up(self, email: str, network: str = "198.51.100.7", **fields) -> requests.Response:
        """A sign-up form posted from the blog's page, by a client of `network`."""
        headers = {"Origin": "https://example.com", "X-Forwarded-For": network}
        return self.post("/subscribe", {"email": email, **fields}, headers=headers)

    def confirm_link(self, email: str) -> str:
        """The link of the latest confirmation mailed to `email`."""
        wait_for(lambda: mail_to(self.site, email))
        return link_in(mail_to(self.site, email)[-1], "/confirm?")

    def confirm(self, email: str) -> requests.Response:
        token = query(self.confirm_link(email))["token"]
        return self.post("/confirm", {"token": token})

    def status(self, email: str) -> str | None:
        subscriber = self.store.find_subscriber(email)
        return subscriber.status if subscriber else None

    def stop(self) -> None:
        """As SIGTERM would: the application's shutdown closes the desk and the state."""
        self.server.should_exit = True
        self.thread.join()


def wait_for(condition, timeout: float = 5.0):
    """Until `condition()` is true (mail is written after the answer), or fail."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


def mail_to(site: SiteDir, email: str) -> list[EmailMessage]:
    """The messages in the site's Maildir addressed to `email`, oldest first."""
    folder = site.root / ".publisher" / "outbox" / "new"
    found = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"].addresses[0].addr_spec == email:
            found.append(message)
    return found


def link_in(message: EmailMessage, part: str) -> str:
    """The first link of the message's plain text that holds `part`."""
    text = message.get_body(("plain",)).get_content()
    return next(word for word in text.split() if word.startswith("http") and part in word)


def links_in(message: EmailMessage) -> set[str]:
    """Every http(s) link of both parts of a message."""
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    found = {m for m in re.findall(r'href="(http[^"]+)"', html)}
    return {unescape(link) for link in found} | set(re.findall(r"https?://\S+", text))


def query(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


def healthz(url: str, *, running=lambda: True, timeout: float = 30) -> requests.Response:
    """The service's /healthz answer at `url`, once it listens; fail if `running()` turns
    false or the time runs out first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(f"{url}/healthz", timeout=2)
        except requests.ConnectionError:
            assert time.monotonic() < deadline and running(), "the service never answered"
            time.sleep(0.2)


class PostgresServer:
    """A real PostgreSQL server of Debian's package, in a folder of its own, on a free port
    of 127.0.0.1; as an unprivileged user when the tests run as root, as initdb requires."""

    def __init__(self, folder: Path, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.data = folder / "data"
        self.port = free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(folder, self.user)
        self._run("initdb", "-D", str(self.data), "-U", "publisher", "--auth=trust", "-E", "UTF8")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {folder} -c fsync=on"
        self._run(
            "pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(folder / "log"), "start"
        )
        self.base = f"postgresql://publisher@127.0.0.1:{self.port}"
        self._databases = 0

    def database(self) -> str:
        """The URL of a new, empty database."""
        self._databases += 1
        name = f"test{self._databases}"
        with psycopg.connect(f"{self.base}/postgres", autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return f"{self.base}/{name}"

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin / program), *args],
            check=True,
            capture_output=True,
            user=self.user,
            cwd="/",
        )


def postgres_bin() -> Path | None:
    """Where Debian's PostgreSQL programs are (apt-get install postgresql)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def png(width: int, height: int) -> bytes:
    """A plain grey PNG of that size, for pages whose images must have real dimensions."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = (b"\x00" + b"\x90" * width) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# The WCAG contrast ratio of each visible text element's colour on what is behind it.
CONTRAST_SCRIPT = """
(selector) => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  return [...document.querySelectorAll(selector)]
    .filter((el) => el.offsetParent !== null && el.textContent.trim())
    .map((el) => {
      const a = lum(rgb(getComputedStyle(el).color).slice(0, 3));
      const b = lum(background(el));
      return [el.tagName + '.' + el.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
    });
}
"""


@dataclass
class Answer:
    """What the feed server answers on one path: a body, or a status with its headers."""

    body: bytes = b""
    content_type: str = "application/rss+xml"
    status: int = 200
    headers: dict[str, str] | None = None
    delay: float = 0.0
    # An ETag (and a Last-Modified) that the server honours with a 304.
    validators: bool = True
    gzip: bool = False


class FeedServer:
    """A feed host on 127.0.0.1 whose answers a test scripts path by path; it answers a
    conditional GET whose ETag matches with 304, and keeps every request's headers."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def answer(self, path: str, body: bytes | str = b"", **options) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.answers[path] = Answer(data, **options)

    def hits(self, path: str) -> list[dict[str, str]]:
        """The headers of each request for `path`."""
        return [headers for seen, headers in self.requests if seen == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        feeds = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                feeds.requests.append((self.path, dict(self.headers)))
                answer = feeds.answers.get(self.path, Answer(status=404))
                time.sleep(answer.delay)
                etag = f'"{hashlib.sha256(answer.body).hexdigest()[:16]}"'
                if answer.validators and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                body = gzip.compress(answer.body) if answer.gzip else answer.body
                self.send_response(answer.status)
                for name, value in (answer.headers or {}).items():
                    self.send_header(name, value)
                if answer.status == 200:
                    self.send_header("Content-Type", answer.content_type)
                    if answer.validators:
                        self.send_header("ETag", etag)
                        self.send_header("Last-Modified", "Mon, 02 Nov 2026 10:00:00 GMT")
                    if answer.gzip:
                        self.send_header("Content-Encoding", "gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@dataclass
class Item:
    """An entry of a test feed; each format writes the same item its own way."""

    number: int
    title: str = ""
    id: str | None = None
    link: str | None = None
    content: str = ""

    @property
    def date(self) -> datetime:
        return datetime(2026, 11, 1, 10, tzinfo=UTC) + timedelta(days=self.number)

    def the_title(self) -> str:
        return self.title or f"Entry {self.number}"

    def the_id(self) -> str:
        return self.id if self.id is not None else f"https://remote.example/id/{self.number}"

    def the_link(self) -> str:
        return self.link if self.link is not None else f"/posts/{self.number}/"

    def the_content(self) -> str:
        return self.content or f"<p>The words of entry {self.number}.</p>"


def rss(items: list[Item], *, base: str = "https://remote.example/") -> str:
    """An RSS 2.0 feed, newest first, links relative to the channel's xml:base."""
    entries = "".join(
        f"<item><title>{escape(item.the_title())}</title><link>{escape(item.the_link())}</link>"
        + (f"<guid isPermaLink='false'>{escape(item.the_id())}</guid>" if item.the_id() else "")
        + f"<pubDate>{format_datetime(item.date)}</pubDate>"
        f"<description>{escape(item.the_content())}</description></item>"
        for item in sorted(items, key=lambda i: i.date, reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
        f'xml:base="{base}"><channel><title>Remote</title><link>{base}</link>'
        f"<description>A remote blog</description>{entries}</channel></rss>"
    )


def atom(items: list[Item], *, base: str = "https://remote.example/") -> str:
    entries = "".join(
        f"<entry><title>{escape(item.the_title())}</title><id>{escape(item.the_id())}</id>"
        f'<link rel="alternate" href="{escape(item.the_link())}"/>'
        f"<updated>{item.date.isoformat()}</updated><author><name>Remote Writer</name></author>"
        f'<content type="html">{escape(item.the_content())}</content></entry>'
        for item in sorted(items, key=lambda i: i.date, reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f'xml:base="{base}"><title>Remote</title><id>{base}</id>'
        f"<updated>2026-11-30T00:00:00Z</updated>{entries}</feed>"
    )


def json_feed(items: list[Item], *, base: str = "https://remote.example/") -> str:
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Remote",
            "home_page_url": base,
            "items": [
                {
                    "id": item.the_id(),
                    "url": urllib.parse.urljoin(base, item.the_link()),
                    "title": item.the_title(),
                    "content_html": item.the_content(),
                    "date_published": item.date.isoformat(),
                }
                for item in sorted(items, key=lambda i: i.date, reverse=True)
            ],
        }
    )


def sources_config(*feeds: str, extra: str = "", newsletter: str = "") -> str:
    """A site that mails one newsletter per entry of the given feeds (each source with the
    `extra` settings), with the `newsletter` settings besides the tests' own."""
    tables = "".join(f'\n[[sources]]\nfeed = "{feed}"\nname = "Remote"\n{extra}' for feed in feeds)
    return MAIL_CONFIG.replace("[newsletter]\n", f"[newsletter]\n{newsletter}\n") + tables


def polled_source(now: datetime, *, feed: str = "https://remote.example/feed.xml"):
    """A remote feed's first good fetch, with one entry, as publish records it."""
    from publisher.sources.decide import decide
    from publisher.sources.records import Memory, Polled, RemoteEntry, SourceState

    entry = RemoteEntry("urn:1", "https://remote.example/1/", "One", now, "<p>One</p>")
    state = SourceState(feed, feed, etag='"e1"', checked_at=now, status="ok", baseline_at=now)
    decided = decide(feed, [entry], Memory(), first=False, now=now, margin=timedelta(days=7))
    return Polled(feed, "Remote", state, decided, "1 entries", changed=True)
