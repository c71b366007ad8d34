"""The lockfile: one JSON line per row, sorted by key, beside the manifest.

    {"heyrender_lockfile": 1, "manifest": "outreach.yaml"}
    {"key": "dana@acme.io", "request": "sha256:...", "status": "completed", "video_id": "...", ...}

A change to one row changes only that row's line in a git diff. Written atomically.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from heyrender.errors import LockfileError
from heyrender.state import files
from heyrender.state.rowschema import RowInvalid, RowSchema
from heyrender.status import UNSETTLED, Status

FORMAT_VERSION = 1
HEADER_KEY = "heyrender_lockfile"
ISO_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_iso() -> str:
    """The current UTC second; formatted once per second (apply stamps every record)."""
    return iso_second(int(time.time()))


@functools.lru_cache(maxsize=1)
def iso_second(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime(ISO_FORMAT)


def parse_iso(text: str | None) -> float | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class Entry:
    key: str
    request: str
    status: Status
    title: str | None = None
    video_id: str | None = None
    intent_at: str | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    previous_video_ids: tuple[str, ...] = field(default=())
    fields: dict[str, str] | None = field(default=None, hash=False)  # path -> value hash, sent
    attempt: int | None = None  # v3: the row's create attempt, 1 for its first video
    idempotency_key: str | None = None  # v3: the key its create was (or will be) sent with

    def __post_init__(self) -> None:
        if not isinstance(self.status, Status):
            object.__setattr__(self, "status", Status(self.status))

    @property
    def finished(self) -> bool:
        return self.status.finished

    @property
    def in_progress(self) -> bool:
        return self.video_id is not None and not self.finished and self.status not in UNSETTLED

    @property
    def known_video_ids(self) -> tuple[str, ...]:
        return (*self.previous_video_ids, *([self.video_id] if self.video_id else []))

    def to_json(self) -> str:
        data: dict[str, Any] = {}
        for name in FIELD_ORDER:
            value = getattr(self, name)
            if value is not None and value != ():
                data[name] = list(value) if isinstance(value, tuple) else value
        return json.dumps(data, ensure_ascii=False, separators=(", ", ": "))

    def evolve(self, **changes: Any) -> Entry:
        return replace(self, **changes)


FIELD_ORDER = tuple(f.name for f in fields(Entry))
FIELD_NAMES = frozenset(FIELD_ORDER)
ROW = RowSchema(Entry)

# Line breaks to str.splitlines(), editors and diff tools that json.dumps(ensure_ascii=False)
# leaves raw; escaped so that one row is always one line whoever reads the file.
RAW_BREAKS = ("\u2028", "\u2029", "\x85")


def one_line(text: str) -> str:
    """JSON text with the characters some tools take for line breaks written as escapes, so a
    record is one line to every reader."""
    for mark in RAW_BREAKS:
        if mark in text:
            text = text.replace(mark, f"\\u{ord(mark):04x}")
    return text


def line_of(entry: Entry) -> str:
    return one_line(entry.to_json()) + "\n"


def entry_from(data: Any, path: Path, line: int) -> Entry:
    return Entry(**checked(data, path, line))


def checked(data: Any, path: Path, line: int) -> dict[str, Any]:
    """The row's fields, checked against the schema; an error names the line, key and field."""
    try:
        return ROW.check(data)
    except RowInvalid as exc:
        key = data.get("key") if isinstance(data, dict) else None
        detail = str(exc)
        if isinstance(key, str) and key and not detail.startswith("row "):
            detail = f"row {key!r}: {detail}"
        raise LockfileError(path, detail, line=line) from None


def migrate(header: dict[str, Any], path: Path) -> None:
    """Older formats would be upgraded here; version 1 is the first."""
    version = header.get(HEADER_KEY)
    if version != FORMAT_VERSION:
        raise LockfileError(
            path,
            f"lockfile format {version!r} is not one this heyrender reads ({FORMAT_VERSION}); "
            "it may come from a newer heyrender",
            line=1,
        )


