"""Small hand-made accounts (``ws.AccountReport``) for the views of money."""

from __future__ import annotations

import workstation as ws

T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z
MINUTE = 60_000


def account(starting_balance: float, values: list[tuple[int, float]], **figures: float) -> ws.AccountReport:
    """An account whose equity curve is ``values`` (minutes from T0, equity); figures not given are 0 or None."""
    curve = tuple(ws.EquityPoint(timestamp=T0 + minute * MINUTE, value=value) for minute, value in values)
    final = values[-1][1]
    return ws.AccountReport(
        starting_balance=starting_balance,
        final_equity=final,
        net_profit=final - starting_balance,
        return_percent=(final / starting_balance - 1) * 100,
        max_drawdown_percent=figures.get("max_drawdown_percent", 0.0),
        max_drawdown_money=figures.get("max_drawdown_money", 0.0),
        cagr_percent=None,
        exposure_percent=figures.get("exposure_percent", 0.0),
        fees_paid=figures.get("fees_paid", 0.0),
        sharpe_ratio=None,
        sortino_ratio=None,
        longest_drawdown_days=0.0,
        equity_spent_at=None,
        trades=(),
        balance_curve=curve,
        equity_curve=curve,
    )
