"""Validating a large CSV on every core: many spans cut at record boundaries, one worker per core.

The parent checks the manifest and the CSV's header first, so every error that is not about a
row comes from one place, and compiles the templates once for the forked workers to inherit.
It then reads the file once for cut points, handing each span to the pool as soon as its end
is found, so the workers start at once. There are more spans than workers and they shrink
toward the end of the file, so a worker slowed by other load takes fewer of them and neither
core waits long for the other's last one.

Each worker sorts its span's key and title hashes; the parent adds them as results arrive, in
any order, and joins the rest of each tally in span order, so problems come out in row order.
Keys and titles are compared across spans by their hashes (forked processes share `hash()`'s
seed); after the last span the workers find the repeated ones, a range of values each.
Anything unusual (a span that fails, a worker that dies, a CSV with bare CR line ends, or one
replaced or written while the pass read it) falls back to one process, which then reports
exactly what a serial pass reports.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from heyrender.campaign.csvsource import CsvSource, Span
from heyrender.campaign.expand import Compiled, Expansion
from heyrender.campaign.manifest import Manifest
from heyrender.campaign.media import MediaChecker, uses_media
from heyrender.campaign.repeats import Ledger, repeats_in_runs, split_runs
from heyrender.campaign.validate import ValidationResult, validate_span
from heyrender.filestamp import Stamp, stamp

if TYPE_CHECKING:
    from multiprocessing.context import ForkContext
    from multiprocessing.pool import ApplyResult

MIN_BYTES = 2 * 1024 * 1024  # smaller CSVs take one process
BLOCK = 1024 * 1024  # the scan for cut points reads this much at a time
MAX_SPAN = 4 * 1024 * 1024  # the first span is handed out after reading this much
MIN_SPAN = 256 * 1024  # the last spans: about 3,000 short rows, a twentieth of a second
WAIT = 0.5  # seconds between looks at whether the workers are still alive
GRACE = 10.0  # seconds the tasks in hand get to finish when a pass ends early
BARE_CR = re.compile(rb"\r(?!\n)")

Outcome = tuple[ValidationResult, Expansion]


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


class Unsplittable(Exception):
    """The CSV cannot be cut at line feeds: a carriage return without a line feed ends a
    record for the csv module, or the file changed while it was read."""


class Scan:
    """One sequential read of a file, counting the quotes and line feeds before a cursor.

    Every block read is checked for bare carriage returns (each is read with the byte after
    it, so a CR LF split across two blocks is seen whole).
    """

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.size = os.fstat(file.fileno()).st_size
        self.block = b""
        self.base = 0  # the file offset of self.block
        self.end = 0  # the block's own bytes end here; it holds one more
        self.has_quotes = False
        self.cursor = 0
        self.quotes = 0
        self.newlines = 0

    def _next_block(self) -> bool:
        if self.end >= self.size:
            return False
        self.base = self.end
        self.file.seek(self.base)
        self.block = self.file.read(BLOCK + 1)
        if not self.block:
            raise Unsplittable
        own = min(BLOCK, len(self.block))
        self.end = self.base + own
        bare = BARE_CR.search(self.block)
        if bare is not None and bare.start() < own:
            raise Unsplittable
        self.has_quotes = b'"' in self.block
        return True

    def advance(self, offset: int) -> None:
        """Counts quotes and line feeds up to `offset` (or the end of the file)."""
        while self.cursor < offset:
            if self.cursor >= self.end and not self._next_block():
                return
            stop = min(offset, self.end)
            start, end = self.cursor - self.base, stop - self.base
            self.newlines += self.block.count(b"\n", start, end)
            if self.has_quotes:
                self.quotes += self.block.count(b'"', start, end)
            self.cursor = stop

    def past_newline(self) -> bool:
        """Moves the cursor past the next line feed; False if there is none."""
        while True:
            if self.cursor >= self.end and not self._next_block():
                return False
            found = self.block.find(b"\n", self.cursor - self.base, self.end - self.base)
            if found >= 0:
                self.advance(self.base + found + 1)
                return True
            self.advance(self.end)

    def record_start(self, target: int) -> bool:
        """Moves the cursor to the first record start at or after `target` (a line feed
        preceded by an even number of quotes, as RFC 4180 doubles quotes inside quoted
        fields); False if the file ends first."""
        self.advance(target)
        while self.past_newline():
            if self.quotes % 2 == 0:
                return self.cursor < self.size
        return False

    def finish(self) -> None:
        """Reads the rest of the file, for its bare carriage returns."""
        while self._next_block():
            pass


def cuts(file: BinaryIO, targets: Iterable[int]) -> Iterator[Span]:
    """Spans ending at the first record start at or after each target offset, each yielded as
    soon as the scan finds its end; the last runs to the end of the file. Raises Unsplittable
    (perhaps after some spans were yielded)."""
    scan = Scan(file)
    start, line = 0, 1
    for target in targets:
        if target <= scan.cursor:
            continue
        if not scan.record_start(target):
            break
        yield Span(start, scan.cursor, line)
        start, line = scan.cursor, scan.newlines + 1
    scan.finish()
    yield Span(start, scan.size, line)


def targets(size: int, workers: int) -> Iterator[int]:
    """Where spans should end: at most MAX_SPAN apart, then a share of what is left, so the
    last spans are short (guided self-scheduling). A small file still gets several."""
    floor = min(MIN_SPAN, max(1, size // (8 * workers)))
    position = 0
    while True:
        position += min(MAX_SPAN, max(floor, (size - position) // (2 * workers)))
        if position >= size:
            return
        yield position


def spans(path: Path, parts: int) -> list[Span] | None:
    """The file cut into up to `parts` spans of about equal size; None if it cannot be cut."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        try:
            return list(cuts(file, (size * part // parts for part in range(1, parts))))
        except Unsplittable:
            return None


@dataclass(frozen=True)
class Job:
    """What every worker needs, inherited when the pool forks: nothing here is pickled."""

    manifest: Manifest
    compiled: Compiled
    media: MediaChecker | None
    stopped: Any  # a shared byte, set once the parent needs no more spans


JOB: Job | None = None  # set in each worker process


def start_worker(manifest: Manifest, compiled: Compiled, stopped: Any) -> None:
    global JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it ends the pool
    media = None
    if uses_media(manifest.video):  # one per worker: each file is read once per process
        media = MediaChecker(manifest.campaign, manifest.path.parent)
    JOB = Job(manifest, compiled, media, stopped)


def run_span(index: int, span: Span) -> tuple[int, Outcome | None]:
    try:
        assert JOB is not None
        if JOB.stopped.value:
            return index, None
        expansion = Expansion(JOB.manifest, span, media=JOB.media, compiled=JOB.compiled)
        result = validate_span(JOB.manifest, expansion)
        expansion.keys.sort()
        result.titles.sort()
        expansion.media = expansion.compiled = None  # the parent needs neither
        return index, (result, expansion)
    except Exception:  # the serial pass reports it, exactly as it always has
        return index, None


class SpanPool:
    """The workers and every task handed to them. The pool ends without killing a worker that
    may be writing a result: one killed mid-write leaves the result queue's lock held, and
    Pool.terminate() then waits for it for ever (cpython#96995). So when a pass ends early,
    the workers skip the spans they have not begun and the parent waits, a while, for those
    in hand; a pool that cannot end so (a worker died, one hangs) is ended in the background,
    where a wait costs nothing, and its workers are killed."""

    def __init__(self, context: ForkContext, workers: int, job: tuple[Manifest, Compiled]):
        self.stopped = context.RawValue("b", 0)
        self.others = {process.pid for process in multiprocessing.active_children()}
        self.pool = context.Pool(workers, start_worker, (*job, self.stopped))
        self.workers = Workers()
        self.handed: list[ApplyResult[Any]] = []

    def hand(
        self,
        task: Callable[..., Any],
        args: tuple[Any, ...],
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> ApplyResult[Any]:
        handed = self.pool.apply_async(task, args, callback=callback, error_callback=error_callback)
        self.handed.append(handed)
        return handed

    def __enter__(self) -> SpanPool:
        return self

    def __exit__(self, *_: object) -> None:
        self.stopped.value = 1
        deadline = time.monotonic() + GRACE
        for handed in self.handed:
            while not handed.ready() and self.workers.intact() and time.monotonic() < deadline:
                handed.wait(WAIT)
        idle = self.workers.intact() and all(handed.ready() for handed in self.handed)
        ending = threading.Thread(target=self.pool.terminate, daemon=True)
        ending.start()  # it first stops the pool from starting workers in place of dead ones
        ending.join(GRACE if idle else WAIT)  # idle, it ends at once, unless one died since
        if ending.is_alive():
            self.end_workers()

    def end_workers(self) -> None:
        """Kills the pool's workers that are left. A worker killed while it waited for a span
        leaves the task queue's lock held, and terminate() then waits for ever before it ends
        the others: the pass must neither wait for it nor leave them running."""
        deadline = time.monotonic() + GRACE
        while time.monotonic() < deadline:
            left = [p for p in multiprocessing.active_children() if p.pid not in self.others]
            if not left:
                return
            for process in left:
                process.kill()
            for process in left:
                process.join(WAIT)


class Workers:
    """The pool's processes as it started them. If one dies (killed, out of memory), the pool
    starts another, but the span it held never comes back: the pass must not wait for it."""

    def __init__(self) -> None:
        self.pids = {process.pid for process in multiprocessing.active_children()}

    def intact(self) -> bool:
        return self.pids <= {process.pid for process in multiprocessing.active_children()}


Done = queue.SimpleQueue[tuple[int, Outcome | None]]


def next_done(done: Done, workers: Workers) -> tuple[int, Outcome | None]:
    while True:
        try:
            return done.get(timeout=WAIT)
        except queue.Empty:
            if not workers.intact():
                return -1, None


def join(manifest: Manifest, done: Done, count: int, workers: Workers) -> Outcome | None:
    """The tallies of `count` spans as they arrive. Hashes are compared as a whole, so they
    are added at once (and not kept twice); the rest waits for the spans before it."""
    result, expansion = ValidationResult(manifest), Expansion(manifest)
    waiting: dict[int, Outcome] = {}
    following = 0
    for _ in range(count):
        index, outcome = next_done(done, workers)
        if outcome is None:
            return None
        part_result, part_expansion = outcome
        result.titles.extend(part_result.titles)
        expansion.keys.extend(part_expansion.keys)
        part_result.titles, part_expansion.keys = Ledger(), Ledger()
        waiting[index] = outcome
        while following in waiting:
            part_result, part_expansion = waiting.pop(following)
            result.absorb(part_result)
            expansion.absorb(part_expansion)
            following += 1
    return result, expansion


def find_repeats(pool: SpanPool, ledgers: list[Ledger]) -> None:
    """Each ledger's repeated hashes, found by the workers at once, a range of values each
    (the parent would merge the spans' sorted runs alone, after every worker is done).
    Should anything go wrong, the ledgers find their repeats themselves."""
    count = len(pool.workers.pids)
    jobs = [
        (ledger, [pool.hand(repeats_in_runs, (part,)) for part in split_runs(ledger.runs, count)])
        for ledger in ledgers
        if ledger.all_sorted
    ]
    for ledger, parts in jobs:
        found: set[int] = set()
        for part in parts:
            while not part.ready():
                part.wait(WAIT)
                if not part.ready() and not pool.workers.intact():
                    return
            if not part.successful():
                return
            found |= part.get()
        ledger.found = found


def validate(manifest: Manifest, workers: int | None = None) -> Outcome | None:
    """The joined tally and expansion of a parallel pass, or None to do it in one process."""
    path = manifest.source.csv
    workers = workers or cores()
    try:
        before = stamp(os.stat(path))
        if workers < 2 or before[2] < MIN_BYTES:
            return None
    except OSError:  # the serial pass says what is wrong
        return None
    with CsvSource(path) as source:
        compiled = Expansion(manifest).compile(source.header)
    context = multiprocessing.get_context("fork")
    done: Done = queue.SimpleQueue()

    def failed(_: BaseException) -> None:
        done.put((-1, None))

    try:
        with open(path, "rb") as file, SpanPool(context, workers, (manifest, compiled)) as pool:
            size, count = os.fstat(file.fileno()).st_size, 0
            for index, span in enumerate(cuts(file, targets(size, workers))):
                pool.hand(run_span, (index, span), callback=done.put, error_callback=failed)
                count = index + 1
            joined = join(manifest, done, count, pool.workers)
            if joined is None or not unchanged(before, path, file):
                return None
            find_repeats(pool, [joined[0].titles, joined[1].keys])
            return joined
    except (OSError, Unsplittable):
        return None


def unchanged(before: Stamp, path: Path, file: BinaryIO) -> bool:
    """Whether the CSV the workers opened by its path, each on its own, is the one the header
    was read from and the spans were cut in, unwritten since: a file replaced or rewritten
    meanwhile would have its spans read from other bytes, cut mid-record."""
    return stamp(os.stat(path)) == before == stamp(os.fstat(file.fileno()))
