"""The emulator as a real subprocess on loopback, for tests, benchmarks and the demo."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any


class EmulatorProcess:
    def __init__(self, *flags: str, log: Path | None = None) -> None:
        self.log = log
        command = [sys.executable, "-m", "heyrender", "emulator", "--port", "0", *flags]
        if log is None:
            self.process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        else:
            with open(log, "w") as stderr:
                self.process = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=stderr, text=True
                )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"emulator did not start: {line!r}")
        self.url = line.rsplit(" ", 1)[1].strip()

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_emulator/stats", timeout=10) as answer:
            data: dict[str, Any] = json.loads(answer.read())
            return data

    def env(self, key: str = "test-key") -> dict[str, str]:
        return {**os.environ, "HEYGEN_API_BASE": self.url, "HEYGEN_API_KEY": key}

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode
