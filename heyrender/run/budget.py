"""Spend guards for apply: refuse to start over a limit, stop submitting when one is reached.

A row with unknown duration (it speaks an audio file) is charged at its most, HeyGen's
10-minute audio limit, so the guard never lets an unknown row through as free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from heyrender.campaign.cost import Estimate, RowCost, money
from heyrender.errors import OverBudget
from heyrender.wording import counted

T = TypeVar("T")


def check_balance(estimate: Estimate, available_usd: float | None, *, source: str) -> None:
    """Refuses when the estimate is above what the account can spend (None: not known in USD)."""
    if available_usd is None or estimate.usd <= available_usd:
        return
    raise OverBudget(
        f"the estimate ({money(estimate.usd)}) is above the account's {source} "
        f"({money(available_usd)}); nothing was submitted",
        hint="add funds, or submit fewer rows with --limit",
    )


@dataclass
class Budget:
    """--max-cost: the estimated spend of what this apply has submitted, against a limit."""

    limit_usd: float
    spent_usd: float = 0.0
    refused: int = 0

    def check_start(self, estimate: Estimate) -> None:
        """Refuses to start when the estimate alone is above the limit."""
        if estimate.usd > self.limit_usd:
            raise OverBudget(
                f"the estimate ({money(estimate.usd)} for {counted(estimate.rows, 'video')}) "
                "is above "
                f"--max-cost {money(self.limit_usd)}; nothing was submitted",
                hint="raise --max-cost, or submit fewer rows with --limit",
            )

    def admit(self, cost: RowCost | None) -> bool:
        """Whether one more row fits; charges it if so. Once one is refused, all later are."""
        charge = cost.usd_max if cost is not None else 0.0
        if self.refused or self.spent_usd + charge > self.limit_usd + 1e-9:
            self.refused += 1
            return False
        self.spent_usd += charge
        return True

    def gate(self, items: Iterable[T], cost_of: Callable[[T], RowCost | None]) -> Iterator[T]:
        """The items while they fit; stops at the first that does not (lazily, as submitted)."""
        for item in items:
            if not self.admit(cost_of(item)):
                return
            yield item

    def stop_reason(self, remaining: int) -> str:
        """What apply prints when it stopped submitting; remaining counts the rows not sent."""
        return (
            f"--max-cost {money(self.limit_usd)} reached: {money(self.spent_usd)} estimated for "
            f"what was submitted; {counted(remaining, 'row')} left"
        )
