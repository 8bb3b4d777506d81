"""``StrategySchema``: a named ``get_signal`` with its interval, risk profiles, callbacks and indicators."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workstation.schemas.common import AnyCallable, CallbacksModel, Name, SchemaModel
from workstation.schemas.indicators import IndicatorSpec

SignalInterval = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d"]


class StrategyCallbacks(CallbacksModel):
    """Lifecycle callbacks of a strategy; each optional, sync or async.

    backtest-kit 19.5's signatures: every callback ends with ``when`` (aware UTC) and ``backtest``, e.g.
    ``on_partial_profit(symbol, signal, percent, current_price, when, backtest)``. The ``*_ping``,
    ``on_partial_*`` and ``on_breakeven`` callbacks make a backtest walk its positions candle by candle.
    """

    on_tick: AnyCallable | None = None
    on_open: AnyCallable | None = None
    on_active: AnyCallable | None = None
    on_idle: AnyCallable | None = None
    on_close: AnyCallable | None = None
    on_schedule: AnyCallable | None = None
    on_cancel: AnyCallable | None = None
    on_write: AnyCallable | None = None
    on_partial_profit: AnyCallable | None = None
    on_partial_loss: AnyCallable | None = None
    on_active_ping: AnyCallable | None = None
    on_schedule_ping: AnyCallable | None = None
    on_breakeven: AnyCallable | None = None


class StrategySchema(SchemaModel):
    """A strategy: ``get_signal(symbol, when)`` called at most once per ``interval`` bucket while flat.

    ``indicators`` declares what the strategy computes, for the charts to draw (`IndicatorSpec`).
    """

    strategy_name: Name
    interval: SignalInterval
    get_signal: AnyCallable
    risk_name: Name | None = None
    risk_list: list[Name] = Field(default_factory=list)
    callbacks: StrategyCallbacks = Field(default_factory=StrategyCallbacks)
    note: str = ""
    indicators: IndicatorSpec | None = None
