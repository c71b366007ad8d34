"""plan's index of the lockfile, `.<lockfile>.index`: the packed form of what plan reads from
every row (state/view.py's PlanEntries), so that the next plan reads a few arrays instead of
decoding every line of the lockfile.

The index names the SHA-256 of the lockfile it was built from, and serves only a lockfile with
exactly that content and no journal beside it. Anything else (an edit, a git pull, a run in
progress or cut short, a damaged or foreign index) and plan reads the lockfile as before, then
writes a fresh index. It is a cache, never state: deleting it costs one slower plan; it is not
committed.

Hashing the lockfile takes longer than reading the index, so the index also names the
lockfile's stamp (device, inode, size, modification and change times) and plan skips the hash
while the stamp is the same, as git does for its work tree: every write sets a file's change
time, which no tool can set back. A write in the clock tick the lockfile last changed in can
leave its change time as it was (a file system whose clock ticks once a second sees many), so
a stamp is named only when the lockfile's change time is from a tick before the file system's
clock was read, before the read began: any write from then on gives it a later change time.
An index that names another stamp, or none, serves after the lockfile is hashed; it is then
written again with the stamp, so that a copy, a checkout or a touch costs one hash, not one
for every plan.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from array import array
from dataclasses import dataclass
from pathlib import Path

from heyrender import __version__
from heyrender.errors import HeyrenderError
from heyrender.filestamp import Stamp, stamp
from heyrender.state import files, lockfile
from heyrender.state.lockfile import Entry

FORMAT = "heyrender-plan-index"
VERSION = 3  # 1: buckets; 2: a key table of two numbers a slot; 3: of one
MAGIC = FORMAT.encode() + b"\n"
READ = 1 << 20
META_LIMIT = 1 << 16


@dataclass(frozen=True)
class Parts:
    """PlanEntries' packed parts. The completed rows kept lean: their UTF-8 keys end to end,
    where each key ends, their 32-byte request digests, and the table that finds a row by
    its key (state/view.py's key_table: each slot its row's number plus one, and a tag of
    the key's hash). Every other row is kept whole."""

    keys: bytearray
    ends: array[int]  # typecode "I", or "Q" once the keys pass 4 GiB
    digests: bytearray
    slots: array[int]  # typecode "I"
    whole: dict[str, Entry]


def tag_bits(rows: int) -> int:
    """The low bits of a slot of the key table, below its row's number, left for a tag of its
    key's hash (state/view.py's key_table)."""
    return 32 - (rows + 1).bit_length()


def index_path(lock_path: Path) -> Path:
    """A hidden file, so the `.*.lock.*` line that keeps temporary files out of git keeps
    it out too."""
    return lock_path.with_name(f".{lock_path.name}.index")


def stamp_of(lock_path: Path) -> Stamp | None:
    """The lockfile's stamp, or None when there is no lockfile."""
    fd = files.open_existing(lock_path)
    if fd is None:
        return None
    try:
        return stamp(os.fstat(fd))
    finally:
        os.close(fd)


def clock(lock_path: Path) -> int | None:
    """The file system's clock now, as it would set the lockfile's change time: that of a file
    made beside the index and removed, or None where the folder cannot be written (nor the
    index, then). Named as the index's temporary files are, so that a kill leaves nothing
    that apply does not remove."""
    probe = files.temporary_name(index_path(lock_path))
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | files.NO_LINK, 0o600))
    except OSError:
        return None
    try:
        found = stamp_of(probe)
    except (HeyrenderError, OSError):
        found = None
    finally:
        probe.unlink(missing_ok=True)
    return None if found is None else found[4]


def settled(started: int | None, before: Stamp, after: Stamp | None) -> Stamp | None:
    """The stamp an index may name for what was read between taking `before` and `after`,
    `started` being the clock before `before` was taken: None unless the lockfile kept it
    throughout and last changed in an earlier tick, so that no write since can have kept it."""
    if started is None or after != before or before[4] >= started:
        return None
    return before


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


