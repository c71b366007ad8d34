"""Validation speed: heyrender against the straightforward approach, side by side.

Generates a campaign (four templated fields, a fixed background and fixed
voice_settings), then times:
  straightforward: a sandboxed Jinja render of each field of each row, then
                   jsonschema.Draft202012Validator.iter_errors on each body;
  heyrender:       `heyrender validate`'s own code path (heyrender.validate.validate).
Then the peak memory (tracemalloc) of heyrender's validation at two row counts,
each in a fresh process: the difference is what the run keeps per row.

    python bench/validate_speed.py [--rows 100000] [--skip-memory]
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import jsonschema
from jinja2 import StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from heyrender.campaign import manifest as manifests
from heyrender.campaign import schema
from heyrender.campaign.validate import validate

MANIFEST = """\
version: 1
name: bench
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar_id }}"
  voice_id: "{{ row.voice_id }}"
  title: "Outreach: {{ row.company }} ({{ key }})"
  script: "Hi {{ row.first_name }}, I saw {{ row.company }} is hiring in {{ row.city }}."
  resolution: 720p
  background:
    type: color
    value: "#0a0a0a"
  voice_settings:
    speed: 1.1
    pitch: 0
"""


def write_campaign(folder: Path, rows: int) -> Path:
    with open(folder / "people.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "first_name", "company", "city", "avatar_id", "voice_id"])
        for i in range(rows):
            writer.writerow(
                [
                    f"p{i}@example.com",
                    f"Name{i}",
                    f"Company {i % 997}",
                    "Berlin",
                    f"avatar-{i % 7}",
                    "v-1",
                ]
            )
    path = folder / "bench.yaml"
    path.write_text(MANIFEST)
    return path


def straightforward(path: Path, cache_templates: bool = False) -> tuple[int, int]:
    """The baseline the issue names, written as a newcomer would (optionally caching templates)."""
    manifest = manifests.load(path)
    env = SandboxedEnvironment(undefined=StrictUndefined)
    validator = jsonschema.Draft202012Validator(schema.load(schema.REQUEST_SCHEMA))
    cache: dict[str, Any] = {}

    def compiled(text: str) -> Any:
        if not cache_templates:
            return env.from_string(text)
        if text not in cache:
            cache[text] = env.from_string(text)
        return cache[text]

    def render(node: Any, context: dict[str, Any]) -> Any:
        if isinstance(node, dict):
            return {k: render(v, context) for k, v in node.items()}
        if isinstance(node, str):
            return compiled(node).render(context)
        return node

    valid = invalid = 0
    with open(manifest.source.csv, newline="", encoding="utf-8-sig") as source:
        for row in csv.DictReader(source):
            context = {"row": row, "vars": manifest.vars, "key": row["email"]}
            body = render(manifest.video, context)
            if list(validator.iter_errors(body)):
                invalid += 1
            else:
                valid += 1
    return valid, invalid


def ours(path: Path) -> tuple[int, int]:
    result = validate(manifests.load(path))
    return result.valid, result.invalid


def timed(function: Any, path: Path) -> tuple[float, tuple[int, int]]:
    start = time.perf_counter()
    outcome = function(path)
    return time.perf_counter() - start, outcome


def peak_mib(rows: int) -> float:
    """Peak traced Python memory of validating a campaign of this many rows, in a fresh process."""
    output = subprocess.run(
        [sys.executable, __file__, "--measure-memory", str(rows)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(output)["peak_mib"])


def measure_memory(rows: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_campaign(Path(folder), rows)
        tracemalloc.start()
        ours(path)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps({"rows": rows, "peak_mib": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--measure-memory", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure_memory:
        measure_memory(args.measure_memory)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = write_campaign(Path(folder), args.rows)
        ours_seconds, ours_counts = timed(ours, path)
        base_seconds, base_counts = timed(straightforward, path)
        cached_seconds, cached_counts = timed(
            lambda p: straightforward(p, cache_templates=True), path
        )
    assert ours_counts == base_counts == cached_counts, (ours_counts, base_counts, cached_counts)
    print(f"rows:            {args.rows:,} ({ours_counts[0]:,} valid, {ours_counts[1]:,} invalid)")
    print(f"straightforward: {base_seconds:8.2f} s  ({args.rows / base_seconds:,.0f} rows/s)")
    print(
        f"  same, each template compiled once: {cached_seconds:8.2f} s  "
        f"(heyrender takes {ours_seconds / cached_seconds:.1%} of it)"
    )
    print(f"heyrender:       {ours_seconds:8.2f} s  ({args.rows / ours_seconds:,.0f} rows/s)")
    print(
        f"ratio:           {ours_seconds / base_seconds:8.1%} of the straightforward time "
        "(target <= 20%)"
    )
    if not args.skip_memory:
        small, large = args.rows // 10, args.rows
        small_peak, large_peak = peak_mib(small), peak_mib(large)
        per_row = (large_peak - small_peak) * 1024 * 1024 / (large - small)
        print(
            f"peak memory:     {small_peak:.1f} MiB at {small:,} rows, "
            f"{large_peak:.1f} MiB at {large:,} rows ({per_row:.0f} bytes per extra row)"
        )


if __name__ == "__main__":
    main()