def check_header(header: Any, path: Path, manifest_name: str | None) -> None:
    if not isinstance(header, dict) or HEADER_KEY not in header:
        raise LockfileError(path, "does not start with the heyrender_lockfile header", line=1)
    migrate(header, path)
    named = header.get("manifest")
    if named is None or manifest_name is None or named == manifest_name:
        return
    raise LockfileError(
        path,
        f"the header names the manifest {named!r}, not {manifest_name!r}",
        line=1,
        hint=f"if the manifest was renamed, write {manifest_name!r} in the header; "
        "otherwise this lockfile belongs to another campaign",
    )


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


DECODE = json.JSONDecoder(parse_constant=no_constant).decode
BATCH = 1000


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_line(raw: bytes, path: Path, line: int, noun: str = "") -> Any:
    try:
        data = DECODE(raw.decode("utf-8"))
        if SURROGATE_ESCAPE.search(raw):
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        return data
    except UnicodeEncodeError:
        raise LockfileError(
            path, f"{noun}not text: it escapes half of a UTF-16 surrogate pair", line=line
        ) from None
    except json.JSONDecodeError as exc:
        raise LockfileError(path, f"{noun}not valid JSON ({exc.msg})", line=line) from None
    except UnicodeDecodeError:
        raise LockfileError(path, f"{noun}not UTF-8 text", line=line) from None
    except ValueError as exc:
        raise LockfileError(path, f"{noun}not valid JSON ({exc})", line=line) from None
    except RecursionError:
        raise LockfileError(path, f"{noun}not valid JSON (nested too deeply)", line=line) from None


Numbered = tuple[int, dict[str, Any]]


def block_rows(
    blocks: Iterable[bytes], path: Path, first: int, noun: str = ""
) -> Iterator[list[Numbered]]:
    """Each non-blank line's number (counting from `first`) and checked fields, a block
    of lines at a time."""
    number = first
    for block in blocks:
        count = block.count(b"\n") + (not block.endswith(b"\n"))
        yield checked_block(block, count, number, path, noun)
        number += count


def checked_block(block: bytes, count: int, first: int, path: Path, noun: str) -> list[Numbered]:
    """A block of lines decoded by orjson and checked by one compiled schema call: a third
    of the CPU of a line at a time. Any doubt (a line that is not exactly one
    object, a row that fails the schema) sends the block through the line-by-line path,
    which names the line."""
    rows = decoded_by_orjson(block, count)
    if rows is not None and ROW.all_valid(rows):
        converted = ROW.converted
        return [(number, converted(row)) for number, row in enumerate(rows, first)]
    return [
        (number, checked(parse_line(raw, path, number, noun), path, number))
        for number, raw in enumerate(block.split(b"\n")[:count], first)
        if raw.strip()
    ]


def decoded_by_orjson(block: bytes, count: int) -> list[Any] | None:
    """Each of the block's `count` lines decoded alone by orjson, or None when orjson refuses
    one. orjson reads JSON as json does, two to three times faster, but for what it refuses (a
    blank line, an escaped half surrogate, a NaN, an overflowing float: each left to the line
    path, which names the line) and integers past 64 bits, which it reads as floats: ROW's
    batch schema refuses those, which sends the block to the line path too."""
    import orjson  # only commands that read state load it

    try:
        return list(map(orjson.loads, block.split(b"\n", count)[:count]))
    except ValueError:
        return None


def rows(path: Path, manifest_name: str | None = None) -> Iterator[Numbered]:
    """Each row's line number and checked fields, streamed in file order; a missing file
    has none. Lines split on '\\n' only."""
    for batch in row_batches(path, manifest_name):
        yield from batch


def row_batches(
    path: Path, manifest_name: str | None = None, seen: Callable[[bytes], object] | None = None
) -> Iterator[list[Numbered]]:
    """The same, a block of lines at a time. `seen` is given every byte read, in order."""
    fd = files.open_existing(path)
    if fd is None:
        return
    blocks = files.blocks_of(fd, complete_only=False)
    if seen is not None:
        blocks = watched(blocks, seen)
    try:
        head = next(blocks, b"")
        end = head.find(b"\n") + 1 or len(head)
        if not head[:end].strip():
            raise LockfileError(path, "is empty; a lockfile starts with its format header")
        check_header(parse_line(head[:end], path, 1), path, manifest_name)
        rest = [head[end:]] if head[end:] else []
        yield from block_rows(itertools.chain(rest, blocks), path, 2)
    finally:
        blocks.close()


