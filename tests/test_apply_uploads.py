"""apply with local files, as a real subprocess against the emulator."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

from tests.conftest import heyrender
from tests.pictures import png

MANIFEST = """\
version: 1
name: faces
source: {csv: people.csv, key: id}
video:
  image_file: "photos/{{ row.photo }}"
  voice_id: v1
  script: "Hi {{ row.name }}"
"""


def photo_campaign(folder: Path, rows: int, photos: int) -> Path:
    (folder / "photos").mkdir()
    for i in range(photos):
        (folder / "photos" / f"p{i}.png").write_bytes(png(8, 8, (i, 3 * i, 5 * i)))
    lines = "".join(f"r{i:02d},Name{i},p{i % photos}.png\n" for i in range(rows))
    (folder / "people.csv").write_text("id,name,photo\n" + lines)
    (folder / "faces.yaml").write_text(MANIFEST)
    return folder / "faces.yaml"


def test_apply_uploads_each_photo_once_then_never_again(tmp_path: Path, start_emulator) -> None:
    emulator = start_emulator("--quiet", "--render-seconds", "0.5")
    manifest = photo_campaign(tmp_path, rows=6, photos=3)
    done = heyrender("apply", manifest, "--yes", "--poll-interval", "0.1", env=emulator.env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Uploading 3 files" in done.stdout + done.stderr
    assert emulator.stats()["uploads"]["count"] == 3
    again = heyrender("apply", manifest, "--yes", "--poll-interval", "0.1", env=emulator.env())
    assert again.returncode == 0 and emulator.stats()["uploads"]["count"] == 3


def test_kill_9_during_uploads_loses_nothing_and_pays_nothing_twice(
    tmp_path: Path, start_emulator
) -> None:
    emulator = start_emulator(
        "--quiet",
        "--render-seconds=0.5",
        "--fault-rate=0.3",
        "--fault-kinds=slow",
        "--fault-kinds=created-then-drop",
        "--slow-seconds=0.4",
        "--seed=11",
    )
    rows, photos = 8, 8
    manifest = photo_campaign(tmp_path, rows=rows, photos=photos)
    command = [sys.executable, "-m", "heyrender", "apply", str(manifest), "--yes"]
    command += ["--poll-interval", "0.05", "--settle-grace", "1"]
    chance = random.Random(20261125)
    for _ in range(2):
        process = subprocess.Popen(
            command, env=emulator.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            process.wait(timeout=chance.uniform(0.8, 1.6))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    final = heyrender(*command[3:], env=emulator.env(), timeout=120)
    assert final.returncode == 0, final.stdout + final.stderr
    stats = emulator.stats()
    assert stats["uploads"]["count"] == photos
    assert sorted(stats["creates_by_title"].values()) == [1] * rows
