"""What the window asks the engine to run besides a backtest, as validated requests its forms are generated from.

A walk (`WalkerRequest`), a sweep (`SweepRequest` with its `SearchSettings` and `ExecutorSettings`), a download
of candle history (`DownloadRequest`) and a live start (`LiveStartRequest`): each field carries its title and
description (DESIGN.md §3.7) and every message names the field and the value, so a form shows it next to the field.
`ws.BacktestRequest` is the backtest's; `ws.PaperTradingRequest` paper trading's.
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from workstation.account.settings import AccountSizing, FixedCostSizing, StartingBalance
from workstation.backtest_request import (
    BacktestRequest,
    FirstTick,
    LastTick,
    check_exchange_name,
    end_after_start,
    strategy_among,
    strategy_choices,
    strategy_params_model,
    utc_whole_minute,
)
from workstation.config import get_config
from workstation.schemas.walker import WalkerMetric
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS

_DAY_MS = 86_400_000
#: The figure a walk or a sweep ranks its runs by, highest first.
RankBy = Annotated[WalkerMetric, Field(title="Rank by")]
_DASK_ADDRESS = re.compile(r"tcp://[^\s:/]+:[0-9]{1,5}")


def split_symbols(text: str) -> list[str]:
    """Return the comma separated symbols of ``text``, trimmed, without repeats, in the order given."""
    return list(dict.fromkeys(symbol.strip() for symbol in text.split(",") if symbol.strip()))


def sweepable_strategies() -> list[str]:
    """Return the strategies a sweep can vary: the built-in ones, which have a parameter model."""
    return [name for name in strategy_choices() if strategy_params_model(name) is not None]


class _MarketAndPeriod(BaseModel):
    """Checks shared by the requests: a known exchange, a symbol, a UTC period on whole minutes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("exchange_name", check_fields=False)
    @classmethod
    def _known_exchange(cls, exchange_name: str) -> str:
        return check_exchange_name(exchange_name)

    @field_validator("symbol", check_fields=False)
    @classmethod
    def _symbol_given(cls, symbol: str) -> str:
        if not symbol.strip():
            raise ValueError("enter a symbol, e.g. BTCUSDT")
        return symbol.strip()

    _start_and_end_on_minutes = field_validator("start", "end", check_fields=False)(utc_whole_minute)
    _end_after_the_start = field_validator("end", check_fields=False)(end_after_start)


#: The account of each backtest a walk or a sweep runs, as a backtest request has it.
StartingBalanceField = Annotated[
    StartingBalance,
    Field(title="Starting balance", description="Money in each run's account at the start, in the quote currency."),
]
SizingField = Annotated[
    AccountSizing,
    Field(
        default_factory=FixedCostSizing,
        title="Sizing",
        description="Money put into each position: the position cost, a share of the equity, or the equity risked "
        "at the stop loss.",
    ),
]


class WalkerRequest(_MarketAndPeriod):
    """Strategies compared on one symbol, exchange and period, ranked by one metric."""

    exchange_name: str = Field("demo", title="Exchange", description="Where the candles come from.")
    symbol: str = Field("BTCUSDT", title="Symbol", description="The market every strategy trades.")
    start: FirstTick
    end: LastTick
    metric: RankBy = Field("sharpe_ratio", description="The strategies are ranked by this figure, highest first.")
    starting_balance: StartingBalanceField = 10_000.0
    sizing: SizingField


class SweepRequest(_MarketAndPeriod):
    """A built-in strategy swept over a grid of its parameters on one symbol, exchange and period."""

    strategy_name: str = Field(
        "sma-cross-market", title="Strategy", description="A built-in strategy: its parameters make the grid."
    )
    exchange_name: str = Field("demo", title="Exchange", description="Where the candles come from.")
    symbol: str = Field("BTCUSDT", title="Symbol", description="The market every job trades.")
    start: FirstTick
    end: LastTick
    metric: RankBy = Field("sharpe_ratio", description="The parameter sets are ranked by this figure, highest first.")
    starting_balance: StartingBalanceField = 10_000.0
    sizing: SizingField

    @field_validator("strategy_name")
    @classmethod
    def _sweepable(cls, strategy_name: str) -> str:
        known = sweepable_strategies()
        return strategy_among(strategy_name, known, f"has no parameters to sweep; choose one of {', '.join(known)}")


