"""A hostile review of plan's lockfile stamp (state/planindex.py) and of the done rows it marks
on the lean entries (run/plan.py's DoneRows): whatever a user does to the lockfile, its copies
or its folder, plan answers as it does without an index."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from heyrender.state import planindex, view
from tests.test_plan_index import index_of, recorded_campaign
from tests.test_plan_index_stamp import hashes, next_tick

SECOND = 10**9


def coarse(monkeypatch, tick: int) -> None:
    """A file system whose clock ticks once a second (ext3, HFS+, FAT...), all of this test in
    the tick starting at `tick`: every file's times read as that tick."""
    real = planindex.stamp_of

    def stamp(path: Path) -> planindex.Stamp | None:
        found = real(path)
        return None if found is None else (*found[:3], tick, tick)

    monkeypatch.setattr(planindex, "stamp_of", stamp)


def edit_in_place(lock: Path, key: str) -> None:
    """Another request hash for `key`'s row, written over the lockfile's bytes: the same inode
    and size, its modification time put back."""
    before = lock.stat()
    text = lock.read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if f'"key": "{key}"' in x)
    request = json.loads(line)["request"]
    with open(lock, "r+", encoding="utf-8") as edit:
        edit.write(text.replace(request, "sha256:" + "0" * 64))
    os.utime(lock, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert lock.stat().st_size == before.st_size and lock.stat().st_ino == before.st_ino


def groups(cli, path: Path) -> dict[str, list[str]]:
    result = cli("plan", path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["groups"]


def test_an_edit_in_the_lockfile_s_tick_while_plan_reads_it_is_seen(campaign, cli, monkeypatch):
    """The lockfile was written in this tick; plan reads it, and while it does, the lockfile is
    written again in place, in the same tick: no time of it changes. The index is written in
    the next tick, so its stamp looks settled, but it names the bytes from before the edit."""
    path = recorded_campaign(campaign)
    lock = path.with_suffix(".lock")
    tick = lock.stat().st_ctime_ns // SECOND * SECOND
    coarse(monkeypatch, tick)
    real = view.merged

    def edited_while_read(*args: object, **kwargs: object) -> Iterator[list[view.Row]]:
        yield from real(*args, **kwargs)  # type: ignore[arg-type]
        edit_in_place(lock, "p0@x.io")

    monkeypatch.setattr(view, "merged", edited_while_read)
    assert "p0@x.io" in groups(cli, path)["done"]  # what it read, from before the edit
    monkeypatch.setattr(view, "merged", real)
    os.utime(index_of(path), ns=(tick + SECOND, tick + SECOND))  # written in the next tick
    assert "p0@x.io" in groups(cli, path)["outdated"]


def test_a_copied_campaign_is_hashed_once_then_trusted(campaign, cli, monkeypatch, tmp_path):
    """`cp -a` of the campaign folder: the copy's lockfile has another inode and change time,
    so the first plan there hashes it (and finds the index still right); the index then names
    the copy's stamp, and later plans skip the hash again."""
    path = recorded_campaign(campaign)
    expected = groups(cli, path)
    copy = tmp_path / "copied"
    shutil.copytree(path.parent, copy, copy_function=shutil.copy2, symlinks=True)
    copied = copy / path.name
    next_tick(copied.with_suffix(".lock"))
    counted = hashes(monkeypatch)
    assert groups(cli, copied) == expected
    assert len(counted) == 1, "the copy is hashed once"
    assert groups(cli, copied) == expected
    assert len(counted) == 1, "then its stamp is trusted"
