"""What the comparison views ask for, as validated models their forms are generated from (DESIGN.md §3.7).

Every message names the field and the value, and shows next to the field in the form.
"""

from __future__ import annotations

import math
import os
import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

import workstation as ws
from ui.compare.common import Metric

#: Milliseconds of a minute: periods and walk-forward spans are whole minutes (the frames tick once a minute).
MINUTE_MS = 60_000
_DAY_MS = 86_400_000
_DASK_ADDRESS = re.compile(r"tcp://[^\s:/]+:[0-9]{1,5}")


def split_symbols(text: str) -> list[str]:
    """Return the comma separated symbols of ``text``, trimmed, without repeats, in the order given."""
    symbols: list[str] = []
    for part in text.split(","):
        symbol = part.strip()
        if symbol and symbol not in symbols:
            symbols.append(symbol)
    return symbols


class _MarketAndPeriod(BaseModel):
    """Checks shared by the requests: a known exchange, a symbol, a UTC period on whole minutes."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("exchange_name", check_fields=False)
    @classmethod
    def _known_exchange(cls, exchange_name: str) -> str:
        return ws.check_exchange_name(exchange_name)

    @field_validator("symbol", check_fields=False)
    @classmethod
    def _symbol_given(cls, symbol: str) -> str:
        if not symbol.strip():
            raise ValueError("enter a symbol, e.g. BTCUSDT")
        return symbol.strip()

    @field_validator("start", "end", check_fields=False)
    @classmethod
    def _utc_whole_minute(cls, moment: datetime, info: ValidationInfo) -> datetime:
        moment = moment.astimezone(UTC)
        if moment.second or moment.microsecond:
            raise ValueError(f"{info.field_name} must be on a whole minute, got {moment.isoformat()}")
        return moment

    @field_validator("end", check_fields=False)
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise ValueError(f"end must be after start ({start:%Y-%m-%d %H:%M} UTC), got {end:%Y-%m-%d %H:%M} UTC")
        return end


class WalkerRequest(_MarketAndPeriod):
    """Strategies compared on one symbol, exchange and period, ranked by one metric."""

    exchange_name: str = Field("demo", title="Exchange", description="Where the candles come from.")
    symbol: str = Field("BTCUSDT", title="Symbol", description="The market every strategy trades.")
    start: AwareDatetime = Field(title="Start (UTC)", description="The first tick, on a whole minute.")
    end: AwareDatetime = Field(title="End (UTC)", description="The last tick, on a whole minute, after the start.")
    metric: Metric = Field(
        "sharpe_ratio", title="Rank by", description="The strategies are ranked by this figure, highest first."
    )


class SweepRequest(_MarketAndPeriod):
    """A built-in strategy swept over a grid of its parameters on one symbol, exchange and period."""

    strategy_name: str = Field(
        "sma-cross-market", title="Strategy", description="A built-in strategy: its parameters make the grid."
    )
    exchange_name: str = Field("demo", title="Exchange", description="Where the candles come from.")
    symbol: str = Field("BTCUSDT", title="Symbol", description="The market every job trades.")
    start: AwareDatetime = Field(title="Start (UTC)", description="The first tick, on a whole minute.")
    end: AwareDatetime = Field(title="End (UTC)", description="The last tick, on a whole minute, after the start.")
    metric: Metric = Field(
        "sharpe_ratio", title="Rank by", description="The parameter sets are ranked by this figure, highest first."
    )

    @field_validator("strategy_name")
    @classmethod
    def _sweepable(cls, strategy_name: str) -> str:
        known = sweepable_strategies()
        if strategy_name not in known:
            raise ValueError(f'strategy "{strategy_name}" has no parameters to sweep; choose one of {", ".join(known)}')
        return strategy_name


def sweepable_strategies() -> list[str]:
    """Return the strategies a sweep can vary: the built-in ones, which have a parameter model."""
    return [name for name in ws.strategy_choices() if ws.strategy_params_model(name) is not None]


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