def identity(manifest_name: str) -> dict[str, object]:
    """What an index must name to serve, besides the lockfile: this manifest, read by this
    release (a later one may check rows more strictly, or keep other rows lean)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "heyrender": __version__,
        "manifest": manifest_name,
        "byteorder": sys.byteorder,
    }


def save(
    lock_path: Path, manifest_name: str, content: bytes, stamp: Stamp | None, parts: Parts
) -> None:
    """Writes the index of the lockfile whose SHA-256 is `content` and whose stamp, while it
    was read, was `stamp` (None: it may have changed meanwhile, see `settled`), when the folder
    allows: a read-only checkout only makes the next plan slower."""
    whole = "".join(lockfile.line_of(entry) for entry in parts.whole.values()).encode()
    pieces = (parts.keys, parts.ends, parts.digests, parts.slots)
    payload = hashlib.sha256()
    for piece in (*pieces, whole):  # each written as it is in memory, never copied
        payload.update(piece)
    meta = {
        **identity(manifest_name),
        "lockfile": content.hex(),
        "stamp": stamp,
        "rows": len(parts.ends),
        "keys": len(parts.keys),
        "ends": parts.ends.typecode,
        "slots": len(parts.slots),
        "payload": payload.hexdigest(),
    }
    try:
        with files.replacing_bytes(index_path(lock_path)) as out:
            out.write(MAGIC)
            out.write(json.dumps(meta).encode() + b"\n")
            out.writelines((*pieces, whole))
    except (HeyrenderError, OSError):
        pass


def load(lock_path: Path, manifest_name: str) -> Parts | None:
    """The index of the lockfile as it is now, or None when there is none, or it was built
    from other content, or it is damaged in any way. An index that serves only once the
    lockfile is hashed is written again, naming the lockfile's stamp when it is settled."""
    try:
        fd = files.open_existing(index_path(lock_path))
    except HeyrenderError:  # a link or a folder: never followed, never read
        return None
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as source:
        try:
            return read(source, lock_path, manifest_name)
        except (EOFError, KeyError, OSError, RecursionError, TypeError, ValueError, HeyrenderError):
            return None


def read(source: io.BufferedReader, lock_path: Path, manifest_name: str) -> Parts | None:
    """Each part read straight into its own array: indexing an array is faster than
    indexing a memoryview, and no second copy of the file is held."""
    if source.readline(len(MAGIC)) != MAGIC:
        return None
    meta = json.loads(source.readline(META_LIMIT))
    expected = identity(manifest_name)
    if not isinstance(meta, dict) or any(meta.get(k) != v for k, v in expected.items()):
        return None
    naming = names_the_lockfile(meta, lock_path, os.fstat(source.fileno()).st_mtime_ns)
    if naming is None:
        return None
    rows, key_bytes, size, code = meta["rows"], meta["keys"], meta["slots"], meta["ends"]
    if code not in ("I", "Q") or not all(isinstance(n, int) and n >= 0 for n in (rows, key_bytes)):
        return None
    if not isinstance(size, int) or size < 16 or size & (size - 1) or size <= rows:
        return None
    fixed = key_bytes + rows * (array(code).itemsize + 32) + 4 * size
    if source.tell() + fixed > os.fstat(source.fileno()).st_size:
        return None
    keys = exactly(source, key_bytes)
    ends = numbers(source, code, rows)
    digests = exactly(source, 32 * rows)
    slots = numbers(source, "I", size)
    text = source.read()
    payload = hashlib.sha256()
    for piece in (keys, ends, digests, slots, text):
        payload.update(piece)
    if payload.hexdigest() != meta.get("payload") or not fitting(keys, ends, slots):
        return None
    whole: dict[str, Entry] = {}
    for number, line in enumerate(text.split(b"\n")[:-1], 1):
        entry = lockfile.entry_from(lockfile.parse_line(line, Path(), number), Path(), number)
        whole[entry.key] = entry
    parts = Parts(keys, ends, digests, slots, whole)
    if naming.content is not None and naming.restamp is not None:
        save(lock_path, manifest_name, naming.content, naming.restamp, parts)
    return parts


@dataclass(frozen=True)
class Naming:
    """How an index names the lockfile as it is now: by its stamp, or by its content (SHA-256)
    hashed again, which the index is then written again to name with `restamp`, the stamp
    the lockfile kept while it was hashed, when that stamp is settled."""

    content: bytes | None = None
    restamp: Stamp | None = None


def names_the_lockfile(meta: dict[str, object], lock_path: Path, written_ns: int) -> Naming | None:
    """Whether the index was built from the lockfile as it is now: its stamp unchanged since
    a tick before the index was written, or else its content hashed again."""
    stamp = stamp_of(lock_path)
    if stamp is None:
        return None
    if meta.get("stamp") == list(stamp) and stamp[4] < written_ns:
        return Naming()
    started = clock(lock_path)
    before = stamp_of(lock_path)
    content = lockfile_digest(lock_path)
    if before is None or content is None or meta.get("lockfile") != content.hex():
        return None
    return Naming(content, settled(started, before, stamp_of(lock_path)))


def fitting(keys: bytearray, ends: array[int], slots: array[int]) -> bool:
    """Whether the parts fit together, so that no lookup reads past an array or runs on for
    ever: as many full slots as rows, none naming a row past the last, and an empty slot to
    end every search. The payload hash only proves them whole, not written right."""
    rows = len(ends)
    if rows == 0:
        return len(keys) == 0 and not any(slots)
    filled = len(slots) - slots.count(0)
    return (
        ends[-1] == len(keys)
        and filled == rows < len(slots)
        and max(slots) >> tag_bits(rows) <= rows
    )


def exactly(source: io.BufferedReader, size: int) -> bytearray:
    buffer = bytearray(size)
    if source.readinto(buffer) != size:
        raise EOFError
    return buffer


def numbers(source: io.BufferedReader, code: str, count: int) -> array[int]:
    values = array(code)
    values.fromfile(source, count)  # EOFError when the file is short
    return values
