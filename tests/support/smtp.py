"""A local SMTP server (aiosmtpd) on loopback that keeps every message it is given, for the alert tests."""

from __future__ import annotations

import email
import logging
import socket
from email.message import Message

from aiosmtpd.controller import Controller


class _Keep:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.content)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._handler = _Keep()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per connection
        self._controller.start()

    @property
    def messages(self) -> list[Message]:
        return self._handler.messages

    def subjects(self) -> list[str]:
        return [message["Subject"] for message in self.messages]

    def stop(self) -> None:
        self._controller.stop()
