"""plan with many outdated rows: the text names what changed in the first few, learned while
the campaign expands, without rendering the CSV again; --json names it for every row."""

from __future__ import annotations

import json

from heyrender.run import changes
from tests.test_diff import SPEEDY, record_as_rendered

ROWS = 25
CSV = "email,name,avatar\n" + "".join(f"p{i:02d}@x.io,N{i},a1\n" for i in range(ROWS))


def test_the_text_names_the_first_outdated_rows_changes_from_one_pass(campaign, cli, monkeypatch):
    path = campaign(csv=CSV)
    record_as_rendered(path)
    campaign(SPEEDY, csv=CSV.replace("p07@x.io,N7,a1", "p07@x.io,N7,a2"))
    asked: list[list[str]] = []
    current = changes.current_fields

    def counted(manifest, keys, rows):
        asked.append(list(keys))
        return current(manifest, keys, rows)

    monkeypatch.setattr(changes, "current_fields", counted)
    text = cli("plan", path).stdout
    assert asked == [[]], "no second pass over the CSV"
    named = [line.strip() for line in text.splitlines() if line.startswith("    ~ ")]
    assert named[:10] == [
        f"~ p{i:02d}@x.io: "
        + ("avatar_id, script, voice_settings.speed" if i == 7 else "script, voice_settings.speed")
        for i in range(10)
    ]
    assert "    ... and 15 more" in text
    data = json.loads(cli("plan", path, "--json").stdout)
    assert len(data["changed_fields"]) == ROWS
    assert data["changed_fields"]["p24@x.io"] == ["script", "voice_settings.speed"]


def test_rows_met_in_any_order_name_the_smallest_keys(campaign, cli):
    rows = [f"p{i:02d}@x.io,N{i},a1\n" for i in range(ROWS)]
    path = campaign(csv="email,name,avatar\n" + "".join(reversed(rows)))
    record_as_rendered(path)
    campaign(SPEEDY, csv="email,name,avatar\n" + "".join(reversed(rows)))
    text = cli("plan", path).stdout
    named = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith("    ~ ")]
    assert named == [f"~ p{i:02d}@x.io" for i in range(10)]
    assert all(
        ": script, voice_settings.speed" in line for line in text.splitlines() if "~ p" in line
    )


def test_each_row_is_looked_up_once(tmp_path):
    """A row to create is looked up in the lockfile once, however few outdated rows were met."""
    from heyrender.run.plan import DoneRows
    from heyrender.state import lockfile, view
    from heyrender.state.lockfile import Entry

    lock = tmp_path / "m.lock"
    old = {f"k{i}": Entry(f"k{i}", f"sha256:{i:064x}", "completed", video_id="v") for i in range(5)}
    lockfile.save(lock, old, "m.yaml")
    entries = view.plan_entries(lock, "m.yaml")
    looked: list[str] = []
    find = entries.find
    entries.find = lambda key: looked.append(key) or find(key)  # type: ignore[method-assign]
    done = DoneRows(entries, named=10)
    kept = [done.keep(f"new{i}", bytes(32), {"script": "x"}) for i in range(50)]
    kept.append(done.keep("k1", bytes(32), {"script": "x"}))  # outdated
    assert all(kept) and len(looked) == 51
    assert list(done.outdated_fields) == ["k1"]