class SearchSettings(BaseModel):
    """Which parameter sets a sweep runs, and whether it walks forward."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: Literal["grid", "random"] = Field(
        "grid", title="Search", description="grid: every parameter set; random: some sets drawn from the grid."
    )
    n_samples: int = Field(100, ge=1, title="Samples", description="How many parameter sets a random search draws.")
    seed: int = Field(0, ge=0, title="Seed", description="The same seed draws the same sets.")
    walk_forward: bool = Field(
        False,
        title="Walk forward",
        description="Sweep each training window, then test its best parameters on the period after it.",
    )
    train_days: float = Field(3.0, title="Train (days)", description="Length of each training window.")
    test_days: float = Field(1.0, title="Test (days)", description="Length of the test period after each window.")
    step_days: float = Field(1.0, title="Step (days)", description="How far each window moves on from the last.")

    @field_validator("train_days", "test_days", "step_days")
    @classmethod
    def _whole_minutes(cls, days: float, info: ValidationInfo) -> float:
        if not math.isfinite(days) or days <= 0:
            raise ValueError(f"{info.field_name} must be a positive number of days, got {days!r}")
        if round(days * _DAY_MS) % MINUTE_MS:
            raise ValueError(f"{info.field_name} must be a whole number of minutes, got {days!r} days")
        return days


def walk_forward_windows(start: datetime, end: datetime, search: SearchSettings) -> int:
    """Return how many walk-forward windows fit the period from ``start`` to ``end`` (ticks once a minute).

    Window ``k`` trains from ``start + k·step`` for ``train_days`` and tests for ``test_days`` after that; a window
    whose test period would pass ``end`` is not run (the engine's own rule).
    """
    first = round(start.timestamp() * 1000)
    last = round(end.timestamp() * 1000)
    span = round((search.train_days + search.test_days) * _DAY_MS) - MINUTE_MS
    slide = round(search.step_days * _DAY_MS)
    if first + span > last:
        return 0
    return (last - first - span) // slide + 1


class ExecutorSettings(BaseModel):
    """Where a sweep's jobs run: processes on this computer, or the workers of a dask scheduler."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["local", "dask"] = Field(
        "local", title="Run on", description="local: processes on this computer; dask: a dask scheduler's workers."
    )
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        title="Processes",
        description="How many local worker processes run jobs side by side.",
    )
    address: str = Field(
        "tcp://127.0.0.1:8786", title="Scheduler", description="The dask scheduler's address, tcp://host:port."
    )

    @field_validator("address")
    @classmethod
    def _dask_address(cls, address: str, info: ValidationInfo) -> str:
        address = address.strip()
        if info.data.get("kind") == "dask" and not _DASK_ADDRESS.fullmatch(address):
            raise ValueError(f"the scheduler address must look like tcp://host:port, got {address!r}")
        return address


