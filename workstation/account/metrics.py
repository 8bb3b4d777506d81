"""The account figures a walk or a sweep ranks by (``AccountMetric``), read from a run's ``AccountReport``."""

from __future__ import annotations

import math
from typing import get_args

from workstation.account.report import AccountReport
from workstation.schemas.walker import AccountMetric

#: Every account metric, in the order the forms offer them.
ACCOUNT_METRICS: tuple[str, ...] = get_args(AccountMetric)

#: The account metrics where less is better: ranked by their value negated.
_LOWER_IS_BETTER = frozenset({"max_drawdown_percent"})


def account_figures_of(report: AccountReport) -> dict[str, float | None]:
    """Return each account metric's figure in ``report``, as the report has it (a drawdown is positive)."""
    return {
        "net_profit": report.net_profit,
        "return_percent": report.return_percent,
        "max_drawdown_percent": report.max_drawdown_percent,
        "daily_sharpe_ratio": report.sharpe_ratio,
    }


def ranking_value(metric: str, figure: float | None) -> float | None:
    """Return the value a run is ranked by (highest first) for ``metric``'s ``figure``; None if not finite.

    A figure where less is better (the max drawdown) is negated, so the smallest drawdown ranks first.
    """
    if figure is None or not math.isfinite(figure):
        return None
    return -figure if metric in _LOWER_IS_BETTER else figure
