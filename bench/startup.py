"""Start-up cost: import time (`python -X importtime`, and CPU time) of `heyrender --help` and
of what `heyrender validate` imports, min and median of several fresh processes, and which
heavy packages each loads (none of aiohttp, rich, httpx or jsonschema should appear).

    python bench/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

COMMANDS = {
    "heyrender --help": "import heyrender.cli",
    "heyrender validate": (
        "import heyrender.cli, heyrender.campaign.validate, heyrender.campaign.parallel, "
        "heyrender.commands.output"
    ),
}
HEAVY = ("aiohttp", "rich", "httpx", "jsonschema")


def import_micros(statement: str) -> tuple[int, set[str]]:
    """Total import time in microseconds, and the heavy top-level packages loaded."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    total, loaded, started = 0, set(), False
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line.split("|")
        if not started:  # the interpreter's own start-up ends with `site`
            started = name.strip() == "site"
            continue
        if cumulative.strip().isdigit() and not name.startswith("  "):
            total += int(cumulative)
        top = name.strip().split(".")[0]
        if top in HEAVY:
            loaded.add(top)
    return total, loaded


def import_cpu_ms(statement: str) -> float:
    """CPU time (user+sys) of the same imports: steadier than wall time on a busy machine."""
    probe = f"import time; t = time.process_time(); {statement}; print(time.process_time() - t)"
    output = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return float(output) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for label, statement in COMMANDS.items():
        samples = [import_micros(statement) for _ in range(args.runs)]
        times = [micros / 1000 for micros, _ in samples]
        heavy = sorted(set().union(*(loaded for _, loaded in samples)))
        cpu = [import_cpu_ms(statement) for _ in range(args.runs)]
        print(
            f"{label:20} imports (-X importtime, wall): {min(times):6.1f} ms min, "
            f"{statistics.median(times):6.1f} ms median; CPU: {min(cpu):6.1f} ms min, "
            f"{statistics.median(cpu):6.1f} ms median; "
            f"heavy packages loaded: {', '.join(heavy) or 'none'}"
        )


if __name__ == "__main__":
    main()
