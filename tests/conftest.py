from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from heyrender.cli import main

BASE_MANIFEST = """\
version: 1
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar }}"
  voice_id: v1
  script: "Hi {{ row.name }}!"
"""

BASE_CSV = """\
email,name,avatar
dana@acme.io,Dana,a1
li@globex.com,Li,a2
"""

Campaign = Callable[..., Path]


@pytest.fixture
def campaign(tmp_path: Path) -> Campaign:
    """Writes a manifest and its CSV into tmp_path and returns the manifest's path."""

    def write(manifest: str = BASE_MANIFEST, csv: str | bytes = BASE_CSV, name: str = "m") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(textwrap.dedent(manifest), encoding="utf-8")
        target = tmp_path / "people.csv"
        if isinstance(csv, bytes):
            target.write_bytes(csv)
        else:
            target.write_text(textwrap.dedent(csv), encoding="utf-8", newline="")
        return path

    return write


@pytest.fixture
def state(tmp_path: Path):
    """An empty state for a manifest m.yaml, closed after the test."""
    from heyrender.state.store import State

    recorded = State(tmp_path / "m.lock", "m.yaml", {})
    yield recorded
    recorded.close()


@pytest.fixture
def cli() -> Callable[..., Result]:
    def invoke(*args: str | Path, input: str | None = None) -> Result:
        result = CliRunner().invoke(main, [str(a) for a in args], input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


@pytest.fixture
def start_emulator(tmp_path: Path):
    """Starts real emulator processes on loopback; all are stopped after the test."""
    from heyrender.emulator.process import EmulatorProcess

    started: list[EmulatorProcess] = []

    def start(*flags: str) -> EmulatorProcess:
        process = EmulatorProcess(*flags, log=tmp_path / f"emulator{len(started)}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def heyrender(*args: str | Path, env: dict[str, str], timeout: float = 120, **kwargs):
    """Runs the heyrender CLI as a real subprocess."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "heyrender", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


CAMPAIGN_MANIFEST = """\
version: 1
name: drill
source:
  csv: people.csv
  key: email
video:
  avatar_id: "{{ row.avatar }}"
  voice_id: v1
  script: "Hi {{ row.name }}, a short drill."
"""


def campaign_csv(rows: int) -> str:
    return "email,name,avatar\n" + "".join(f"p{i:02d}@x.io,Name{i},a{i % 3}\n" for i in range(rows))
