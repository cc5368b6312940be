"""What an alert channel received, read back the same way for email, Slack and Teams."""

from __future__ import annotations


def titles(channel: str, *, smtp_sink=None, receiver=None) -> list[str]:
    if channel == "email":
        return smtp_sink.subjects()
    if channel == "slack":
        return [item.body["text"] for item in receiver.received]
    return [item.body["attachments"][0]["content"]["body"][0]["text"] for item in receiver.received]
