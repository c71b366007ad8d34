"""A hostile review of plan's index (`<lockfile>.index`): whatever lies in its place, plan gives
the answer, or the error, it gives without one, and leaves nothing else behind."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import zlib
from array import array
from collections.abc import Callable
from pathlib import Path

import pytest

from heyrender.state import lockfile, planindex, view
from heyrender.state.lockfile import Entry
from heyrender.state.store import State
from tests.conftest import CAMPAIGN_MANIFEST, campaign_csv, heyrender
from tests.test_plan_index import recorded_campaign as recorded

STATUSES = ("completed", "completed", "failed", "completed", "processing")
ROWS = "email,name,avatar\n" + "".join(f"p{i}@x.io,N{i},a1\n" for i in range(40))


def recorded_campaign(campaign, csv: str | None = None, outdated: bool = True) -> Path:
    return recorded(campaign, csv=csv or ROWS, statuses=STATUSES, outdated=outdated, orphan=True)


def index_of(path: Path) -> Path:
    return planindex.index_path(path.with_suffix(".lock"))


def answer(cli, path: Path) -> tuple[int, str]:
    result = cli("plan", path, "--json")
    return result.exit_code, result.output


def without_index(cli, path: Path) -> tuple[int, str]:
    index_of(path).unlink(missing_ok=True)
    return answer(cli, path)


def test_a_dangling_link_in_the_journal_s_place_is_refused_as_it_always_was(campaign, cli):
    path = recorded_campaign(campaign, outdated=False)  # no outdated row's fields are read
    assert answer(cli, path)[0] == 0 and index_of(path).is_file()
    path.with_suffix(".lock.journal").symlink_to(path.parent / "nowhere")
    for _ in range(2):  # with the index, then without
        code, output = answer(cli, path)
        assert code != 0 and "m.lock.journal: is a symbolic link" in output
        index_of(path).unlink(missing_ok=True)


def rewrite(index: Path, change: Callable[[dict[str, object]], None]) -> None:
    """Changes the index's parts and writes them back with a payload hash that matches them."""
    with index.open("rb") as source:
        magic, meta = source.readline(), json.loads(source.readline())
        rows, size = meta["rows"], meta["slots"]
        parts: dict[str, object] = {"keys": source.read(meta["keys"])}
        for name, code, count in (("ends", "I", rows), ("digests", "", 32 * rows)):
            if code:
                parts[name] = array(code)
                parts[name].fromfile(source, count)  # type: ignore[attr-defined]
            else:
                parts[name] = source.read(count)
        parts["slots"] = array("I")
        parts["slots"].fromfile(source, 2 * size)  # type: ignore[attr-defined]
        parts["whole"] = source.read()
    change(parts)
    names = ("keys", "ends", "digests", "slots", "whole")
    pieces = [bytes(parts[name]) for name in names]  # type: ignore[call-overload]
    payload = hashlib.sha256()
    for piece in pieces:
        payload.update(piece)
    meta["payload"] = payload.hexdigest()
    index.write_bytes(magic + json.dumps(meta).encode() + b"\n" + b"".join(pieces))


def slots_of(parts: dict[str, object]) -> array[int]:
    slots = parts["slots"]
    assert isinstance(slots, array)
    return slots


def a_row_past_the_rows(parts: dict[str, object]) -> None:
    slots = slots_of(parts)
    full = next(at for at in range(1, len(slots), 2) if slots[at])
    slots[full] = len(slots)


def a_row_in_two_slots(parts: dict[str, object]) -> None:
    slots = slots_of(parts)
    full = next(at for at in range(1, len(slots), 2) if slots[at])
    empty = next(at for at in range(1, len(slots), 2) if not slots[at])
    slots[empty] = slots[full]


def no_empty_slot(parts: dict[str, object]) -> None:
    """Every search would go round the table for ever."""
    slots = slots_of(parts)
    for at in range(1, len(slots), 2):
        slots[at] = slots[at] or 1


def ends_past_the_keys(parts: dict[str, object]) -> None:
    ends = parts["ends"]
    assert isinstance(ends, array)
    ends[-1] += 4


