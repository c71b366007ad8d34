"""A hostile review of plan's lockfile stamp (state/planindex.py) and of the done rows it marks
on the lean entries (run/plan.py's DoneRows): whatever a user does to the lockfile, its copies
or its folder, plan answers as it does without an index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from heyrender.state import planindex, view
from heyrender.state.store import State
from tests.test_plan_index import index_of, recorded_campaign
from tests.test_plan_index_stamp import hashes, next_tick
from tests.test_review_plan_index import crc_twins, killed_twice

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


def test_an_edit_in_the_lockfile_s_tick_while_plan_hashes_it_is_seen(campaign, cli, monkeypatch):
    """The same, when an index that names no stamp serves after a hash and is written again
    to name the stamp: an edit in the lockfile's tick, just after the hash, must not be named."""
    path = recorded_campaign(campaign)
    lock = path.with_suffix(".lock")
    groups(cli, path)
    index = index_of(path)
    magic, meta, rest = index.read_bytes().split(b"\n", 2)
    index.write_bytes(
        b"\n".join((magic, json.dumps(json.loads(meta) | {"stamp": None}).encode(), rest))
    )
    tick = lock.stat().st_ctime_ns // SECOND * SECOND
    coarse(monkeypatch, tick)
    real = planindex.lockfile_digest

    def edited_once_hashed(path: Path) -> bytes | None:
        digest = real(path)
        edit_in_place(lock, "p0@x.io")
        return digest

    monkeypatch.setattr(planindex, "lockfile_digest", edited_once_hashed)
    assert "p0@x.io" in groups(cli, path)["done"]  # what it hashed, from before the edit
    monkeypatch.setattr(planindex, "lockfile_digest", real)
    os.utime(index, ns=(tick + SECOND, tick + SECOND))  # written in the next tick
    assert "p0@x.io" in groups(cli, path)["outdated"]


def test_a_copied_campaign_is_hashed_once_then_trusted(campaign, cli, monkeypatch, tmp_path):
    """`cp -a` of the campaign folder: the copy's lockfile has another inode and change time,
    so the first plan there hashes it (and finds the index still right); the index then names
    the copy's stamp, and later plans skip the hash again."""
    path = recorded_campaign(campaign)
    expected = groups(cli, path)
    copy = tmp_path / "copied"
    shutil.copytree(path.parent, copy, copy_function=shutil.copy2, ignore=lambda *_: ["copied"])
    copied = copy / path.name
    next_tick(copied.with_suffix(".lock"))
    counted = hashes(monkeypatch)
    assert groups(cli, copied) == expected
    assert len(counted) == 1, "the copy is hashed once"
    assert groups(cli, copied) == expected
    assert len(counted) == 1, "then its stamp is trusted"


def text_groups(output: str) -> dict[str, tuple[int, list[str]]]:
    """Each group the text plan shows: its count and the keys it lists."""
    shown: dict[str, tuple[int, list[str]]] = {}
    group = ""
    for line in output.splitlines():
        if line.startswith("  ") and not line.startswith("    ") and ": " in line:
            group, count = line.strip().rsplit(": ", 1)
            shown[group.split(" (")[0]] = (int(count.replace(",", "")), [])
        elif line.startswith("    ") and not line.strip().startswith("..."):
            key = line.strip().split(" ", 1)[1].split(" (")[0].split(": ")[0]
            shown[group.split(" (")[0]][1].append(key)
    return shown


def test_text_json_and_out_agree_on_done_rows_of_any_key(campaign, cli, tmp_path):
    """Done rows are marked on the lean entries and the first shown read back in row order:
    with keys that sort by code point (upper case, accents, CJK, emoji, equal CRC-32s), the
    text plan lists the first done keys of --json's and --out's, with the same counts."""
    twins = [pair for pair in crc_twins(3)]
    keys = [key for pair in twins for key in pair]
    keys += ["Zed@x.io", "ábc@x.io", "abc@x.io", "漢字@x.io", "😀@x.io", "e\u0301@x.io", "é@x.io"]
    keys += [f"k{i:03}@x.io" for i in range(30)]
    csv = "email,name,avatar\n" + "".join(f"{key},N,a1\n" for key in reversed(keys))
    path = recorded_campaign(campaign, csv=csv, outdated=True, orphan=True)
    for _ in range(3):  # building the index, reading it, and then without it
        data = json.loads(cli("plan", path, "--json").stdout)
        shown, every = cli("plan", path).stdout, cli("plan", path, "--all").stdout
        text = text_groups(shown)
        assert shown.splitlines()[0] == every.splitlines()[0]  # "Plan for m: 60 rows"
        assert {g: c for g, (c, _) in text_groups(every).items()} == {
            g: c for g, (c, _) in text.items()
        }
        out = tmp_path / "saved.json"
        assert cli("plan", path, "--out", out).exit_code == 0
        saved = json.loads(out.read_text(encoding="utf-8"))
        for group, (count, listed) in text.items():
            name = {"to create": "create", "in progress": "in_progress"}.get(group, group)
            assert count == data["summary"][name], group
            assert listed == data["groups"][name][: len(listed)], group
        assert text["done"][1] == sorted(data["groups"]["done"])[:10]
        assert saved["summary"] == data["summary"]
        if _ == 1:
            index_of(path).unlink()


