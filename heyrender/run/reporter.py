"""What the run layer tells the person at the screen, and asks them; commands/ implements it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from heyrender.run.plan import Plan


class Reporter(Protocol):
    def say(self, line: str) -> None:
        """A line the user must see (problems, what was left undone, the summary)."""

    def info(self, line: str) -> None:
        """A line of the run's story (what it does next); --quiet drops it."""

    def show_plan(self, plan: Plan, title: str) -> None:
        """The plan, before anything is submitted."""

    def event(self, key: str, what: str) -> None:
        """Something happened to one row (or to the account, key 'account')."""

    def approve(self, count: int) -> None:
        """Raises unless the user approves submitting `count` videos."""

    def watching(
        self, counts: Callable[[], Counter[str]], total: int, done_before: int
    ) -> AbstractContextManager[object]:
        """The live view while the reconciler runs."""
