"""Strategy-side helpers (SPEC §3.2): valid inside ``get_signal`` and, as in backtest-kit 19.5, strategy callbacks."""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Literal

import numpy as np

from workstation.context import execution_context, helpers_enabled, method_context, require_helper_context
from workstation.services.connections import exchange_connections
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, from_ms


async def get_candles(symbol: str, interval: str, limit: int) -> np.ndarray:
    """Return the ``limit`` most recent closed candles of ``interval`` (``CANDLE_DTYPE``), oldest first."""
    # `require_helper_context`, inline: a strategy asks at every call, tens of thousands of times a run.
    method, execution = method_context.get(), execution_context.get()
    if method is None or execution is None or not helpers_enabled.get():
        method, execution = require_helper_context("get_candles")
    if interval not in CANDLE_INTERVAL_MINUTES:
        raise ValueError(f"interval must be one of {', '.join(CANDLE_INTERVAL_MINUTES)}, got {interval!r}")
    if type(limit) is int and limit > 0:
        count = limit
    else:
        try:
            count = operator.index(limit)  # numpy integers from a parameter grid are fine; floats and bools are not
        except TypeError:
            count = 0
        if isinstance(limit, bool) or count < 1:
            raise ValueError(f"limit must be a positive int, got {limit!r}")
    exchange = exchange_connections.for_run(method.exchange_name, execution.backtest)
    # Most windows are in the candles last read: served without a coroutine of the exchange's.
    window = exchange.cached_candles(symbol, interval, count, execution.when)
    if window is not None:
        return window
    return await exchange.get_candles(symbol, interval, count, execution.when, method.config)


async def get_average_price(symbol: str) -> float:
    """Return the current price: the VWAP of the last ``avg_price_candles_count`` closed 1m candles."""
    method, execution = method_context.get(), execution_context.get()
    if method is None or execution is None or not helpers_enabled.get():
        method, execution = require_helper_context("get_average_price")
    exchange = exchange_connections.for_run(method.exchange_name, execution.backtest)
    # Most calls are answered from the candles last read, without a coroutine of the exchange's.
    price = exchange.cached_average_price(symbol, execution.when, method.config)
    return price if price is not None else await exchange.get_average_price(symbol, execution.when, method.config)


def get_date() -> datetime:
    """Return the tick time as an aware UTC datetime."""
    _, execution = require_helper_context("get_date")
    return from_ms(execution.when)


def get_mode() -> Literal["backtest", "live"]:
    """Return ``"backtest"`` or ``"live"``."""
    _, execution = require_helper_context("get_mode")
    return "backtest" if execution.backtest else "live"


async def format_price(symbol: str, price: float) -> str:
    """Format a price with the run's exchange formatter."""
    method, execution = require_helper_context("format_price")
    return await exchange_connections.for_run(method.exchange_name, execution.backtest).format_price(symbol, price)


async def format_quantity(symbol: str, quantity: float) -> str:
    """Format a quantity with the run's exchange formatter."""
    method, execution = require_helper_context("format_quantity")
    exchange = exchange_connections.for_run(method.exchange_name, execution.backtest)
    return await exchange.format_quantity(symbol, quantity)
