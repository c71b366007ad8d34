"""How heyrender writes to the terminal: the global --quiet and --no-color, as one value.

Quiet drops progress and info lines, never errors, warnings or a command's result or
final summary. Colour is off with --no-color or when NO_COLOR is set (https://no-color.org).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def reader_gone(exc: BaseException) -> bool:
    """The other end of our output pipe closed (`heyrender apply m.yaml | head`)."""
    return isinstance(exc, BrokenPipeError) or (
        isinstance(exc, OSError) and exc.errno == errno.EPIPE
    )


def silence_stdout() -> None:
    """stdout's reader went away: from now on stdout (and stderr, when it is the same pipe)
    goes to /dev/null, so no later write, nor Python's flush at exit, raises again."""
    try:
        out, err = sys.stdout.fileno(), sys.stderr.fileno()
        same = os.path.sameopenfile(out, err)
    except (OSError, ValueError, AttributeError):
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out)
        if same:
            os.dup2(devnull, err)
        os.close(devnull)
    except OSError:
        pass


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