KILLED_PROBE = """
import os, signal, sys
from pathlib import Path
from heyrender.state import planindex, view

def killed(lock_path):
    os.kill(os.getpid(), signal.SIGKILL)

planindex.stamp_of, real = killed, planindex.stamp_of  # kills once the clock's probe is made
view.plan_entries(Path(sys.argv[1]), sys.argv[2])
"""


def test_plan_killed_while_reading_the_clock_twice(campaign, cli):
    """The clock's probe file is named as the index's temporary files are: what two kills
    leave, the next apply removes, and plan answers as before."""
    path = recorded_campaign(campaign)
    expected = groups(cli, path)
    killed_twice(KILLED_PROBE, path)
    lock = path.with_suffix(".lock")
    assert groups(cli, path) == expected and groups(cli, path) == expected
    State.load(lock, path.name).checkpoint()  # what apply does under the state lock
    assert not [p for p in path.parent.iterdir() if p.name.startswith("..m.lock.index.")]


def git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.email=r@x.io", "-c", "user.name=r", *args],
        check=True,
        capture_output=True,
    )


def test_git_checkout_stash_and_cp_p_of_the_lockfile_are_seen(campaign, cli, tmp_path):
    """Other versions of the lockfile put in its place by git (a new file, whose size may be
    the same) and by `cp -p` (the same inode, its old modification time)."""
    path = recorded_campaign(campaign)
    folder, lock = path.parent, path.with_suffix(".lock")
    git(folder, "init", "-q")
    git(folder, "add", lock.name)
    git(folder, "commit", "-qm", "first")
    first = groups(cli, path)
    edit_in_place(lock, "p0@x.io")
    git(folder, "commit", "-qam", "second")
    second = groups(cli, path)
    assert "p0@x.io" in second["outdated"] and groups(cli, path) == second
    git(folder, "checkout", "-q", "HEAD~1", "--", lock.name)
    assert groups(cli, path) == groups(cli, path) == first
    git(folder, "checkout", "-q", "HEAD", "--", lock.name)
    assert groups(cli, path) == second
    edit_in_place(lock, "p1@x.io")
    third = groups(cli, path)
    git(folder, "stash", "-q")
    assert groups(cli, path) == second
    git(folder, "stash", "pop", "-q")
    assert groups(cli, path) == third
    older = tmp_path / "older.lock"
    older.write_bytes(
        subprocess.run(
            ["git", "-C", str(folder), "show", f"HEAD~1:{lock.name}"],
            check=True,
            capture_output=True,
        ).stdout
    )
    now = lock.stat()
    os.utime(older, ns=(now.st_atime_ns, now.st_mtime_ns))
    subprocess.run(["cp", "-p", str(older), str(lock)], check=True)
    assert lock.stat().st_ino == now.st_ino and lock.stat().st_mtime_ns == now.st_mtime_ns
    assert groups(cli, path) == first


def test_an_index_copied_from_another_campaign_is_not_served(campaign, cli, tmp_path):
    """Campaigns copied from one another have the same names: an index `cp -p`'d from the
    other folder names the other lockfile's stamp and content, so plan reads this one."""
    path = recorded_campaign(campaign)
    groups(cli, path)
    other = tmp_path / "other"
    shutil.copytree(path.parent, other, copy_function=shutil.copy2, ignore=lambda *_: ["other"])
    edit_in_place(other / "m.lock", "p0@x.io")
    assert "p0@x.io" in groups(cli, other / path.name)["outdated"]
    shutil.copy2(index_of(path), index_of(other / path.name))
    assert "p0@x.io" in groups(cli, other / path.name)["outdated"]
    shutil.copy2(index_of(other / path.name), index_of(path))
    assert "p0@x.io" in groups(cli, path)["done"]
