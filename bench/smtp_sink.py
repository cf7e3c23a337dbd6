"""A local SMTP sink for the send benchmark: accepts everything, counts, prints on SIGTERM.

python bench/smtp_sink.py PORT
"""

import signal
import sys
import threading

from aiosmtpd.controller import Controller


class Counter:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages += len(envelope.rcpt_tos)
        return "250 2.0.0 OK"


def main() -> None:
    counter = Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=int(sys.argv[1]))
    controller.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print("ready", flush=True)
    done.wait()
    controller.stop()
    print(counter.messages, flush=True)


if __name__ == "__main__":
    main()
