"""What waits in a queue of the broker, read as a worker would take it: for tests of what services queue."""

from __future__ import annotations

import base64
import json

import redis

from p2c_project.celery import app


def queued_messages(queue: str) -> list[tuple[str, tuple]]:
    """The messages waiting in `queue`, oldest first, as (task name, args)."""
    with app.connection_or_acquire() as connection:
        channel = connection.default_channel
        client = redis.Redis(connection_pool=channel.pool)
        raw = client.lrange((channel.global_keyprefix or "") + queue, 0, -1)
    messages = []
    for item in reversed(raw):  # kombu pushes on the left and workers pop on the right: the oldest is last
        message = json.loads(item)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        messages.append((message["headers"]["task"], tuple(args)))
    return messages
