"""Lockfile cost at scale: save, load and journal replay of a 100,000-entry lockfile.

python bench/lockfile_speed.py [--rows 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from heyrender.state import lockfile
from heyrender.state.lockfile import Entry
from heyrender.state.store import State, journal_path


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


def timed(label: str, function, *args, runs: int = 3):  # type: ignore[no-untyped-def]
    """Runs function(*args) `runs` times; prints CPU (user+sys of this process) and wall,
    min and median; returns the last result."""
    cpu, wall = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = function(*args)
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    print(
        f"{label:<36} CPU min {min(cpu):6.3f} s, median {statistics.median(cpu):6.3f} s;"
        f"  wall min {min(wall):6.3f} s, median {statistics.median(wall):6.3f} s"
    )
    return result


def journal(state: State, records: list[Entry]) -> None:
    for entry in records:
        state.record(entry)
    state.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    data = entries(args.rows)
    runs = args.runs
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "campaign.lock"
        label = f"{args.rows:,} entries"
        timed(f"save {label} (atomic)", lockfile.save, path, data, "campaign.yaml", runs=runs)
        size = path.stat().st_size
        loaded = timed(f"load {label}", lockfile.load, path, runs=runs)
        assert loaded == data
        state = State(path, "campaign.yaml", loaded)
        records = [entry.evolve(status="processing") for entry in list(loaded.values())[:10_000]]
        journal_path(path).unlink(missing_ok=True)
        timed("journal 10,000 records", journal, state, records, runs=1)
        timed("load again, replaying the journal", State.load, path, "campaign.yaml", runs=runs)
    print(f"lockfile size: {size / 2**20:.1f} MiB ({size / args.rows:.0f} bytes per row)")


if __name__ == "__main__":
    main()
