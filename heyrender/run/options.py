"""Apply's options as one typed value, built by the CLI and read by every layer below it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """How the reconciler runs: slots, polling, waiting."""

    concurrency: int = 10
    poll_interval: float = 10.0
    no_wait: bool = False
    timeout: float | None = None  # seconds; None waits as long as it takes, 0 does not wait
    settle_grace: float = 120.0


@dataclass(frozen=True)
class ApplyOptions:
    """What the user asked `heyrender apply` to do."""

    yes: bool = False
    skip_invalid: bool = False
    replace_outdated: bool = False
    replace: tuple[str, ...] = ()
    resubmit_uncertain: bool = False
    limit: int | None = None
    run: RunOptions = RunOptions()
    max_cost: float | None = None  # USD: refuse above it at start, stop submitting when reached
