"""Showing an apply as it runs: a live panel on a terminal, plain log lines elsewhere."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from rich.live import Live
from rich.table import Table

from heyrender.status import Status
from heyrender.terminal import DEFAULT_OUTPUT, OutputSettings, reader_gone, silence_stdout

SUMMARY_EVERY = 10.0
FINISHING = frozenset({str(Status.COMPLETED), str(Status.FAILED)})


def eta_text(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "unknown"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class Progress:
    """Counts per status, throughput and ETA, fed by the reconciler's events.
    Under --quiet it shows nothing; the caller still prints the final summary."""

    def __init__(
        self,
        counts: Callable[[], Counter[str]],
        total: int,
        stream: TextIO | None = None,
        output: OutputSettings = DEFAULT_OUTPUT,
    ) -> None:
        self.counts = counts
        self.total = total
        self.stream = stream or sys.stdout
        self.quiet = output.quiet
        self.console = output.console(self.stream)
        self.live: Live | None = None
        self.started = time.monotonic()
        self.finished_here = 0
        self._last_summary = 0.0
        self._ticking: asyncio.TimerHandle | None = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal and not self.quiet:
            self.live = Live(
                self.panel(), console=self.console, refresh_per_second=4, transient=False
            )
            self.live.__enter__()
        elif not self.quiet:
            self._tick_later()
        return self

    def _tick_later(self) -> None:
        """In a log, the summary also comes when no event does (renders take minutes, and a
        CI job silent for ten may be killed); on the run's event loop, when there is one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        due = self._last_summary + SUMMARY_EVERY - time.monotonic()
        self._ticking = loop.call_later(max(due, SUMMARY_EVERY / 10), self._tick)

    def _tick(self) -> None:
        if self.quiet:
            return
        if time.monotonic() - self._last_summary >= SUMMARY_EVERY:
            self._last_summary = time.monotonic()
            self.write(f"{datetime.now().strftime('%H:%M:%S')} {self.line()}")
        self._tick_later()

    def __exit__(self, *exc: object) -> None:
        if self._ticking is not None:
            self._ticking.cancel()
            self._ticking = None
        if self.live is not None:
            self.live.update(self.panel())
            self.live.__exit__(None, None, None)
            self.live = None

    def event(self, key: str, what: str) -> None:
        if what in FINISHING:
            self.finished_here += 1
        if self.live is not None:
            self.live.update(self.panel())
            return
        if self.quiet:
            return
        stamp = datetime.now().strftime("%H:%M:%S")
        self.write(f"{stamp} {key}: {what}")
        if time.monotonic() - self._last_summary >= SUMMARY_EVERY:
            self._last_summary = time.monotonic()
            self.write(f"{stamp} {self.line()}")

    def write(self, line: str) -> None:
        """One log line; when the reader has gone (`| head`), silence from then on."""
        try:
            print(line, file=self.stream, flush=True)
        except OSError as exc:
            if not reader_gone(exc):
                raise
            self.quiet = True
            if self.stream is sys.stdout:
                silence_stdout()

    def rate(self) -> float:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return self.finished_here / elapsed

    def eta(self) -> float | None:
        """Seconds until this run's videos are finished, at this run's pace; never negative
        (rows finished by earlier runs are not this run's work)."""
        left = max(self.total - self.finished_here, 0)
        rate = self.rate()
        return left / rate if rate > 0 else None

    def line(self) -> str:
        counts = self.counts()
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n)
        speed = f"{self.rate() * 60:.1f} videos/min"
        return f"{parts or 'nothing yet'} | {speed} | ETA {eta_text(self.eta())}"

    def panel(self) -> Table:
        counts = self.counts()
        table = Table(title="heyrender apply", show_header=True, expand=False, min_width=44)
        table.add_column("status")
        table.add_column("rows", justify="right")
        for status, n in sorted(counts.items()):
            if n:
                table.add_row(status, f"{n:,}")
        table.caption = f"{self.rate() * 60:.1f} videos/min, ETA {eta_text(self.eta())}"
        return table
