"""Hostile review of plan's key table and its index: at every row count around a power of two
and table_size's edges, the index answers as the lockfile does; an index whose header's sizes
are edited (so that its payload hash, over the parts end to end, still matches), cut short or
with a bit flipped is never served otherwise, never crashes and never loops."""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import pytest

from heyrender.state import lockfile, planindex, view
from heyrender.state.lockfile import Entry
from heyrender.status import Status

COUNTS = [0, 1, 2, 10, 11, 15, 16, 17, 31, 32, 33, 63, 64, 65]


def written(folder: Path, count: int) -> Path:
    rng = random.Random(count)
    entries = {}
    for i in range(count):
        key = f"k{i:04d}\u00e9\U0001f600"
        digest = rng.randbytes(32).hex()
        entries[key] = Entry(key, f"sha256:{digest}", Status.COMPLETED, video_id=f"v{i}")
    for i in range(3):  # kept whole beside the lean rows
        key = f"w{i}"
        entries[key] = Entry(key, "sha256:" + "0" * 64, Status.FAILED, video_id=f"x{i}")
    path = folder / "m.lock"
    lockfile.save(path, entries, "m.yaml")
    return path


def answer(entries: view.PlanEntries) -> list[tuple[str, Entry]]:
    return sorted((key, entries[key]) for key in entries)


def served(path: Path) -> list[tuple[str, Entry]] | None:
    parts = planindex.load(path, "m.yaml")
    return None if parts is None else answer(view.PlanEntries(parts))


@pytest.mark.parametrize("count", COUNTS)
def test_the_index_answers_as_the_lockfile_at_every_edge(tmp_path: Path, count: int) -> None:
    path = written(tmp_path, count)
    expected = answer(view.plan_entries(path, "m.yaml"))
    assert len(expected) == count + 3
    assert served(path) == expected
    entries = view.PlanEntries(planindex.load(path, "m.yaml"))  # type: ignore[arg-type]
    for missing in ("k", "w", "", "k0000", "\U0001f600", "kk0000\u00e9\U0001f600"):
        assert entries.find(missing) == -1


@pytest.mark.parametrize("count", [1, 11, 16, 33])
def test_an_index_with_edited_sizes_or_damage_is_never_served_otherwise(
    tmp_path: Path, count: int
) -> None:
    path = written(tmp_path, count)
    expected = answer(view.plan_entries(path, "m.yaml"))
    index = planindex.index_path(path)
    raw = index.read_bytes()
    meta_start = raw.index(b"\n") + 1
    meta_end = raw.index(b"\n", meta_start) + 1
    meta = json.loads(raw[meta_start:meta_end])
    later = os.stat(path).st_ctime_ns + 10**9
    versions = []
    for rows, keys, slots, code in itertools.product(
        (-1, 0, 1), (-36, -32, -4, 0, 4, 32, 36), (1, 2), ("I", "Q")
    ):
        changed = dict(
            meta,
            rows=meta["rows"] + rows,
            keys=meta["keys"] + keys,
            slots=meta["slots"] * slots,
            ends=code,
        )
        versions.append(raw[:meta_start] + json.dumps(changed).encode() + b"\n" + raw[meta_end:])
    versions += [raw[:cut] for cut in range(0, len(raw), 7)]
    rng = random.Random(count)
    for _ in range(40):
        flipped = bytearray(raw)
        flipped[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        versions.append(bytes(flipped))
    for version in versions:
        index.write_bytes(version)
        os.utime(index, ns=(later, later))
        assert served(path) in (None, expected)
