"""Time `publisher send` against a local SMTP sink, beside a bare smtplib floor.

    .venv/bin/python bench/send.py                 # 10,000 subscribers
    .venv/bin/python bench/send.py --sizes 10000 100000
    .venv/bin/python bench/send.py --sizes 3000 --runs 5 --cases sqlite-1 postgres-1

For each size and round: the floor (one smtplib connection sending the same number of
messages, built before the clock starts), then `publisher send` with one connection and with
four, with the state in SQLite, then in PostgreSQL (a server of Debian's package, started
here, fsync on), and two processes sharing one PostgreSQL send. Prints messages per second
and the peak memory (maximum RSS) of each sending process, then the medians and each ratio's
median over the rounds: the machine's speed drifts, so cases are compared within a round.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import IO

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.helpers import PostgresServer, postgres_bin  # noqa: E402

POST = "posts/2018-02-04-review.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Sink:
    """An SMTP server that takes every message, and where it counts them."""

    process: subprocess.Popen
    counters: IO[str] | None = None

    def stop(self) -> int:
        """How many messages it received."""
        self.process.terminate()
        if self.counters is None:
            return int(self.process.communicate()[0])
        self.process.wait()
        self.counters.seek(0)
        # smtp-sink writes its counters a line each time they change: "sess=1 quit=1 mesg=3".
        output = self.counters.read()
        self.counters.close()
        return int(output.rsplit("mesg=", 1)[1].split()[0]) if "mesg=" in output else 0


def start_sink(port: int, kind: str) -> Sink:
    """Postfix's smtp-sink, written in C, leaves the two cores to the sender and the
    database; the aiosmtpd one (Python, `smtp_sink.py`) takes most of one."""
    if kind == "aiosmtpd":
        command = [sys.executable, str(HERE / "smtp_sink.py"), str(port)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "ready"
        return Sink(process)
    if not shutil.which("smtp-sink"):
        raise SystemExit("smtp-sink is not installed: apt-get install postfix, or --sink aiosmtpd")
    user = ["-u", "nobody"] if os.geteuid() == 0 else []  # it refuses to run as root
    # Its counters go to a file: a pipe that nobody reads would fill and stop it.
    counters = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by Sink.stop)
    command = ["smtp-sink", "-c", *user, f"127.0.0.1:{port}", "256"]
    sink = Sink(subprocess.Popen(command, stdout=counters), counters)
    while True:
        with (
            contextlib.suppress(ConnectionRefusedError),
            socket.create_connection(("127.0.0.1", port)),
        ):
            return sink
        time.sleep(0.05)


def make_site(root: Path, count: int) -> None:
    seed = next((HERE.parent / "posts").glob("*.md")).read_text(encoding="utf-8")
    (root / "posts").mkdir(parents=True)
    (root / POST).write_text(seed, encoding="utf-8")
    (root / "publisher.toml").write_text(
        "[site]\ntitle = 'Bench'\nurl = 'https://example.com'\n"
        "[newsletter]\npostal_address = '1 Bench Road'\n"
    )
    listing = root / "list.csv"
    listing.write_text("email\n" + "".join(f"user{n}@example.com\n" for n in range(count)))


def publisher_started(root: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("publisher")), *args, "--site", str(root)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)


def finished(process: subprocess.Popen) -> tuple[float, str]:
    """Peak MB and output of a publisher command, once it has ended."""
    _, status, usage = os.wait4(process.pid, 0)
    output = process.stdout.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{process.args} failed: {output}")
    return usage.ru_maxrss / 1024, output


def publisher(root: Path, *args: str, env: dict | None = None) -> tuple[float, str]:
    return finished(publisher_started(root, *args, env=env))


def floor(port: int, count: int, message: bytes) -> float:
    """Messages per second of a bare smtplib loop over one connection."""
    messages = [message.replace(b"user0@", f"user{n}@".encode()) for n in range(count)]
    smtp = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for n, data in enumerate(messages):
        smtp.sendmail("bench@example.com", [f"user{n}@example.com"], data)
    seconds = time.perf_counter() - started
    smtp.quit()
    return count / seconds


CASES = {
    "sqlite-1": ("SQLite", 1, 1),
    "sqlite-4": ("SQLite", 4, 1),
    "postgres-1": ("PostgreSQL", 1, 1),
    "postgres-4": ("PostgreSQL", 4, 1),
    "postgres-2x1": ("PostgreSQL", 1, 2),
}
# Each case beside the one it is measured against, in the same round.
RATIOS = [
    ("postgres-1", "sqlite-1", "PostgreSQL of SQLite, 1 connection (target 80%)"),
    ("postgres-4", "sqlite-4", "PostgreSQL of SQLite, 4 connections"),
    ("postgres-2x1", "postgres-1", "2 PostgreSQL processes of one (target above 100%)"),
]


def send_case(
    count: int, root: Path, smtp: dict, postgres: PostgresServer | None, case: str, sink: str
):
    """One case's rate (messages the sink received over the send's time) and peak MB."""
    backend, concurrency, processes = CASES[case]
    env = dict(smtp)
    if backend == "PostgreSQL":
        env["PUBLISHER_DATABASE_URL"] = postgres.database()
    else:
        state = root / ".publisher" / "state.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
    publisher(root, "subscribers", "import", str(root / "list.csv"), env=env)
    server = start_sink(int(smtp["PUBLISHER_SMTP_PORT"]), sink)
    started = time.perf_counter()
    runs = [
        publisher_started(root, "send", POST, "--concurrency", str(concurrency), env=env)
        for _ in range(processes)
    ]
    results = [finished(run) for run in runs]
    wall = time.perf_counter() - started
    received = server.stop()
    if processes == 1:
        wall = float(results[0][1].rsplit(" in ", 1)[1].split(" s")[0])  # the send alone
    rate, peak = received / wall, max(megabytes for megabytes, _ in results)
    print(
        f"  {backend}, {processes} process(es) x {concurrency} connection(s): "
        f"{rate:6.0f} msg/s, {received} received, {wall:.1f} s, {peak:.0f} MB peak per process",
        flush=True,
    )
    return rate, peak


def bench(
    count: int, work: Path, postgres: PostgresServer | None, runs: int, cases, sink: str
) -> None:
    """Every case once a round, the floor too, so that each ratio compares one moment."""
    root = work / f"site-{count}"
    make_site(root, count)
    publisher(root, "newsletter", POST, "--out", str(work / "preview"))
    message = (work / "preview" / "message.eml").read_bytes()
    port = free_port()
    smtp = {
        **os.environ,
        "PUBLISHER_SMTP_HOST": "127.0.0.1",
        "PUBLISHER_SMTP_PORT": str(port),
        "PUBLISHER_SMTP_SECURITY": "none",
        "PUBLISHER_SECRET": "bench",
    }
    cases = [case for case in cases if postgres or CASES[case][0] == "SQLite"]
    rates: dict[str, list[float]] = {case: [] for case in ["floor", *cases]}
    memory: dict[str, float] = {}
    for round_ in range(1, runs + 1):
        print(f"{count} subscribers, round {round_} of {runs}:", flush=True)
        server = start_sink(port, sink)
        rates["floor"].append(floor(port, count, message))
        server.stop()
        print(f"  floor (bare smtplib, one connection): {rates['floor'][-1]:6.0f} msg/s")
        for case in cases:
            rate, megabytes = send_case(count, root, smtp, postgres, case, sink)
            rates[case].append(rate)
            memory[case] = max(memory.get(case, 0), megabytes)
    print(f"{count} subscribers, medians of {runs} round(s):")
    for case, values in rates.items():
        share = [rate / bare for rate, bare in zip(values, rates["floor"], strict=True)]
        extra = f" ({median(share):4.0%} of floor), {memory[case]:.0f} MB" if case in memory else ""
        print(f"  {case:13} {median(values):6.0f} msg/s{extra}")
    for case, anchor, label in RATIOS:
        if case in rates and anchor in rates:
            shares = [a / b for a, b in zip(rates[case], rates[anchor], strict=True)]
            spread = f" ({min(shares):.0%}-{max(shares):.0%})" if runs > 1 else ""
            print(f"  {label}: {median(shares):.0%}{spread}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000])
    parser.add_argument("--runs", type=int, default=1, help="rounds of every case")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument(
        "--sink",
        choices=["aiosmtpd", "smtp-sink"],
        default="aiosmtpd",
        help="the SMTP server: aiosmtpd (as in earlier figures) or Postfix's smtp-sink",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="publisher-send-bench-") as folder:
        binaries = postgres_bin()
        # Its own folder under /tmp, which the server's unprivileged user can reach.
        server_folder = Path(tempfile.mkdtemp(prefix="publisher-bench-postgres-"))
        postgres = PostgresServer(server_folder, binaries) if binaries else None
        if postgres is None:
            print("PostgreSQL is not installed (apt-get install postgresql): SQLite only")
        try:
            for count in args.sizes:
                bench(count, Path(folder), postgres, args.runs, args.cases, args.sink)
        finally:
            if postgres:
                postgres.stop()
            shutil.rmtree(server_folder, ignore_errors=True)


if __name__ == "__main__":
    main()
