"""The account's balance as apply reads and shows it before asking.

A balance that cannot be read never blocks a run: v2 has no balance call, and a failed or
slow `GET /v3/users/me` is reported and skipped. That is safe because HeyGen itself refuses
a create the account cannot pay for; apply then stops submitting with the rest recorded.
An auth failure is the exception: every create would fail too, so it stops apply at once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from heyrender.api.provider import Balance, BillingType, Provider
from heyrender.campaign.cost import money
from heyrender.errors import AuthError, HeyrenderError

READ_TIMEOUT = 30.0  # seconds; the client's own retries run inside it


@dataclass(frozen=True)
class Reading:
    """A balance, or why there is none."""

    balance: Balance | None
    problem: str | None = None

    @property
    def available_usd(self) -> float | None:
        return self.balance.remaining_usd if self.balance is not None else None

    @property
    def source(self) -> str:
        """What the USD figure is, for a refusal: 'wallet balance', 'remaining spending cap'."""
        if self.balance is not None and self.balance.billing_type is BillingType.USAGE_BASED:
            return "remaining spending cap"
        return "wallet balance"

    def describe(self) -> str:
        """'Balance: $12.00 (wallet).', or why it is not compared with the estimate."""
        balance = self.balance
        if balance is None:
            return f"Balance: not checked ({self.problem or 'unknown'})."
        usd = balance.remaining_usd
        kind = balance.billing_type
        if kind is BillingType.WALLET and usd is not None:
            return f"Balance: {money(usd)} (wallet)."
        if kind is BillingType.USAGE_BASED and usd is not None:
            cap = money(balance.spending_cap_usd or 0.0)
            return f"Balance: {money(usd)} left of the {cap} spending cap (usage-based)."
        credits = (
            balance.remaining_balance if kind is BillingType.WALLET else balance.remaining_credits
        )
        held = f"{credits:,.0f} credits" if credits is not None else "no figure given"
        return f"Balance: {held} ({kind.value.replace('_', '-')}; not compared with USD)."


async def read_balance(provider: Provider, timeout: float = READ_TIMEOUT) -> Reading:
    """The account's balance; a failure other than auth becomes a Reading with a problem.

    An auth failure raises: every create would be refused too."""
    try:
        async with asyncio.timeout(timeout):
            balance = await provider.balance()
    except AuthError as exc:
        raise HeyrenderError(
            f"stopped: {exc}; nothing was submitted", hint="check HEYGEN_API_KEY"
        ) from None
    except TimeoutError:
        return Reading(None, f"HeyGen did not answer the balance request within {timeout:g}s")
    except HeyrenderError as exc:
        return Reading(None, f"it could not be read: {exc}")
    if balance is None:
        return Reading(None, f"API {provider.api.value} has no balance call")
    return Reading(balance)
