"""A real SMTP server for the browser tests (aiosmtpd), writing every message it accepts to a directory.

    python3 smtp_sink.py DIR

Binds 127.0.0.1 on a free port and prints "listening PORT" once it accepts connections. Each message becomes
DIR/NNNN.json: {"mailFrom", "rcptTos", "subject", "from", "to", "text", "html"}, with the bodies decoded from
whatever transfer encoding the sender chose (quoted-printable, base64), so the tests read what a person would.
The file is written under a temporary name and renamed, so a reader never sees half a message.
"""

import asyncio
import json
import os
import signal
import sys
from email import policy
from email.parser import BytesParser

from aiosmtpd.smtp import SMTP


class WriteToDirectory:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.original_content or envelope.content)
        bodies = {}
        for kind in ("plain", "html"):
            part = message.get_body(preferencelist=(kind,))
            bodies[kind] = part.get_content() if part is not None else None
        self.count += 1
        record = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "subject": str(message.get("Subject", "")),
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "text": bodies["plain"],
            "html": bodies["html"],
        }
        final = os.path.join(self.directory, f"{self.count:04d}.json")
        with open(final + ".tmp", "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(final + ".tmp", final)
        return "250 Message accepted for delivery"


async def main(directory):
    loop = asyncio.get_running_loop()
    handler = WriteToDirectory(directory)
    server = await loop.create_server(lambda: SMTP(handler, hostname="smtp-sink.test"), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
