"""`heyrender status` and the lockfile side of `plan` on a large lockfile, in child processes.

Writes a campaign whose lockfile holds ROWS completed rows (about 395 bytes each), then
runs each case RUNS times as a fresh process and reports CPU (user+sys, from os.wait4),
wall time and peak RSS of that process: min and median.

  status        heyrender status m.yaml          > /dev/null
  status-json   heyrender status m.yaml --json   > /dev/null
  imports       python -c 'import heyrender.cli' (the floor under any command)
  status, no lockfile   the same command with nothing to read: its fixed cost
  plan-load     State.load: every Entry (what plan did with the lockfile before)
  plan-entries  state.view.plan_entries: what plan does now, cold (the plan index
                deleted first: the first plan after the lockfile changed) and
                indexed (as every later plan, and the plan after an apply)

    python bench/status_speed.py [--rows 100000] [--runs 3] [--plan-rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MANIFEST = """\
version: 1
name: bench
source: {csv: people.csv, key: email}
video:
  avatar_id: a
  voice_id: v
  script: "Hi {{ row.name }}"
"""

PLAN_LOAD = """
import sys
from pathlib import Path
from heyrender.state.store import State
State.load(Path(sys.argv[1]), "m.yaml")
"""

PLAN_ENTRIES = """
import sys
from pathlib import Path
from heyrender.state.planindex import index_path
from heyrender.state.view import plan_entries
if sys.argv[2] == "cold":
    index_path(Path(sys.argv[1])).unlink(missing_ok=True)
plan_entries(Path(sys.argv[1]), "m.yaml")
"""


WRITE_LOCKFILE = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from lockfile_speed import entries
from heyrender.state import lockfile
lockfile.save(Path(sys.argv[1]), entries(int(sys.argv[2])), "m.yaml")
"""


def campaign(folder: Path, rows: int) -> Path:
    """Written by a child process, so this one stays small: a forked child's peak RSS
    counts the pages it shared with its parent before exec."""
    manifest = folder / "m.yaml"
    manifest.write_text(MANIFEST)
    (folder / "people.csv").write_text("email,name\na@x,A\n")
    here = str(Path(__file__).resolve().parent)
    command = [sys.executable, "-c", WRITE_LOCKFILE, str(folder / "m.lock"), str(rows), here]
    subprocess.run(command, check=True)
    return manifest


def measured(command: list[str]) -> tuple[float, float, float]:
    """CPU seconds (user+sys), wall seconds and peak RSS in MB of one child process."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(command, stdout=sink)
        _, code, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if code:
        raise SystemExit(f"{command} failed ({code})")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def report(label: str, command: list[str], runs: int) -> None:
    results = [measured(command) for _ in range(runs)]
    cpu, wall, rss = zip(*results, strict=True)
    print(
        f"{label:<28} CPU min {min(cpu):5.2f} s, median {statistics.median(cpu):5.2f} s;"
        f"  wall min {min(wall):5.2f} s, median {statistics.median(wall):5.2f} s;"
        f"  peak RSS {max(rss):6.1f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--plan-rows", type=int, default=1_000_000, help="0 to skip")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        manifest = campaign(folder, args.rows)
        lock = str(folder / "m.lock")
        size = (folder / "m.lock").stat().st_size
        print(f"{args.rows:,} rows, lockfile {size / 2**20:.1f} MiB, {args.runs} runs each")
        report("imports", [python, "-c", "import heyrender.cli"], args.runs)
        empty = folder / "empty"
        empty.mkdir()
        for name in ("m.yaml", "people.csv"):
            (empty / name).write_bytes((folder / name).read_bytes())
        status_empty = [python, "-m", "heyrender", "status", str(empty / "m.yaml")]
        report("status, no lockfile", status_empty, args.runs)
        report("status", [python, "-m", "heyrender", "status", str(manifest)], args.runs)
        report(
            "status --json",
            [python, "-m", "heyrender", "status", str(manifest), "--json"],
            args.runs,
        )
        report(f"plan-load {args.rows:,}", [python, "-c", PLAN_LOAD, lock], args.runs)
        for mode in ("cold", "indexed"):
            command = [python, "-c", PLAN_ENTRIES, lock, mode]
            report(f"plan-entries {mode} {args.rows:,}", command, args.runs)
    if args.plan_rows:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            campaign(folder, args.plan_rows)
            lock = str(folder / "m.lock")
            runs = args.runs
            for mode in ("cold", "indexed"):
                command = [python, "-c", PLAN_ENTRIES, lock, mode]
                report(f"plan-entries {mode} {args.plan_rows:,}", command, runs)
            report(f"plan-load {args.plan_rows:,}", [python, "-c", PLAN_LOAD, lock], 1)


if __name__ == "__main__":
    main()
