"""A real SMTP server for the integration tests (`mail.rs`): aiosmtpd on HOST:PORT, writing each message it
receives to FOLDER as one JSON file (envelope, subject, decoded text and HTML parts, and the raw message),
written under a temporary name and renamed, so a reader never sees half a file. Prints `ready` once it
listens, and stops when its standard input closes (the test ended)."""

import email
import email.policy
import itertools
import json
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.numbers = itertools.count()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else None,
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        number = next(self.numbers)
        partial = os.path.join(self.folder, f".{number}.partial")
        with open(partial, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.rename(partial, os.path.join(self.folder, f"{number:04}.json"))
        return "250 OK"


def main():
    host, port, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    controller = Controller(Sink(folder), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
