"""Apply keeps the render slots full: 64 rows, 8 slots, 2 s renders, ideal 16 s.

Starts the emulator with --render-seconds 2 --max-concurrent 8, then times a whole
`heyrender apply --yes --poll-interval 0.25` process on a generated 64-row campaign.

    python bench/apply_throughput.py [--rows 64] [--slots 8] [--render-seconds 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from heyrender.emulator.process import EmulatorProcess

MANIFEST = """\
version: 1
name: bench
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar }}"
  voice_id: v-1
  script: "Hi {{ row.name }}, this is a benchmark."
"""


def campaign(folder: Path, rows: int) -> Path:
    lines = ["email,name,avatar"] + [
        f"p{i}@example.com,Name{i},avatar-{i % 5}" for i in range(rows)
    ]
    (folder / "people.csv").write_text("\n".join(lines) + "\n")
    path = folder / "bench.yaml"
    path.write_text(MANIFEST)
    return path


def one_run(rows: int, slots: int, render_seconds: float) -> tuple[float, dict]:
    emulator = EmulatorProcess(
        "--quiet", "--render-seconds", str(render_seconds), "--max-concurrent", str(slots)
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifest = campaign(Path(folder), rows)
            command = [
                sys.executable,
                "-m",
                "heyrender",
                "apply",
                str(manifest),
                "--yes",
                "--poll-interval",
                "0.25",
            ]
            started = time.perf_counter()
            done = subprocess.run(command, env=emulator.env(), capture_output=True, text=True)
            took = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"apply failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return took, emulator.stats()
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=64)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--render-seconds", type=float, default=2.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ideal = math.ceil(args.rows / args.slots) * args.render_seconds
    times = []
    for run in range(1, args.runs + 1):
        took, stats = one_run(args.rows, args.slots, args.render_seconds)
        once = all(n == 1 for n in stats["creates_by_title"].values())
        times.append(took)
        print(
            f"run {run}: {took:6.2f} s = {took / ideal:.3f} x ideal | creates "
            f"{stats['creates_accepted']} (each title once: {once}) | peak unfinished "
            f"{stats['peak_unfinished']}/{args.slots} | 429s {stats['rate_limited']} | "
            f"slot use {stats['busy_slot_seconds'] / (args.slots * took):.0%}"
        )
    best, median = min(times), statistics.median(times)
    print(
        f"ideal {ideal:.1f} s; median {median:.2f} s = {median / ideal:.3f} x ideal "
        f"(best {best / ideal:.3f}); target <= 1.15 x"
    )


if __name__ == "__main__":
    main()
