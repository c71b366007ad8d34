"""plan's lean entries pack a batch of completed rows at once; a request that only looks like a
lean digest (capitals, not hex, spaces) keeps its row whole, and the rest stay lean."""

from __future__ import annotations

import pytest

from heyrender.state import lockfile, view
from heyrender.state.lockfile import Entry

ODD = {
    "capitals": "sha256:" + "AB" * 32,
    "not hex": "sha256:" + "g" * 64,
    "spaces": "sha256:" + "ab " * 21 + "a",
    "not ASCII": "sha256:" + "é" * 64,
}


@pytest.mark.parametrize("kind", list(ODD))
def test_an_odd_digest_keeps_its_row_whole_and_the_rest_stay_lean(tmp_path, kind):
    lock = tmp_path / "m.lock"
    entries: dict[str, Entry] = {}
    for i in range(300):
        key = f"k{i:05d}-ü"
        request = ODD[kind] if i == 3 else f"sha256:{i:064x}"
        status = "failed" if i % 97 == 0 else "completed"
        entries[key] = Entry(key, request, status, video_id=f"v{i}")
    lockfile.save(lock, entries, "m.yaml")
    planned = view.plan_entries(lock, "m.yaml")
    assert sorted(planned) == sorted(entries)
    for key, entry in entries.items():
        assert (planned[key].request, planned[key].status) == (entry.request, entry.status)
        lean = planned.find(key) >= 0
        assert lean == (entry.status == "completed" and entry.request != ODD[kind]), key
    assert planned.key_at(planned.lean_count - 1) == "k00299-ü"
