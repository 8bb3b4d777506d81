"""Signal rows and results made up for tests: every field has a plausible default, so a test names only the fields
its behaviour depends on."""

from __future__ import annotations

from typing import Any

import numpy as np

import workstation as ws

OPENED_AT = 1_704_067_200_000  # 2024-01-01 00:00 UTC
WHERE = ("symbol", "exchange_name", "strategy_name", "frame_name")


def signal_row(
    signal_id: str = "sig-1",
    *,
    pending_at: int | None = OPENED_AT,
    scheduled_at: int | None = None,
    prices: tuple[float, float, float] = (42000.0, 42420.0, 41580.0),
    strategy_name: str = "one-shot",
    minute_estimated_time: int = 120,
) -> ws.SignalRow:
    """A long BTCUSDT position on "demo" opened at ``pending_at``, or with ``pending_at=None`` a limit order waiting
    since ``scheduled_at``; ``prices`` are its entry, take profit and stop loss."""
    scheduled = pending_at if scheduled_at is None else scheduled_at
    what = {"id": signal_id, "position": "long", "note": "", "minute_estimated_time": minute_estimated_time}
    levels = dict(zip(("price_open", "price_take_profit", "price_stop_loss"), prices, strict=True))
    where = {"symbol": "BTCUSDT", "exchange_name": "demo", "strategy_name": strategy_name, "frame_name": ""}
    when = {"scheduled_at": scheduled, "pending_at": pending_at, "is_scheduled": pending_at is None}
    return ws.SignalRow.model_validate(what | levels | where | when)


def result_fields(signal: ws.SignalRow, timestamp: int, price: float | None = None) -> dict[str, Any]:
    """The fields every backtest result of ``signal`` carries: where it runs, when and at what price (by default its
    entry) it is reported."""
    where = {name: getattr(signal, name) for name in WHERE}
    current_price = signal.price_open if price is None else price
    return where | {"backtest": True, "timestamp": timestamp, "current_price": current_price}


def closed_result(signal: ws.SignalRow, *, at: int, price: float, pnl: float) -> ws.ClosedResult:
    """``signal`` closed at ``at`` at ``price`` with a net PnL of ``pnl`` percent of a 100-unit position after 0.2 of
    fees: at its take profit when that is a gain, at its stop loss otherwise."""
    entry = signal.price_open
    money = ws.Pnl(
        pnl_percentage=pnl, pnl_cost=pnl, pnl_entries=100.0, price_open=entry, price_close=price, fee_cost=0.2
    )
    return ws.ClosedResult(
        **result_fields(signal, at, price),
        signal=signal,
        close_reason="take_profit" if pnl > 0 else "stop_loss",
        close_timestamp=at,
        pnl=money,
    )


def flat_candles(count: int, start: int) -> np.ndarray:
    """``count`` 1m candles from ``start`` that open and close at 100 between 99 and 101: a chart's price scale
    for factory signals whose marks are what the test reads."""
    rows = np.zeros(count, dtype=ws.CANDLE_DTYPE)
    rows["timestamp"] = start + np.arange(count) * 60_000
    rows["open"] = rows["close"] = 100.0
    rows["high"], rows["low"], rows["volume"] = 101.0, 99.0, 1.0
    return rows
