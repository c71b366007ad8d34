"""The few lockfile rows plan names (the outdated rows it lists) are found by bisection of the
sorted lockfile, with the answer and the errors that streaming the whole file gives."""

from __future__ import annotations

import pytest

from heyrender.errors import LockfileError
from heyrender.state import lockfile, view
from heyrender.state.lockfile import Entry
from heyrender.state.store import State

KEYS = [f"k{i:04d}" for i in range(1500)] + ["zoë", "émile", "😀"]


def saved(tmp_path) -> tuple[object, dict[str, Entry]]:
    lock = tmp_path / "m.lock"
    entries = {
        key: Entry(key, f"sha256:{i:064x}", "completed", video_id=f"v{i}", fields={"s": f"{i:08x}"})
        for i, key in enumerate(KEYS)
    }
    lockfile.save(lock, entries, "m.yaml")
    return lock, entries


def streamed(lock, keys: set[str]) -> dict:
    return view.recorded(
        lock,
        "m.yaml",
        lambda batches: {r["key"]: r for b in batches for r in b if r["key"] in keys},
    )


def test_every_key_is_found_as_streaming_finds_it(tmp_path):
    lock, _ = saved(tmp_path)
    keys = {KEYS[0], KEYS[1], KEYS[749], KEYS[1499], "zoë", "émile", "😀", "absent", ""}
    found = lockfile.bisected(lock, "m.yaml", keys)
    assert found == streamed(lock, keys)
    assert set(found) == keys - {"absent", ""}
    assert found["k0749"]["fields"] == {"s": f"{749:08x}"}


def test_the_lines_read_are_few(tmp_path, monkeypatch):
    lock, _ = saved(tmp_path)
    parsed: list[bytes] = []
    parse = lockfile.parse_line

    def counted(raw, *args, **kwargs):
        parsed.append(raw)
        return parse(raw, *args, **kwargs)

    monkeypatch.setattr(lockfile, "parse_line", counted)
    assert set(lockfile.bisected(lock, "m.yaml", {"k0001", "k1234"})) == {"k0001", "k1234"}
    assert len(parsed) <= 1 + 2 * 12  # the header, then about log2(1,503) lines a key


def test_a_journal_s_record_wins(tmp_path):
    lock, entries = saved(tmp_path)
    state = State.load(lock, "m.yaml")
    state.record(entries["k0007"].evolve(status="failed", failure_code="X"))
    state.close()
    rows = view.recorded_rows(lock, "m.yaml", {"k0007", "k0008"})
    assert rows["k0007"]["status"] == "failed" and rows["k0008"]["status"] == "completed"


def test_a_lockfile_out_of_order_is_streamed_for_what_bisection_misses(tmp_path):
    lock, _ = saved(tmp_path)
    lines = lock.read_text(encoding="utf-8").splitlines(keepends=True)
    moved = lines[1:2] + lines[2:]  # k0000 after everything: a hand edit
    lock.write_text(lines[0] + "".join(moved[1:] + moved[:1]), encoding="utf-8")
    assert "k0000" not in lockfile.bisected(lock, "m.yaml", {"k0000"})
    assert view.recorded_rows(lock, "m.yaml", {"k0000"})["k0000"]["video_id"] == "v0"


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda text: text.replace('"k0700", "request"', '"k0700", "request": 5, "x"'), "line 702"),
        (lambda text: text.replace('"m.yaml"', '"other.yaml"', 1), "other.yaml"),
    ],
)
def test_a_damaged_lockfile_gets_the_streaming_error(tmp_path, damage, says):
    lock, _ = saved(tmp_path)
    lock.write_text(damage(lock.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(LockfileError) as streaming:
        streamed(lock, {"k0700"})
    with pytest.raises(LockfileError) as bisecting:
        view.recorded_rows(lock, "m.yaml", {"k0700"})
    assert str(bisecting.value) == str(streaming.value) and says in str(streaming.value)