@pytest.mark.parametrize(
    "damage", [a_row_past_the_rows, a_row_in_two_slots, no_empty_slot, ends_past_the_keys]
)
def test_an_index_whose_parts_disagree_is_not_served(campaign, cli, damage):
    """The payload hash catches damage, not an index written wrong (by a bug, another build,
    a hand): parts that do not fit together must not crash plan or change its answer."""
    path = recorded_campaign(campaign)
    expected = without_index(cli, path)
    assert expected[0] == 0
    rewrite(index_of(path), damage)
    assert answer(cli, path) == expected


def test_an_index_another_heyrender_release_wrote_is_not_served(campaign, cli):
    """A later release may check lockfile rows more strictly, or keep other rows lean: an
    index names the release that wrote it, and only that release reads it."""
    path = recorded_campaign(campaign)
    answer(cli, path)
    lock = path.with_suffix(".lock")
    assert planindex.load(lock, path.name) is not None
    magic, meta, rest = index_of(path).read_bytes().split(b"\n", 2)
    older = json.loads(meta) | {"heyrender": "0.0.1"}
    index_of(path).write_bytes(b"\n".join((magic, json.dumps(older).encode(), rest)))
    assert planindex.load(lock, path.name) is None


def crc_twins(count: int = 2) -> list[tuple[str, str]]:
    """Pairs of distinct ASCII keys with the same CRC-32."""
    rng = random.Random(3)
    seen: dict[int, str] = {}
    twins: list[tuple[str, str]] = []
    while len(twins) < count:
        key = f"{rng.getrandbits(48):012x}@x.io"
        value = zlib.crc32(key.encode())
        other = seen.setdefault(value, key)
        if other != key:
            twins.append((other, key))
    return twins


def test_keys_with_equal_crc32_are_told_apart(campaign, cli):
    twins = crc_twins()
    keys = [key for pair in twins for key in pair]
    csv = "email,name,avatar\n" + "".join(f"{key},N,a1\n" for key in keys[::2])
    csv += "".join(f"ü{i}✓@x.io,N,a1\n" for i in range(10))
    path = recorded_campaign(campaign, csv)  # the CSV holds one of each pair: the other is
    lock = path.with_suffix(".lock")  # an orphan whose hash is the same
    entries = lockfile.load(lock, path.name)
    for _, second in twins:
        entries[second] = Entry(second, "sha256:" + "2" * 64, "completed", video_id="x")
    lockfile.save(lock, entries, path.name)
    expected = without_index(cli, path)
    data = json.loads(expected[1])
    assert sorted(data["groups"]["orphaned"]) == sorted(
        [second for _, second in twins] + ["gone@x.io"]
    )
    assert answer(cli, path) == expected  # writes the index
    assert index_of(path).is_file()
    assert answer(cli, path) == expected  # reads it
    parts = planindex.load(lock, path.name)
    assert parts is not None
    loaded, built = view.PlanEntries(parts), view.plan_entries(lock, path.name)
    for first, second in twins:
        assert loaded.find(first) != loaded.find(second)
        assert loaded[first] == built[first] and loaded[second] == built[second]


@pytest.mark.parametrize("statuses", [(), ("failed", "processing", "submitting")])
def test_a_lockfile_without_lean_rows(campaign, cli, statuses):
    path = recorded_campaign(campaign)
    lock = path.with_suffix(".lock")
    entries = {}
    for i, (key, entry) in enumerate(lockfile.load(lock, path.name).items()):
        status = statuses[i % len(statuses)] if statuses else None
        if status is not None:
            video_id = None if status == "submitting" else entry.video_id
            entries[key] = entry.evolve(status=status, video_id=video_id)
    lockfile.save(lock, entries, path.name)
    expected = without_index(cli, path)
    assert expected[0] == 0, expected[1]
    assert answer(cli, path) == expected
    assert planindex.load(lock, path.name) is not None
    assert answer(cli, path) == expected


KILLED_WRITE = """
import os, signal, sys
from pathlib import Path
from heyrender.state import files, view

real = files.replacing_bytes

class Killed:
    def __init__(self, path):
        self.inner = real(path)
    def __enter__(self):
        out = self.inner.__enter__()
        out.write(b"heyrender-plan-index\\n{")
        out.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    def __exit__(self, *exc):
        return False

files.replacing_bytes = Killed
view.plan_entries(Path(sys.argv[1]), sys.argv[2])
"""


