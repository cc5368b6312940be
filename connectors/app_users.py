"""The application users of one connection, used in turn, each with its own token and its own share of the limits.

Microsoft evaluates service protection limits per user ("Each authenticated user is limited independently",
Dataverse api-limits.md; F&O's service-protection-api-limits.md says the same), so a connection that signs in as
several application users of one environment has several budgets. Each user keeps its own msal token cache and
its own limiter (its window, concurrency and pause after a 429 are its own, in Redis under its own key), and each
request goes to the next user whose limiter lets it go now, so a user told to wait is skipped until it may send.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from connectors.auth import TokenSource, token_source
from connectors.config import ConnectionConfig
from connectors.errors import ThrottledError
from connectors.limiter import Limiter, limiter_for


@dataclass(frozen=True)
class AppUserSession:
    """One application user as the transport uses it."""

    config: ConnectionConfig
    tokens: TokenSource
    limiter: Limiter


class AppUsers:
    """The users of one connection in this process; thread-safe."""

    def __init__(self, config: ConnectionConfig):
        self.all = tuple(AppUserSession(user, token_source(user), limiter_for(user)) for user in config.users)
        self._turns = itertools.count()

    @contextmanager
    def slot(self, max_wait: float) -> Iterator[AppUserSession]:
        """A user, holding a slot of its limiter while the block runs: the next one in turn that may send now,
        else the one that may send soonest, waited for (ThrottledError when even that is more than `max_wait`)."""
        if len(self.all) == 1:
            with self.all[0].limiter.slot(max_wait):
                yield self.all[0]
            return
        start = next(self._turns) % len(self.all)
        waits: list[tuple[float, int]] = []
        for index in [*range(start, len(self.all)), *range(start)]:
            user = self.all[index]
            with ExitStack() as held:
                try:
                    held.enter_context(user.limiter.slot(0))
                except ThrottledError as refused:
                    waits.append((refused.retry_after or 0.0, index))
                    continue
                yield user
                return
        _, soonest = min(waits)
        with self.all[soonest].limiter.slot(max_wait):
            yield self.all[soonest]
