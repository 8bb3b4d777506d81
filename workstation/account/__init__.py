"""A run's account: starting balance, position sizing, and the run's figures in money (issue 15)."""

from workstation.account.ledger import RunAccount
from workstation.account.report import AccountReport, AccountTrade, EquityPoint
from workstation.account.settings import (
    AccountSettings,
    AccountSizing,
    EquityShareSizing,
    FixedCostSizing,
    RiskSizing,
)

__all__ = [
    "AccountReport",
    "AccountSettings",
    "AccountSizing",
    "AccountTrade",
    "EquityPoint",
    "EquityShareSizing",
    "FixedCostSizing",
    "RiskSizing",
    "RunAccount",
]
