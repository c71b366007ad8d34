"""Apply on v3 at scale: 2,000 rows, 100 render slots, 1 s renders, ideal 20 s.

Starts the emulator with --render-seconds 1 --max-concurrent 100 --quiet, then runs a whole
`heyrender -q apply --yes --concurrency 100 --poll-interval 0.15` process on a generated
campaign. Reports wall time against the ideal, HTTP requests per video (the emulator's own
count: creates, bulk status calls, anything else), and the apply process's CPU (user+sys,
from wait4) per completed video.

    python bench/apply_v3.py [--rows 2000] [--slots 100] [--render-seconds 1] [--runs 3]

Targets (issue 7 and 10): <= 1.3 requests per video, wall <= 1.3 x ideal,
<= 3 ms of apply CPU per completed video.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from apply_throughput import campaign  # the same 'bench' campaign, generated alike

from heyrender.emulator.process import EmulatorProcess


def one_run(rows: int, slots: int, render_seconds: float, poll: float) -> dict[str, float]:
    emulator = EmulatorProcess(
        "--quiet", "--render-seconds", str(render_seconds), "--max-concurrent", str(slots)
    )
    try:
        with tempfile.TemporaryDirectory() as folder:
            manifest = campaign(Path(folder), rows)
            command = [
                sys.executable, "-m", "heyrender", "-q", "apply", str(manifest), "--yes",
                "--concurrency", str(slots), "--poll-interval", str(poll),
            ]  # fmt: skip
            before = emulator.stats()["requests"]
            started = time.perf_counter()
            process = subprocess.Popen(
                command, env=emulator.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            _, status, usage = os.wait4(process.pid, 0)
            took = time.perf_counter() - started
            out, err = process.communicate()
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"apply failed:\n{out.decode()}\n{err.decode()}")
            stats = emulator.stats()
        once = all(n == 1 for n in stats["creates_by_title"].values())
        completed = stats["creates_accepted"]
        return {
            "wall": took,
            "requests": (stats["requests"] - before - 1) / rows,  # minus the stats call
            "cpu_ms": (usage.ru_utime + usage.ru_stime) * 1000 / completed,
            "cpu_total": usage.ru_utime + usage.ru_stime,
            "once": float(once and completed == rows),
        }
    finally:
        emulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--render-seconds", type=float, default=1.0)
    parser.add_argument("--poll-interval", type=float, default=0.15)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ideal = math.ceil(args.rows / args.slots) * args.render_seconds
    runs = []
    for number in range(1, args.runs + 1):
        run = one_run(args.rows, args.slots, args.render_seconds, args.poll_interval)
        runs.append(run)
        print(
            f"run {number}: wall {run['wall']:6.2f} s = {run['wall'] / ideal:.3f} x ideal | "
            f"{run['requests']:.3f} requests/video | apply CPU {run['cpu_total']:.2f} s = "
            f"{run['cpu_ms']:.2f} ms/video | each title once: {bool(run['once'])}"
        )

    def median(name: str) -> float:
        return statistics.median(r[name] for r in runs)

    def best(name: str) -> float:
        return min(r[name] for r in runs)

    print(
        f"ideal {ideal:.1f} s | wall median {median('wall') / ideal:.3f} x "
        f"(best {best('wall') / ideal:.3f}; target <= 1.3) | requests/video median "
        f"{median('requests'):.3f} (target <= 1.3) | apply CPU/video median "
        f"{median('cpu_ms'):.2f} ms (best {best('cpu_ms'):.2f}; target <= 3)"
    )


if __name__ == "__main__":
    main()