def killed_twice(script: str, path: Path) -> None:
    """Runs `script` (which kills itself) twice on the campaign with no index: each kill
    leaves one temporary file beside the lockfile, and no index."""
    index_of(path).unlink()
    lock = path.with_suffix(".lock")
    for _ in range(2):
        killed = subprocess.run(
            [sys.executable, "-c", script, str(lock), path.name], capture_output=True
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = [p for p in path.parent.iterdir() if p.name.startswith("..m.lock.index.")]
    assert len(left) == 2 and not index_of(path).exists()


def test_plan_killed_while_writing_its_index_twice(campaign, cli):
    path = recorded_campaign(campaign)
    expected = without_index(cli, path)
    killed_twice(KILLED_WRITE, path)
    lock = path.with_suffix(".lock")
    assert answer(cli, path) == expected
    assert answer(cli, path) == expected
    state = State.load(lock, path.name)  # what apply does under the state lock
    state.checkpoint()
    assert not [p for p in path.parent.iterdir() if p.name.startswith("..m.lock.index.")]


def test_plan_writes_its_index_and_nothing_else(campaign, cli):
    path = recorded_campaign(campaign)
    before = sorted(os.listdir(path.parent))
    assert answer(cli, path)[0] == 0
    assert sorted(os.listdir(path.parent)) == sorted([*before, ".m.lock.index"])
    assert answer(cli, path)[0] == 0
    assert sorted(os.listdir(path.parent)) == sorted([*before, ".m.lock.index"])


def test_a_read_only_folder_only_costs_speed(campaign, cli, monkeypatch):
    """Faked, since the tests may run as root, whom a read-only folder does not stop."""
    import errno

    from heyrender.state import files

    path = recorded_campaign(campaign)
    expected = without_index(cli, path)

    def refused(target):
        raise files.unwritable(target, PermissionError(errno.EROFS, "Read-only file system"))

    index_of(path).unlink()
    monkeypatch.setattr(files, "replacing_bytes", refused)
    assert answer(cli, path) == expected and not index_of(path).exists()


def test_a_fifo_in_the_index_s_place_never_blocks(campaign, cli):
    path = recorded_campaign(campaign)
    expected = without_index(cli, path)
    index_of(path).unlink()
    os.mkfifo(index_of(path))
    assert answer(cli, path) == expected
    assert answer(cli, path) == expected


def test_the_index_apply_leaves_answers_as_the_lockfile_does(campaign, start_emulator):
    """Real processes: an apply with failures leaves the index; the CSV then changes (a row
    edited, one added, one removed), and plan answers with the index as without it."""
    path = campaign(CAMPAIGN_MANIFEST, campaign_csv(12), name="drill")
    emulator = start_emulator(
        "--render-seconds", "0.2", "--max-concurrent", "12", "--fail-rate", "0.4"
    )
    fast = ("--poll-interval", "0.05", "--settle-grace", "0.5")
    applied = heyrender("apply", path, "--yes", *fast, env=emulator.env())
    assert "completed" in applied.stdout, applied.stdout + applied.stderr
    assert index_of(path).is_file()
    csv = path.parent / "people.csv"
    lines = csv.read_text().splitlines()
    lines[1] = lines[1].replace("Name0", "Renamed")
    lines = [*lines[:-1], "new@x.io,New,a1"]
    csv.write_text("\n".join(lines) + "\n")

    def plan() -> str:
        result = heyrender("plan", path, "--json", env=emulator.env())
        assert result.returncode == 0, result.stderr
        return result.stdout

    with_index = plan()
    data = json.loads(with_index)["summary"]
    assert data["outdated"] + data["create"] >= 2 and data["orphaned"] == 1
    index_of(path).unlink()
    assert plan() == with_index


@pytest.mark.parametrize(
    "header",
    [
        b"[" * 60000,  # deeper than json's recursion limit
        b'{"rows": 1e999}',
        b"\xff\xfe",
        b"",
    ],
)
def test_an_index_header_of_any_shape_is_ignored(campaign, cli, header):
    path = recorded_campaign(campaign)
    expected = without_index(cli, path)
    index_of(path).write_bytes(planindex.MAGIC + header + b"\n" + b"\0" * 64)
    assert answer(cli, path) == expected
