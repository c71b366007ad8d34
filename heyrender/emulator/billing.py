"""The emulated account's money: HeyGen's default prices, a balance each rendered second draws
down, and the three shapes of `GET /v3/users/me`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

DEFAULT_BALANCE_USD = 1_000_000.0

# USD per rendered second (API-NOTES.md, HeyGen's pricing page of May 2026).
PHOTO_AVATAR = {"standard": 0.05, "4k": 0.0667}
AVATAR = {"standard": 0.0667, "4k": 0.0833}


def price_per_second(kind: str, resolution: str) -> float:
    """kind is 'image' (a photo avatar, v3 `type: image`) or 'avatar'."""
    table = PHOTO_AVATAR if kind == "image" else AVATAR
    return table["4k" if resolution == "4k" else "standard"]


class BillingType(str, Enum):
    WALLET = "wallet"
    SUBSCRIPTION = "subscription"
    USAGE_BASED = "usage_based"


@dataclass
class Wallet:
    """A prepaid amount (or a spending cap) in USD.

    A create reserves its price, so the account never renders more than it can pay for; the
    reported balance falls as each video finishes rendering.
    """

    balance_usd: float = DEFAULT_BALANCE_USD
    billing_type: BillingType = BillingType.WALLET
    committed_usd: float = 0.0
    charges: list[tuple[float, float]] = field(default_factory=list)  # (finishes_at, usd)

    def available(self) -> float:
        return self.balance_usd - self.committed_usd

    def can_pay(self, usd: float) -> bool:
        return usd <= self.available() + 1e-9

    def charge(self, usd: float, finishes_at: float) -> None:
        self.committed_usd += usd
        self.charges.append((finishes_at, usd))

    def spent(self, now: float) -> float:
        return sum(usd for finishes_at, usd in self.charges if finishes_at <= now)

    def user(self, now: float) -> dict[str, Any]:
        """The `data` of `GET /v3/users/me`."""
        spent = self.spent(now)
        remaining = round(self.balance_usd - spent, 4)
        data: dict[str, Any] = {
            "username": "emulator",
            "email": "emulator@heyrender.invalid",
            "first_name": "Heyrender",
            "last_name": "Emulator",
            "billing_type": self.billing_type.value,
            "wallet": None,
            "subscription": None,
            "usage_based": None,
        }
        if self.billing_type is BillingType.WALLET:
            data["wallet"] = {
                "currency": "usd",
                "remaining_balance": remaining,
                "auto_reload": {"enabled": False, "amount_usd": None, "threshold_usd": None},
            }
        elif self.billing_type is BillingType.SUBSCRIPTION:
            data["subscription"] = {  # one premium credit per USD
                "plan": "pro",
                "credits": {
                    "premium_credits": {"remaining": int(remaining), "resets_at": None},
                    "add_on_credits": {"remaining": 0, "resets_at": None},
                },
            }
        else:
            data["usage_based"] = {
                "included_credits": None,
                "remaining_credits": None,
                "spending_cap_usd": self.balance_usd,
                "spending_current_usd": round(spent, 4),
            }
        return data
