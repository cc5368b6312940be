"""Objects shared by every thread of one process, rebuilt after a fork.

Celery's prefork pool forks workers from a parent that may already hold sessions, token caches and locks; a
child must not reuse its parent's sockets, nor inherit a lock another thread held at the moment of the fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ProcessLocal(Generic[T]):
    """A dict of shared objects, created once per key and per process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[Hashable, T] = {}
        os.register_at_fork(after_in_child=self._forget)

    def get(self, key: Hashable, factory: Callable[[], T]) -> T:
        item = self._items.get(key)
        if item is not None:
            return item
        with self._lock:
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = factory()
            return item

    def pop(self, key: Hashable) -> T | None:
        with self._lock:
            return self._items.pop(key, None)

    def _forget(self) -> None:
        # In the child only: the parent's objects (and its lock's state) are not ours to use.
        self._lock = threading.Lock()
        self._items = {}
