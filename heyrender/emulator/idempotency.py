"""HeyGen's Idempotency-Key semantics: replay the first answer for a window, 409 while it runs.

Keys are scoped per endpoint. Only an answer that did something (2xx) is kept for replay; a
refused or failed first call releases the key, so a retry can succeed once the cause is gone.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = re.compile(r"[A-Za-z0-9_:.\-]{1,255}")
DEFAULT_TTL = 24 * 3600.0


def valid_key(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


@dataclass(frozen=True)
class Answer:
    status: int
    payload: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Replay:
    answer: Answer
    same_body: bool


class InFlight:
    """The first call with this key is still running."""


IN_FLIGHT = InFlight()


@dataclass
class Entry:
    since: float
    fingerprint: str = ""
    answer: Answer | None = None


class IdempotencyStore:
    def __init__(self, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl, self.clock = ttl, clock
        self.entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self.replays = 0
        self.replays_of_another_body = 0

    def _expire(self) -> None:
        cutoff = self.clock() - self.ttl
        while self.entries:
            scope_key, entry = next(iter(self.entries.items()))
            if entry.since > cutoff or entry.answer is None:
                break
            del self.entries[scope_key]

    def claim(self, scope: str, key: str, fingerprint: str = "") -> Replay | InFlight | None:
        """The answer to replay, IN_FLIGHT, or None when this call now holds the key.

        A replay for another body (another fingerprint) is still a replay, as on HeyGen, which
        only logs a warning; it is counted, so a client that reuses keys shows in the stats.
        """
        self._expire()
        entry = self.entries.get((scope, key))
        if entry is not None and entry.answer is not None:
            if entry.since > self.clock() - self.ttl:
                same_body = entry.fingerprint == fingerprint
                self.replays += 1
                self.replays_of_another_body += not same_body
                return Replay(entry.answer, same_body)
            del self.entries[(scope, key)]
            entry = None
        if entry is not None:
            return IN_FLIGHT
        self.entries[(scope, key)] = Entry(since=self.clock(), fingerprint=fingerprint)
        return None

    def settle(self, scope: str, key: str, answer: Answer | None) -> None:
        """Keeps a 2xx answer for replay; anything else releases the key."""
        entry = self.entries.get((scope, key))
        if entry is None:
            return
        if answer is not None and 200 <= answer.status < 300:
            entry.answer = answer
            entry.since = self.clock()
            self.entries.move_to_end((scope, key))
        else:
            del self.entries[(scope, key)]
