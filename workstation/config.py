"""Engine configuration: one frozen, validated model; every run takes a snapshot when it starts."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Config(BaseModel):
    """Global engine settings (SPEC §1). Strictly typed: ``"0.2"`` is not a float."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    schedule_await_minutes: int = Field(
        120, title="Limit order wait (min)", ge=1, description="How long a limit order may wait for its fill."
    )
    avg_price_candles_count: int = Field(5, title="VWAP candles", ge=1, description="Number of 1m candles in a VWAP.")
    percent_fee: float = Field(
        0.1, title="Fee per side (%)", allow_inf_nan=False, ge=0, description="Fee per side, in percent."
    )
    percent_slippage: float = Field(
        0.1,
        title="Slippage per side (%)",
        allow_inf_nan=False,
        ge=0,
        description="Adverse slippage per side, in percent.",
    )
    position_entry_cost: float = Field(
        100.0, title="Position cost", allow_inf_nan=False, gt=0, description="Money put into each position."
    )
    min_takeprofit_distance_percent: float = Field(
        0.5,
        title="Min take-profit distance (%)",
        allow_inf_nan=False,
        ge=0,
        description="Minimum TP distance; 0 disables.",
    )
    min_stoploss_distance_percent: float = Field(
        0.5,
        title="Min stop-loss distance (%)",
        allow_inf_nan=False,
        ge=0,
        description="Minimum SL distance; 0 disables.",
    )
    max_stoploss_distance_percent: float = Field(
        20.0,
        title="Max stop-loss distance (%)",
        allow_inf_nan=False,
        ge=0,
        description="Maximum SL distance; 0 disables.",
    )
    max_signal_lifetime_minutes: int = Field(
        1440, title="Max signal lifetime (min)", ge=0, description="Maximum minute_estimated_time; 0 disables."
    )
    max_signal_generation_seconds: float = Field(
        180.0,
        title="get_signal timeout (s)",
        allow_inf_nan=False,
        gt=0,
        description="Timeout of one async get_signal call.",
    )
    get_candles_retry_count: int = Field(
        3, title="Candle request attempts", ge=1, description="Total attempts of one exchange request."
    )
    get_candles_retry_delay_ms: int = Field(
        5000, title="Delay between attempts (ms)", ge=0, description="Sleep between two attempts."
    )
    max_candles_per_request: int = Field(
        1000, title="Max candles per request", ge=1, description="Largest limit passed to get_candles."
    )
    price_anomaly_threshold_factor: float = Field(
        1000.0,
        title="Price anomaly factor",
        allow_inf_nan=False,
        gt=0,
        description="Price below reference/factor is bad.",
    )
    min_candles_for_median: int = Field(
        5, title="Candles for a median reference", ge=1, description="From this many candles the reference is a median."
    )
    live_tick_seconds: float = Field(
        60.0, title="Live tick (s)", allow_inf_nan=False, gt=0, description="Live tick period."
    )
    report_max_rows: int = Field(
        250, title="Report rows kept", ge=1, description="Rows kept per key for markdown tables."
    )
    performance_max_events: int = Field(
        10000, title="Performance events kept", ge=1, description="Performance events kept per key."
    )
    walker_top_n: int = Field(10, title="Walker table rows", ge=1, description="Rows of the walker comparison table.")


_current = Config()


def get_config() -> Config:
    """Return the configuration in force."""
    return _current


def set_config(**fields: Any) -> Config:
    """Validate the current config updated with ``fields`` and make it current; on error nothing changes."""
    global _current
    _current = Config.model_validate({**_current.model_dump(), **fields})
    return _current


def reset_config() -> None:
    """Restore the default configuration."""
    global _current
    _current = Config()
