"""plan's index names the lockfile's stamp as well as its SHA-256: while the stamp is the one
taken before the index was written, plan skips hashing the lockfile; any write, even one that
keeps the size and puts the modification time back, makes it hash (and read) the file again."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from heyrender.state import planindex
from tests.test_plan_index import cold, index_of, plans, recorded_campaign


def hashes(monkeypatch) -> list[Path]:
    """Makes every hash of a whole lockfile count itself."""
    seen: list[Path] = []
    digest = planindex.lockfile_digest

    def counted(path: Path) -> bytes | None:
        seen.append(path)
        return digest(path)

    monkeypatch.setattr(planindex, "lockfile_digest", counted)
    return seen


def written_later(path: Path) -> None:
    """The index as if written a second after the lockfile last changed: a later clock tick."""
    changed = path.with_suffix(".lock").stat().st_ctime_ns
    os.utime(index_of(path), ns=(changed + 10**9, changed + 10**9))


def next_tick(lock: Path) -> None:
    """Waits until a change made now gets another change time than the lockfile's last."""
    probe = lock.with_name("tick.probe")
    while True:
        probe.write_bytes(b"")
        if probe.stat().st_ctime_ns > lock.stat().st_ctime_ns:
            probe.unlink()
            return


def stamp_in(path: Path) -> object:
    return json.loads(index_of(path).read_bytes().split(b"\n", 2)[1])["stamp"]


def test_an_unchanged_lockfile_is_not_hashed_again(campaign, cli, monkeypatch):
    path = recorded_campaign(campaign)
    expected = plans(cli, path)
    written_later(path)
    counted, reads = hashes(monkeypatch), cold(monkeypatch)
    assert plans(cli, path) == expected
    assert counted == [] and reads == []


def test_an_index_written_in_the_lockfile_s_last_tick_hashes_it(campaign, cli, monkeypatch):
    """As apply's index often is: the first plan a tick later hashes the lockfile, and writes
    the index again with the stamp, now settled; the next plan trusts it."""
    path = recorded_campaign(campaign)
    expected = plans(cli, path)
    lock = path.with_suffix(".lock")
    changed = lock.stat().st_ctime_ns
    os.utime(index_of(path), ns=(changed, changed))
    next_tick(lock)
    counted, reads = hashes(monkeypatch), cold(monkeypatch)
    assert plans(cli, path) == expected
    assert len(counted) == 1 and reads == [], "hashed once, and the index served"


@pytest.mark.parametrize("restore_time", [False, True])
def test_an_edit_of_the_same_size_is_seen(campaign, cli, monkeypatch, restore_time):
    path = recorded_campaign(campaign)
    plans(cli, path)
    written_later(path)
    lock = path.with_suffix(".lock")
    before = lock.stat()
    text = lock.read_text()
    line = next(x for x in text.splitlines() if '"key": "p0@x.io"' in x)
    request = json.loads(line)["request"]
    next_tick(lock)
    with open(lock, "r+", encoding="utf-8") as edit:  # in place: the same inode and size
        edit.write(text.replace(request, "sha256:" + "0" * 64))
    if restore_time:
        os.utime(lock, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert lock.stat().st_size == before.st_size and lock.stat().st_ino == before.st_ino
    reads = cold(monkeypatch)
    data = json.loads(cli("plan", path, "--json").stdout)
    assert data["groups"]["outdated"] == ["p0@x.io"] and reads == ["lockfile"]


def test_a_lockfile_replaced_while_it_is_read_is_indexed_without_a_stamp(
    campaign, cli, monkeypatch
):
    path = recorded_campaign(campaign)
    stamps = iter([(1, 2, 3, 4, 5), (1, 2, 3, 4, 6)])  # before the read, and after
    real = planindex.stamp_of

    def changing(lock: Path) -> planindex.Stamp | None:
        real(lock)
        return next(stamps, None)

    monkeypatch.setattr(planindex, "stamp_of", changing)
    first = cli("plan", path, "--json")
    assert first.exit_code == 0, first.output
    assert stamp_in(path) is None
    monkeypatch.undo()
    counted = hashes(monkeypatch)
    written_later(path)
    assert cli("plan", path, "--json").stdout == first.stdout
    assert len(counted) == 1, "no stamp to trust: hashed"


def test_a_fresh_index_names_the_stamp_of_what_it_read(campaign, cli):
    path = recorded_campaign(campaign)
    plans(cli, path)
    lock = path.with_suffix(".lock")
    assert stamp_in(path) == list(planindex.stamp_of(lock) or ())
