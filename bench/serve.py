"""Load `publisher serve` on 127.0.0.1 with wrk, beside a bare Starlette floor, in one run.

    .venv/bin/python bench/serve.py                  # 10 s a case, 10 and 50 connections
    .venv/bin/python bench/serve.py --seconds 20 --connections 100

Cases: the floor (a Starlette route under the same uvicorn that answers "ok" and does
nothing else); RFC 8058 one-click unsubscribes, each of another subscriber of a list of
100,000 (multipart body, as Gmail sends it); sign-ups, each of a new address from another
network, each mailing a confirmation into the site's Maildir after its answer. Prints
requests per second, p50 and p99 latency, and for sign-ups how fast the mail followed.
Needs wrk (`apt-get install wrk`); it runs one thread, so the service keeps a core.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

SECRET = "bench-secret"
SUBSCRIBERS = 100_000
# In Lua's string syntax: the multipart body RFC 8058 asks providers to send.
ONE_CLICK_BODY = (
    r"--X\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\n"
    r"One-Click\r\n--X--\r\n"
)
ONE_CLICK = f"""
local tokens = {{}}
for line in io.lines(os.getenv("TOKENS")) do tokens[#tokens + 1] = line end
local n = 0
local headers = {{["Content-Type"] = "multipart/form-data; boundary=X"}}
request = function()
  n = n + 1
  return wrk.format("POST", "/unsubscribe?token=" .. tokens[n % #tokens + 1], headers,
    "{ONE_CLICK_BODY}")
end
"""
SIGN_UP = """
local n = 0
request = function()
  n = n + 1
  local network = "10." .. math.floor(n / 65536) % 256 .. "." .. math.floor(n / 256) % 256
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded",
    ["Origin"] = "https://example.com", ["X-Forwarded-For"] = network .. ".1"}
  return wrk.format("POST", "/subscribe", headers,
    "email=reader" .. n .. "%40domain" .. (n % 500) .. ".example&name=Reader")
end
"""
QUIET = ["--no-access-log", "--log-level", "warning"]
FLOOR = """
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

async def ok(request):
    await request.body()
    return PlainTextResponse("ok")

app = Starlette(routes=[Route("/", ok, methods=["POST"])])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def make_site(root: Path, port: int) -> list[str]:
    """A site with SUBSCRIBERS active subscribers, three newsletters sent to each of them,
    and limits no bench reaches; their tokens."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from publisher.mail.store import NewSubscriber, StoredNewsletter, open_store
    from publisher.mail.tokens import make_token
    from publisher.site.config import load_site

    (root / "publisher.toml").write_text(
        textwrap.dedent(f"""
        [site]
        title = "Bench"
        url = "https://example.com"
        [newsletter]
        postal_address = "1 Bench Road"
        [service]
        url = "http://127.0.0.1:{port}"
        trusted_proxies = ["127.0.0.1"]
        signups_per_network = 1000000
        signups_per_domain = 1000000
        max_pending = 10000000
        """)
    )
    store = open_store(load_site(root)[0])
    store.add_subscribers(NewSubscriber(f"user{n}@example.com") for n in range(SUBSCRIBERS))
    letter = StoredNewsletter("Bench", "<p>Bench</p>", "Bench")
    for n in range(3):
        store.record_newsletter(f"post:bench-{n}", letter, [f"bench-{n}"], datetime.now(UTC))
    tokens = [make_token(SECRET, subscriber.uid) for subscriber in store.subscribers()]
    store.close()
    with sqlite3.connect(root / ".publisher" / "state.db") as state:  # as three sends leave it
        state.execute("UPDATE deliveries SET status = 'sent'")
        state.execute("UPDATE newsletters SET finished_at = created_at")
    return tokens


def wrk(url: str, script: str, args, environment: dict[str, str]) -> dict[str, float]:
    """Requests a second, p50 and p99 in milliseconds, and non-2xx answers."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "--latency"]
    result = subprocess.run(
        [*command, "-s", lua.name, url],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
    )
    os.unlink(lua.name)
    out = result.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": milliseconds(re.search(r"50%\s+(\S+)", out).group(1)),
        "p99": milliseconds(re.search(r"99%\s+(\S+)", out).group(1)),
        "errors": int(errors.group(1)) if errors else 0,
    }


def milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def show(name: str, figures: dict[str, float]) -> None:
    print(
        f"{name:<34} {figures['rps']:>8,.0f} req/s   p50 {figures['p50']:6.2f} ms"
        f"   p99 {figures['p99']:6.2f} ms   ({figures['requests']:,} requests, "
        f"{figures['errors']} not 2xx)"
    )


def run_floor(args) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "floor.py").write_text(FLOOR)
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "floor:app", "--port", str(port), *QUIET],
            cwd=folder,
        )
        try:
            wait_until_up(port)
            body = "List-Unsubscribe=One-Click"
            script = f'wrk.method = "POST"\nwrk.body = "{body}"\n'
            show("floor: bare Starlette POST", wrk(f"http://127.0.0.1:{port}/", script, args, {}))
        finally:
            server.terminate()
            server.wait()


def run_service(args) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        print(f"making a site of {SUBSCRIBERS:,} subscribers...", flush=True)
        tokens = make_site(root, port)
        (root / "tokens").write_text("\n".join(tokens) + "\n")
        os.sync()  # the new state on disk first, so its write-back does not load the runs
        publisher = Path(sys.executable).parent / "publisher"
        server = subprocess.Popen(
            [str(publisher), "serve", "--site", folder, "--port", str(port)],
            env={**os.environ, "PUBLISHER_SECRET": SECRET},
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_up(port)
            url = f"http://127.0.0.1:{port}"
            figures = wrk(url, ONE_CLICK, args, {"TOKENS": str(root / "tokens")})
            show("publisher: one-click unsubscribe", figures)
            if figures["requests"] > len(tokens):
                print("  (more requests than subscribers: the last ones changed nothing)")
            started = time.monotonic()
            figures = wrk(url, SIGN_UP, args, {})
            show("publisher: sign-up, mail to Maildir", figures)
            mailed = count_mail(root, figures["requests"] - figures["errors"], started)
            print(f"  {mailed}")
        finally:
            server.terminate()
            server.wait()


def count_mail(root: Path, expected: int, started: float) -> str:
    """How many confirmations reached the Maildir, and how fast, once they stop coming."""
    folder = root / ".publisher" / "outbox" / "new"
    seen, last = -1, 0
    while True:
        count = sum(1 for _ in folder.iterdir()) if folder.is_dir() else 0
        if count == seen or count >= expected:
            break
        seen, last = count, time.monotonic()
        time.sleep(1.0)
    seconds = (last or time.monotonic()) - started
    return (
        f"{count:,} confirmations in the Maildir of {expected:,} sign-ups, {count / seconds:,.0f}/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, nargs="+", default=[10, 50])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/serve.py needs wrk: apt-get install wrk")
    for connections in args.connections:
        print(f"wrk: 1 thread, {connections} connections, {args.seconds} s a case")
        one = argparse.Namespace(seconds=args.seconds, connections=connections)
        run_floor(one)
        run_service(one)


if __name__ == "__main__":
    main()