def bisected(path: Path, manifest_name: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The checked rows of these keys, found by bisection in the lockfile, whose lines heyrender
    writes sorted by key: about twenty lines read for each key, not the whole file. A key not
    found, or found on a line that fails its checks, is left out: the caller streams the file
    for those, which names what is wrong and where."""
    fd = files.open_existing(path)
    if fd is None:
        return {}
    with os.fdopen(fd, "rb") as file:
        data = ReadAt(file.fileno())
        first = data.find(b"\n", 0, len(data)) + 1
        if not first:
            return {}
        check_header(parse_line(data[0:first], path, 1), path, manifest_name)
        found = {}
        for key in keys:
            row = bisect_rows(data, first, key, path)
            if row is not None:
                found[key] = row
        return found


class ReadAt:
    """An open file's bytes, read where bisection looks (pread), not mapped: a file cut short
    while plan reads it (cp over it, an editor saving in place) reads as shorter, where a
    mapping would kill the process with SIGBUS."""

    CHUNK = 4096  # a page: a few lines

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.size = os.fstat(fd).st_size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, span: slice) -> bytes:
        return os.pread(self.fd, span.stop - span.start, span.start)

    def find(self, byte: bytes, start: int, end: int) -> int:
        position = start
        while position < end:
            chunk = os.pread(self.fd, min(self.CHUNK, end - position), position)
            if not chunk:
                return -1
            at = chunk.find(byte)
            if at >= 0:
                return position + at
            position += len(chunk)
        return -1

    def rfind(self, byte: bytes, start: int, end: int) -> int:
        position = end
        while position > start:
            begin = max(start, position - self.CHUNK)
            at = os.pread(self.fd, position - begin, begin).rfind(byte)
            if at >= 0:
                return begin + at
            position = begin
        return -1


def bisect_rows(data: ReadAt, low: int, key: str, path: Path) -> dict[str, Any] | None:
    high = len(data)
    while low < high:
        newline = data.rfind(b"\n", low, (low + high) // 2)
        start = low if newline < 0 else newline + 1
        end = data.find(b"\n", start, high)
        end = high if end < 0 else end + 1
        try:
            row = checked(parse_line(data[start:end], path, 0), path, 0)
        except LockfileError:
            return None
        if row["key"] == key:
            return row
        if row["key"] < key:
            low = end
        else:
            high = start
    return None


def watched(
    blocks: Generator[bytes, None, None], seen: Callable[[bytes], object]
) -> Generator[bytes, None, None]:
    try:
        for block in blocks:
            seen(block)
            yield block
    finally:
        blocks.close()


def load(path: Path, manifest_name: str | None = None) -> dict[str, Entry]:
    """Entries by key. A missing file is an empty lockfile; a broken one is an error."""
    entries: dict[str, Entry] = {}
    for number, data in rows(path, manifest_name):
        entry = Entry(**data)
        if entry.key in entries:
            raise LockfileError(path, f"key {entry.key!r} appears twice", line=number)
        entries[entry.key] = entry
    return entries


def header_line(manifest_name: str) -> str:
    return json.dumps({HEADER_KEY: FORMAT_VERSION, "manifest": manifest_name}) + "\n"


def lines(entries: dict[str, Entry], manifest_name: str) -> Iterator[str]:
    yield header_line(manifest_name)
    for key in sorted(entries):
        yield line_of(entries[key])


def render(entries: dict[str, Entry], manifest_name: str) -> str:
    return "".join(lines(entries, manifest_name))


def save(path: Path, entries: dict[str, Entry], manifest_name: str) -> None:
    files.write_atomically(path, lines(entries, manifest_name))
