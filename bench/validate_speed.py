"""Validation speed and memory: heyrender against the straightforward approach.

Generates a campaign with five templated fields, a `where` filter and a conditional
background (an image for some rows, a colour for the rest), then runs each contender as a
child process, several times, round by round (each contender once a round, so that a busier
minute weighs on all alike), and reports for each: CPU (user+sys, of the child and every
process it started), wall time, and the peak RSS of the largest process (min and median). A
ratio of two contenders is the median of their ratios in each round, with its range.

  straightforward: each field's template compiled once (sandboxed Jinja), rendered per row,
                   empty fields left out, numbers converted, jsonschema's iter_errors per body;
  validate:        `heyrender validate` (all cores);
  validate-1:      the same on one core (taskset), for CPU per row without process overhead;
  plan:            `heyrender plan`, with a lockfile holding every row as apply writes it,
                   and the plan index the first run leaves (state/planindex.py);
  plan-cold:       the same with the index deleted before every run: the first plan after
                   the lockfile changed.

    python bench/validate_speed.py [--rows 100000] [--runs 3] [--only validate,plan]
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MANIFEST = """\
version: 1
name: bench
source:
  csv: people.csv
  key: email
  where: "row.optin == 'yes'"
video:
  avatar_id: "{{ row.avatar_id }}"
  voice_id: "{{ row.voice_id }}"
  title: "Outreach: {{ row.company }} ({{ key }})"
  script: "Hi {{ row.first_name }}, I saw {{ row.company }} is hiring in {{ row.city }}."
  resolution: 720p
  background:
    type: "{{ 'image' if row.bg else 'color' }}"
    url: "{{ row.bg }}"
    value: "{{ '' if row.bg else '#0a0a0a' }}"
  voice_settings:
    speed: "{{ row.speed }}"
    pitch: 0
