"""plan's index of the lockfile, `<lockfile>.index`: the packed form of what plan reads from
every row (state/view.py's PlanEntries), so that the next plan reads a few arrays instead of
decoding every line of the lockfile.

The index names the SHA-256 of the lockfile it was built from, and serves only a lockfile with
exactly that content and no journal beside it. Anything else (an edit, a git pull, a run in
progress or cut short, a damaged or foreign index) and plan reads the lockfile as before, then
writes a fresh index. It is a cache, never state: deleting it costs one slower plan; it is not
committed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from heyrender.errors import HeyrenderError
from heyrender.state import files, lockfile
from heyrender.state.lockfile import Entry

FORMAT = "heyrender-plan-index"
VERSION = 1
MAGIC = FORMAT.encode() + b"\n"
READ = 1 << 20

Buffer: TypeAlias = "bytearray | memoryview"
Numbers: TypeAlias = "array[int] | memoryview"  # array("I") or ("Q"), or a memoryview cast so


@dataclass(frozen=True)
class Parts:
    """PlanEntries' packed parts. The completed rows kept lean: their UTF-8 keys end to end,
    where each key ends, their 32-byte request digests, 32-bit key hashes, and the bucket
    index over those hashes (where each bucket starts in `order`, and row numbers in bucket
    order). Every other row is kept whole."""

    keys: Buffer
    ends: Numbers
    digests: Buffer
    hashes: Numbers
    starts: Numbers
    order: Numbers
    whole: dict[str, Entry]


def index_path(lock_path: Path) -> Path:
    return lock_path.with_name(lock_path.name + ".index")


def lockfile_digest(lock_path: Path) -> bytes | None:
    """The SHA-256 of the lockfile's bytes, or None when there is no lockfile."""
    fd = files.open_existing(lock_path)
    if fd is None:
        return None
    read = hashlib.sha256()
    try:
        while block := os.read(fd, READ):
            read.update(block)
    finally:
        os.close(fd)
    return read.digest()


def save(lock_path: Path, manifest_name: str, content: bytes, parts: Parts) -> None:
    """Writes the index of the lockfile whose SHA-256 is `content`, when the folder allows:
    a read-only checkout only makes the next plan slower."""
    whole = "".join(lockfile.line_of(entry) for entry in parts.whole.values()).encode()
    pieces = [
        bytes(parts.keys),
        memoryview(parts.ends).tobytes(),
        bytes(parts.digests),
        memoryview(parts.hashes).tobytes(),
        memoryview(parts.starts).tobytes(),
        memoryview(parts.order).tobytes(),
        whole,
    ]
    payload = hashlib.sha256()
    for piece in pieces:
        payload.update(piece)
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "lockfile": content.hex(),
        "manifest": manifest_name,
        "byteorder": sys.byteorder,
        "rows": len(parts.ends),
        "keys": len(parts.keys),
        "ends": memoryview(parts.ends).format,
        "buckets": len(parts.starts) - 1,
        "payload": payload.hexdigest(),
    }
    try:
        with files.replacing_bytes(index_path(lock_path)) as out:
            out.write(MAGIC)
            out.write(json.dumps(meta).encode() + b"\n")
            out.writelines(pieces)
    except (HeyrenderError, OSError):
        pass


def load(lock_path: Path, manifest_name: str, content: bytes) -> Parts | None:
    """The index of the lockfile whose SHA-256 is `content`, or None when there is none,
    or it was built from other content, or it is damaged in any way."""
    try:
        fd = files.open_existing(index_path(lock_path))
    except HeyrenderError:  # a link or a folder: never followed, never read
        return None
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as source:
        data = source.read()
    return parsed(data, manifest_name, content)


def parsed(data: bytes, manifest_name: str, content: bytes) -> Parts | None:
    if not data.startswith(MAGIC):
        return None
    end = data.find(b"\n", len(MAGIC))
    try:
        meta = json.loads(data[len(MAGIC) : end])
    except ValueError:
        return None
    expected = {
        "format": FORMAT,
        "version": VERSION,
        "lockfile": content.hex(),
        "manifest": manifest_name,
        "byteorder": sys.byteorder,
    }
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expected.items()):
        return None
    payload = memoryview(data)[end + 1 :]
    if hashlib.sha256(payload).hexdigest() != meta.get("payload"):
        return None
    try:
        return split(payload, meta)
    except (KeyError, TypeError, ValueError, HeyrenderError):
        return None


def split(payload: memoryview, meta: dict[str, Any]) -> Parts | None:
    rows, key_bytes, buckets, ends = meta["rows"], meta["keys"], meta["buckets"], meta["ends"]
    if ends not in ("I", "Q") or not all(isinstance(n, int) and n >= 0 for n in (rows, key_bytes)):
        return None
    if not isinstance(buckets, int) or buckets < 16 or buckets & (buckets - 1):
        return None
    sizes = (key_bytes, rows * array(ends).itemsize, 32 * rows, 4 * rows, 4 * (buckets + 1))
    cuts = [0]
    for size in (*sizes, 4 * rows):
        cuts.append(cuts[-1] + size)
    if cuts[-1] > len(payload):
        return None
    piece = [payload[start:stop] for start, stop in itertools.pairwise(cuts)]
    whole: dict[str, Entry] = {}
    text = bytes(payload[cuts[-1] :])
    for number, line in enumerate(text.split(b"\n")[:-1], 1):
        entry = lockfile.entry_from(lockfile.parse_line(line, Path("index"), number), Path(), 0)
        whole[entry.key] = entry
    return Parts(
        keys=piece[0],
        ends=piece[1].cast(ends),
        digests=piece[2],
        hashes=piece[3].cast("I"),
        starts=piece[4].cast("I"),
        order=piece[5].cast("I"),
        whole=whole,
    )
