"""One retry policy for every HeyGen call: what may be sent again, how often, after how long.

    no connection (refused, DNS, no free one)  short backoff, `connect_attempts` in all
    a lost answer, a 5xx, a 408/409            backoff with full jitter, `attempts` in all;
                                               a create's (OutcomeUnknown) only with a key
    409 request_in_progress on a create        the same key again after a short pause
    429                                        Retry-After, capped, jittered (or handed back)
    anything else                              raised at once

Each call says what one attempt is (send, then read the answer into a payload or an
ApiError); `retried` runs it under a policy. The wording of transport failures is the
caller's, since only the caller knows what was being sent and to where.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

import httpx

from heyrender.api import wire
from heyrender.errors import ApiError, OutcomeUnknown, RateLimited, TransientError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Wording = Callable[[httpx.TransportError], ApiError]

# the request never left this machine: sending it again can create nothing twice
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How one call is sent again; client.Settings.retry_policy() holds the defaults."""

    attempts: int  # sends that may have reached HeyGen, the first included
    backoff_base: float
    backoff_cap: float
    rate_limit_cap: float  # the most a Retry-After is honoured, before jitter
    connect_attempts: int  # sends that could not connect, the first included
    in_progress_attempts: int  # 409 request_in_progress on a create, before giving up
    in_progress_pause: float
    connect_backoff_cap: float = 2.0
    connect_pause_floor: float = 0.2
    wait_when_rate_limited: bool = True  # False: a 429 is raised for the caller to pace
    resend_unknown: bool = False  # a create that may have landed: only with an Idempotency-Key

    def evolve(self, *, resend_unknown: bool, wait_when_rate_limited: bool) -> RetryPolicy:
        return replace(
            self, resend_unknown=resend_unknown, wait_when_rate_limited=wait_when_rate_limited
        )


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter."""
    return random.uniform(0, min(cap, base * 2**attempt))


async def retried(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    lost: Wording,
    unreachable: Wording,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """attempt()'s result, sending it again where the policy allows; else its last error.

    `lost` names a transport failure after the request may have arrived, `unreachable` one
    where no connection could be made; attempt() itself raises ApiError for an answer."""
    tries = connects = in_progress = 0
    while True:
        try:
            return await attempt()
        except NEVER_SENT as exc:
            if connects + 1 >= policy.connect_attempts:
                raise unreachable(exc) from None
            pause = backoff(connects, policy.backoff_base, policy.connect_backoff_cap)
            connects += 1
            await sleep(pause + policy.connect_pause_floor)
            continue
        except httpx.TransportError as exc:
            error = lost(exc)
        except ApiError as exc:
            error = exc
        if isinstance(error, RateLimited):
            if not policy.wait_when_rate_limited or tries + 1 >= policy.attempts:
                raise error
            tries += 1
            await sleep(min(error.retry_after, policy.rate_limit_cap) * random.uniform(1.0, 1.2))
        elif isinstance(error, OutcomeUnknown) and not policy.resend_unknown:
            raise error
        elif isinstance(error, OutcomeUnknown) and error.code == wire.IN_PROGRESS_CODE:
            in_progress += 1
            if in_progress >= policy.in_progress_attempts:
                raise error
            await sleep(policy.in_progress_pause * random.uniform(1.0, 1.5))
        elif isinstance(error, (OutcomeUnknown, TransientError)):
            if tries + 1 >= policy.attempts:
                raise error
            await sleep(backoff(tries, policy.backoff_base, policy.backoff_cap))
            tries += 1
        else:
            raise error
