"""How heyrender writes to the terminal: the global --quiet and --no-color, as one value.

Quiet drops progress and info lines, never errors, warnings or a command's result or
final summary. Colour is off with --no-color or when NO_COLOR is set (https://no-color.org).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def ignore(line: str) -> None:
    """An echo that prints nothing: info lines under --quiet."""


@dataclass(frozen=True)
class OutputSettings:
    quiet: bool = False
    color: bool = True

    @classmethod
    def from_options(
        cls, *, quiet: bool, no_color: bool, environ: Mapping[str, str] | None = None
    ) -> OutputSettings:
        env = os.environ if environ is None else environ
        return cls(quiet=quiet, color=not no_color and not env.get("NO_COLOR"))

    def info(self, echo: Callable[[str], None]) -> Callable[[str], None]:
        """echo for progress and info lines: silent under --quiet."""
        return ignore if self.quiet else echo

    def console(self, file: TextIO) -> Console:
        """rich's Console for file; with colour on, rich still checks NO_COLOR itself."""
        from rich.console import Console  # rich loads only where a live display is shown

        return Console(file=file, no_color=True if not self.color else None, highlight=self.color)


DEFAULT_OUTPUT = OutputSettings()