"""

HERE = Path(__file__).resolve().parent
CONTENDERS = ("straightforward", "validate", "validate-1", "plan", "plan-cold")


def write_campaign(folder: Path, rows: int) -> Path:
    with open(folder / "people.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "email",
                "first_name",
                "company",
                "city",
                "avatar_id",
                "voice_id",
                "bg",
                "speed",
                "optin",
            ]
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"p{i}@example.com",
                    f"Name{i}",
                    f"Company {i % 997}",
                    "Berlin",
                    f"avatar-{i % 7}",
                    "v-1",
                    f"https://img.example.com/{i}.png" if i % 3 == 0 else "",
                    "1.0" if i % 2 else "1.1",
                    "no" if i % 10 == 0 else "yes",
                ]
            )
    path = folder / "bench.yaml"
    path.write_text(MANIFEST)
    return path


def straightforward(path: Path) -> tuple[int, int]:
    """The baseline the issue names: templates compiled once, jsonschema per body."""
    import jsonschema
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    from heyrender.campaign import manifest as manifests
    from heyrender.campaign import schema

    manifest = manifests.load(path)
    env = SandboxedEnvironment(undefined=StrictUndefined)
    validator = jsonschema.Draft202012Validator(schema.load(schema.REQUEST_SCHEMA))
    types = schema.field_types()
    where = env.compile_expression(manifest.source.where or "true")
    cache: dict[str, Any] = {}

    def render(node: Any, context: dict[str, Any], path: tuple[str, ...]) -> Any:
        if isinstance(node, dict):
            out = {k: render(v, context, (*path, k)) for k, v in node.items()}
            return {k: v for k, v in out.items() if v != ""} or ""
        if isinstance(node, str):
            if node not in cache:
                cache[node] = env.from_string(node)
            text = cache[node].render(context)
            if text and types.get(path) == "number":
                return float(text)
            return text
        return node

    valid = invalid = 0
    with open(manifest.source.csv, newline="", encoding="utf-8-sig") as source:
        for row in csv.DictReader(source):
            context = {"row": row, "vars": manifest.vars, "key": row["email"]}
            if not where(**context):
                continue
            body = render(manifest.video, context, ())
            if list(validator.iter_errors(body)):
                invalid += 1
            else:
                valid += 1
    return valid, invalid


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (Linux; 0 elsewhere)."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(field) for field in stat.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = ticks[3] + ticks[4]  # idle and iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def measure(command: list[str]) -> dict[str, float]:
    """CPU (user+sys of the child and its reaped children), wall and peak RSS of one run, and
    the cores other processes kept busy meanwhile (on average), as a measure of the load."""
    busy = busy_seconds()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "cpu": cpu,
        "wall": wall,
        "rss_mb": usage.ru_maxrss / 1024,
        "others": max(0.0, busy_seconds() - busy - cpu) / wall,
    }


def summary(samples: list[dict[str, float]]) -> dict[str, Any]:
    for sample in samples:
        sample["wall_per_cpu"] = sample["wall"] / sample["cpu"]
    out: dict[str, Any] = {}
    for name in ("cpu", "wall", "rss_mb", "wall_per_cpu", "others"):
        values = [s[name] for s in samples]
        out[name] = {"min": min(values), "median": statistics.median(values)}
    return out


def paired(
    samples: dict[str, list[dict[str, float]]], top: str, bottom: str, digits: int = 2
) -> str:
    """The CPU ratio of two contenders from runs side by side in the same round (the machine's
    load changes from minute to minute): median, and the range over the rounds."""
    ratios = sorted(a["cpu"] / b["cpu"] for a, b in zip(samples[top], samples[bottom], strict=True))
    low, middle, high = ratios[0], statistics.median(ratios), ratios[-1]
    return f"{middle:.{digits}f} (rounds: {low:.{digits}f} to {high:.{digits}f})"


def heyrender(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "heyrender"), *args]


def write_lockfile(manifest: Path) -> None:
    """A lockfile holding a completed entry for every row, as apply leaves it: video ID,
    three timestamps, per-field hashes, attempt and Idempotency-Key (about 800 bytes a row)."""
    sys.path.insert(0, str(HERE.parent))
    from heyrender.campaign import manifest as manifests
    from heyrender.campaign.expand import Expansion
    from heyrender.campaign.fields import field_hashes
    from heyrender.run.idempotency import idempotency_key
    from heyrender.state import lockfile
    from heyrender.state.lockfile import Entry

    loaded = manifests.load(manifest)
    entries = {}
    when = "2026-11-25T11:43:08Z"
    for row in Expansion(loaded):
        if row.body is not None and not row.problems:
            request = row.request_hash
            entries[row.key] = Entry(
                key=row.key,
                request=request,
                status="completed",
                title=row.body["title"],
                video_id=hashlib.md5(row.key.encode()).hexdigest(),
                intent_at=when,
                submitted_at=when,
                finished_at=when,
                fields=field_hashes(row.body),
                attempt=1,
                idempotency_key=idempotency_key("bench", row.key, request, 1),
            )
    lockfile.save(loaded.lockfile_path, entries, loaded.path.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(CONTENDERS))
    parser.add_argument("--baseline", help=argparse.SUPPRESS)
    parser.add_argument("--lockfile-for", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline:
        print(json.dumps(straightforward(Path(args.baseline))))
        return
    if args.lockfile_for:
        write_lockfile(Path(args.lockfile_for))
        return
    wanted = [name for name in CONTENDERS if name in args.only.split(",")]
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in wanted}
    with tempfile.TemporaryDirectory() as folder:
        manifest = write_campaign(Path(folder), args.rows)
        commands = {
            "straightforward": [sys.executable, __file__, "--baseline", str(manifest)],
            "validate": heyrender("validate", str(manifest)),
            "validate-1": ["taskset", "-c", "0", *heyrender("validate", str(manifest))],
            "plan": heyrender("plan", str(manifest)),
            "plan-cold": heyrender("plan", str(manifest)),
        }
        index = manifest.with_name(".bench.lock.index")
        if any(name.startswith("plan") for name in wanted):
            # In a child: a child started later from a large parent would be charged the
            # parent's peak RSS (Linux carries it over exec), inflating plan's figure.
            subprocess.run([sys.executable, __file__, "--lockfile-for", str(manifest)], check=True)
        # Round by round, each contender once, so that a busier minute weighs on all alike.
        for _ in range(args.runs):
            for name in wanted:
                if name == "plan" and not index.exists():
                    subprocess.run(commands[name], stdout=subprocess.DEVNULL, check=True)
                if name == "plan-cold":
                    index.unlink(missing_ok=True)
                samples[name].append(measure(commands[name]))
    results = {name: summary(runs) for name, runs in samples.items()}
    for name, figures in results.items():
        print(
            f"{name:16} CPU {figures['cpu']['min']:7.2f} s min {figures['cpu']['median']:7.2f}"
            f" s median ({1e6 * figures['cpu']['median'] / args.rows:5.1f} us/row), "
            f"wall {figures['wall']['min']:6.2f} / {figures['wall']['median']:6.2f} s, "
            f"peak RSS {figures['rss_mb']['median']:6.1f} MB"
        )
    if "straightforward" in results and "validate" in results:
        print(
            f"validate / straightforward, CPU: {paired(samples, 'validate', 'straightforward', 3)}"
        )
    if "validate" in results:
        wall, cpu = results["validate"]["wall"]["median"], results["validate"]["cpu"]["median"]
        each = results["validate"]["wall_per_cpu"]
        others = results["validate"]["others"]
        print(
            f"validate wall / CPU: {wall / cpu:.2f} (of each run: min {each['min']:.2f}, "
            f"median {each['median']:.2f}; other processes kept {others['median']:.2f} cores "
            f"busy, median, min {others['min']:.2f})"
        )
    for plan in ("plan", "plan-cold"):
        for validate in ("validate", "validate-1"):
            if plan in results and validate in results:
                print(f"{plan} / {validate}, CPU: {paired(samples, plan, validate)}")


if __name__ == "__main__":
    main()
