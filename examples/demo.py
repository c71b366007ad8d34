"""`make demo`: validate, plan, apply and status on the example campaigns, end to end.

    python examples/demo.py                  # spring-outreach.yaml, then headshots.yaml
    python examples/demo.py headshots.yaml   # only the photo campaign (uploads, then renders)

Without HEYGEN_API_KEY it starts the bundled emulator on a free port and points
heyrender at it, so nothing is spent. With a key it talks to HeyGen itself and
apply asks before submitting anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from heyrender.emulator.process import EmulatorProcess

EXAMPLE = Path(__file__).resolve().parent / "manifests"


def run(*args: str, env: dict[str, str]) -> None:
    print(f"\n$ heyrender {' '.join(args)}", flush=True)
    done = subprocess.run([sys.executable, "-m", "heyrender", *args], env=env)
    if done.returncode != 0:
        raise SystemExit(f"demo: heyrender {args[0]} exited {done.returncode}")


DEFAULT_CAMPAIGNS = ("spring-outreach.yaml", "headshots.yaml")


def demo(name: str, env: dict[str, str], real: bool) -> None:
    """validate, plan, apply and status on one example, in a fresh copy of the examples."""
    with tempfile.TemporaryDirectory(prefix="heyrender-demo-") as folder:
        shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True)
        manifest = str(Path(folder) / name)
        run("validate", manifest, env=env)
        run("plan", manifest, env=env)
        apply = ["apply", manifest, "--poll-interval", "0.5"]
        run(*apply, *([] if real else ["--yes"]), env=env)
        run("status", manifest, env=env)
        print(f"\n$ cat {Path(manifest).with_suffix('.lock').name}")
        print(Path(manifest).with_suffix(".lock").read_text(), end="")
        assets = Path(folder) / "heyrender-assets.jsonl"
        if assets.exists():
            print(f"\n$ cat {assets.name}")
            print(assets.read_text(), end="")


def main() -> None:
    names = sys.argv[1:] or list(DEFAULT_CAMPAIGNS)
    for name in names:
        if not (EXAMPLE / name).is_file():
            raise SystemExit(f"demo: no example manifest {name} in {EXAMPLE}")
    real = bool(os.environ.get("HEYGEN_API_KEY"))
    emulator = None
    if real:
        print("HEYGEN_API_KEY is set: the demo talks to HeyGen; apply asks before spending.")
        env = dict(os.environ)
    else:
        emulator = EmulatorProcess("--quiet", "--render-seconds", "2", "--max-concurrent", "3")
        env = emulator.env("demo-key")
        print(f"No HEYGEN_API_KEY: using the bundled emulator at {emulator.url}")
    try:
        for name in names:
            print(f"\n=== {name} ===", flush=True)
            demo(name, env, real)
    finally:
        if emulator is not None:
            emulator.stop()


if __name__ == "__main__":
    main()