class DownloadRequest(BaseModel):
    """What to download: an exchange, its symbols (comma separated), an interval and a UTC period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_name: str = Field(title="Exchange", description="A ccxt exchange to download from.")
    symbols: str = Field(
        title="Symbols", description="Comma separated, as the exchange names them, e.g. BTC/USDT, ETH/USDT."
    )
    interval: str = Field("1m", title="Interval", description="The candle interval to download.")
    start: AwareDatetime = Field(title="Start (UTC)", description="The first candle's open time.")
    end: AwareDatetime = Field(title="End (UTC)", description="Candles open before this time; cut at now.")

    @field_validator("exchange_name")
    @classmethod
    def _exchange_named(cls, exchange_name: str) -> str:
        if not exchange_name.strip():
            raise ValueError("choose an exchange")
        return exchange_name.strip()

    @field_validator("symbols")
    @classmethod
    def _symbols_given(cls, symbols: str) -> str:
        if not split_symbols(symbols):
            raise ValueError("enter at least one symbol, e.g. BTC/USDT")
        return symbols

    @field_validator("interval")
    @classmethod
    def _known_interval(cls, interval: str) -> str:
        if interval not in CANDLE_INTERVAL_MINUTES:
            raise ValueError(f"interval {interval!r} is not one of {', '.join(CANDLE_INTERVAL_MINUTES)}")
        return interval

    @model_validator(mode="after")
    def _end_after_start(self) -> Self:
        if self.end <= self.start:
            raise ValueError("the end must be after the start")
        return self

    def symbol_list(self) -> list[str]:
        """Return the symbols, trimmed, without repeats, in the order given."""
        return split_symbols(self.symbols)

    @property
    def start_ms(self) -> int:
        """The start in epoch milliseconds."""
        return round(self.start.timestamp() * 1000)

    @property
    def end_ms(self) -> int:
        """The end in epoch milliseconds."""
        return round(self.end.timestamp() * 1000)


#: Where a live run's orders go: ``paper`` fills them in a simulated account, ``exchange`` sends them to the exchange.
LiveOrders = Literal["paper", "exchange"]

#: Hosts a local exchange (``workstation --demo-exchange-server``) may be reached at: this computer only.
LOCAL_HOSTS = ("127.0.0.1", "localhost")


class LiveStartRequest(BaseModel):
    """A strategy to run live: on which symbol and exchange, and where its orders go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_name: str = Field(min_length=1, title="Strategy")
    symbol: str = Field(min_length=1, title="Symbol", description="As the exchange writes it, e.g. BTC/USDT")
    exchange_name: str = Field(min_length=1, title="Exchange")
    orders: LiveOrders = Field(
        "paper",
        title="Orders",
        description="paper: filled on the exchange's candles in a paper account of 10,000 of the quote asset, no "
        "money moves; exchange: sent to your account on the exchange (API key from the OS keyring)",
    )
    sandbox: bool = Field(
        False,
        title="Testnet",
        description="Send the orders to the exchange's testnet (sandbox) account instead: no real money",
    )
    api_url: str = Field(
        "",
        title="Local exchange",
        description="Send the orders, and read the candles, at a local exchange speaking the exchange's API, e.g. "
        "http://127.0.0.1:8765 of workstation --demo-exchange-server; empty: the exchange itself",
    )

    @field_validator("symbol")
    @classmethod
    def _no_blank(cls, symbol: str) -> str:
        if not symbol.strip():
            raise ValueError(f"symbol must not be blank, got {symbol!r}")
        return symbol.strip()

    @field_validator("orders")
    @classmethod
    def _an_exchange_account(cls, orders: LiveOrders, info: ValidationInfo) -> LiveOrders:
        exchange_name = str(info.data.get("exchange_name", ""))
        if orders == "exchange" and (exchange_name == "demo" or exchange_name.startswith(("paper-", "stored-"))):
            raise ValueError(
                f"orders 'exchange' go to an account on a ccxt exchange (binance, kraken, ...); exchange_name "
                f"{exchange_name!r} has none: choose orders 'paper'"
            )
        return orders

    @field_validator("sandbox")
    @classmethod
    def _sandbox_takes_orders(cls, sandbox: bool, info: ValidationInfo) -> bool:
        if sandbox and info.data.get("orders") == "paper":
            raise ValueError("sandbox is the exchange's testnet for orders 'exchange'; paper orders never leave here")
        return sandbox

    @field_validator("api_url")
    @classmethod
    def _local_exchange(cls, api_url: str, info: ValidationInfo) -> str:
        api_url = api_url.strip()
        if not api_url:
            return ""
        where = urlsplit(api_url)
        try:
            where.port  # noqa: B018 (a port that is no number raises here)
        except ValueError:
            where = urlsplit("")
        if where.scheme not in ("http", "https") or where.hostname not in LOCAL_HOSTS or where.path not in ("", "/"):
            raise ValueError(
                f"api_url must be a local exchange on this computer, http://127.0.0.1:<port> or "
                f"http://localhost:<port>, got {api_url!r}"
            )
        if info.data.get("orders") == "paper":
            raise ValueError(f"api_url {api_url!r} is where orders 'exchange' go; paper orders never leave here")
        if info.data.get("sandbox"):
            raise ValueError(f"api_url {api_url!r} and sandbox both say where the orders go: choose one")
        return api_url.rstrip("/")


def comparison_backtest(
    market: WalkerRequest | SweepRequest,
    strategy_name: str,
    *,
    params: dict[str, Any] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> BacktestRequest:
    """Return the backtest of one strategy as a walk or a sweep of ``market`` runs it: the current config's costs.

    The backtest has the walk's or the sweep's account (starting balance and sizing).

    Parameters
    ----------
    market
        The walk's or the sweep's exchange, symbol and period.
    strategy_name
        The strategy (a built-in one, or one registered by a strategy file).
    params
        Parameters of a built-in strategy (a sweep's parameter set).
    start, end
        Another period (a walk-forward window's test), by default the market's.

    Raises
    ------
    pydantic.ValidationError
        If the parameters do not fit the strategy (a grid cell the strategy refuses), naming the field.
    """
    config = get_config()
    return BacktestRequest(
        exchange_name=market.exchange_name,
        symbol=market.symbol,
        strategy_name=strategy_name,
        start=start or market.start,
        end=end or market.end,
        percent_fee=float(config.percent_fee),
        percent_slippage=float(config.percent_slippage),
        position_entry_cost=float(config.position_entry_cost),
        starting_balance=market.starting_balance,
        sizing=market.sizing,
        params=dict(params or {}),
    )
