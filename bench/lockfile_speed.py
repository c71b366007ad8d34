"""Lockfile cost at scale: save, load and journal replay of a 100,000-entry lockfile.

python bench/lockfile_speed.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from heyrender.state.store import State


def entries(rows: int) -> dict[str, Entry]:
    return {
        f"person{i:06d}@example.com": Entry(
            key=f"person{i:06d}@example.com",
            request="sha256:" + f"{i:064x}",
            status="completed",
            title=f"Spring outreach: Company {i % 997} (person{i:06d}@example.com)",
            video_id=f"{i:032x}",
            intent_at="2026-11-25T06:25:48Z",
            submitted_at="2026-11-25T06:25:48Z",
            finished_at="2026-11-25T06:35:50Z",
            duration=31.2,
        )
        for i in range(rows)
    }


def timed(label: str, function, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = function(*args)
    print(f"{label:<34} {time.perf_counter() - started:6.3f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    data = entries(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaign.lock"
        timed(f"save {args.rows:,} entries (atomic)", lockfile.save, path, data, "campaign.yaml")
        size = path.stat().st_size
        loaded = timed(f"load {args.rows:,} entries", lockfile.load, path)
        assert loaded == data
        state = State(path, "campaign.yaml", loaded)
        started = time.perf_counter()
        for entry in list(loaded.values())[:10_000]:
            state.record(entry.evolve(status="processing"))
        print(f"{'journal 10,000 records':<34} {time.perf_counter() - started:6.3f} s")
        state.close()
        timed("load again, replaying the journal", State.load, path, "campaign.yaml")
    print(f"lockfile size: {size / 2**20:.1f} MiB ({size / args.rows:.0f} bytes per row)")


if __name__ == "__main__":
    main()
