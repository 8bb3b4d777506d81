"""Engine configuration: one frozen, validated model; every run takes a snapshot when it starts."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

MINUTES_PER_YEAR = 365 * 1440

#: A number of minutes, at most a year.
Minutes = Annotated[int, Field(le=MINUTES_PER_YEAR)]
#: A cost of each side of a trade, in percent (fee, slippage): 10 % at the most.
CostPercent = Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]
#: The money put into a position. Below a cent, cost / (cost / price) of the PnL formula underflows to a division by
#: zero.
PositionCost = Annotated[float, Field(ge=0.01, le=1e12, allow_inf_nan=False)]


class Config(BaseModel):
    """Global engine settings (SPEC §1). Strictly typed: ``"0.2"`` is not a float.

    Every field is bounded on both sides to the values the engine works with: a tick shorter than a second, a fee
    above 10 % or a million-candle request is refused with the field and the value named, instead of failing (or
    exhausting memory) at run time. A minimum stop-loss distance above the maximum is refused on both fields.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    schedule_await_minutes: Minutes = Field(
        120, title="Limit order wait (min)", ge=1, description="How long a limit order may wait for its fill."
    )
    avg_price_candles_count: int = Field(
        5, title="VWAP candles", ge=1, le=1440, description="Number of 1m candles in a VWAP."
    )
    percent_fee: CostPercent = Field(0.1, title="Fee per side (%)", description="Fee per side, in percent.")
    percent_slippage: CostPercent = Field(
        0.1, title="Slippage per side (%)", description="Adverse slippage per side, in percent."
    )
    position_entry_cost: PositionCost = Field(100.0, title="Position cost", description="Money put into each position.")
    min_takeprofit_distance_percent: float = Field(
        0.5,
        title="Min take-profit distance (%)",
        allow_inf_nan=False,
        ge=0,
        le=100,
        description="Minimum TP distance; 0 disables.",
    )
    min_stoploss_distance_percent: float = Field(
        0.5,
        title="Min stop-loss distance (%)",
        allow_inf_nan=False,
        ge=0,
        le=100,
        description="Minimum SL distance; 0 disables.",
    )
    max_stoploss_distance_percent: float = Field(
        20.0,
        title="Max stop-loss distance (%)",
        allow_inf_nan=False,
        ge=0,
        le=100,
        description="Maximum SL distance, at least the minimum; 0 disables.",
    )
    max_signal_lifetime_minutes: Minutes = Field(
        1440, title="Max signal lifetime (min)", ge=0, description="Maximum minute_estimated_time; 0 disables."
    )
    max_signal_generation_seconds: float = Field(
        180.0,
        title="get_signal timeout (s)",
        allow_inf_nan=False,
        gt=0,
        le=3600,
        description="Timeout of one async get_signal call.",
    )
    get_candles_retry_count: int = Field(
        3, title="Candle request attempts", ge=1, le=20, description="Total attempts of one exchange request."
    )
    get_candles_retry_delay_ms: int = Field(
        5000, title="Delay between attempts (ms)", ge=0, le=600_000, description="Sleep between two attempts."
    )
    max_candles_per_request: int = Field(
        1000, title="Max candles per request", ge=1, le=10_000, description="Largest limit passed to get_candles."
    )
    # At 1 or below, the reference price itself is under the threshold: every page would be an anomaly.
    price_anomaly_threshold_factor: float = Field(
        1000.0,
        title="Price anomaly factor",
        allow_inf_nan=False,
        gt=1,
        le=1e6,
        description="Price below reference/factor is bad.",
    )
    min_candles_for_median: int = Field(
        5,
        title="Candles for a median reference",
        ge=1,
        le=10_000,
        description="From this many candles the reference is a median.",
    )
    live_tick_seconds: float = Field(
        60.0, title="Live tick (s)", allow_inf_nan=False, ge=1, le=86_400, description="Live tick period."
    )
    report_max_rows: int = Field(
        250, title="Report rows kept", ge=1, le=1_000_000, description="Rows kept per key for markdown tables."
    )
    performance_max_events: int = Field(
        10000,
        title="Performance events kept",
        ge=1,
        le=1_000_000,
        description="Performance events kept per key.",
    )
    walker_top_n: int = Field(
        10, title="Walker table rows", ge=1, le=1000, description="Rows of the walker comparison table."
    )
    # 19.5's CC_ORDER_*_RETRY_ATTEMPTS: what a live run with a broker tolerates before it gives up on an order.
    order_open_retry_attempts: int = Field(
        5,
        title="Open retries",
        ge=0,
        le=1000,
        description="Retries of an open the broker failed transiently (same signal id); 0: dropped at once.",
    )
    order_close_retry_attempts: int = Field(
        5,
        title="Close retries",
        ge=0,
        le=1000,
        description="Retries of a close the broker failed transiently, then force-closed; 0: retried forever.",
    )
    order_check_retry_attempts: int = Field(
        5,
        title="Order check failures tolerated",
        ge=0,
        le=1000,
        description="Failed order checks in a row tolerated before the order counts as gone; 0: none.",
    )

    @model_validator(mode="after")
    def _stop_loss_range(self) -> Self:
        """Refuse a minimum stop-loss distance above an enabled maximum, naming both fields and values.

        The fields are named as the settings dialog labels them (their titles): the message shows next to each.
        """
        low, high = self.min_stoploss_distance_percent, self.max_stoploss_distance_percent
        if high == 0 or low <= high:
            return self
        fields = type(self).model_fields
        values = {
            "minimum": low,
            "maximum": high,
            "min_label": fields["min_stoploss_distance_percent"].title,
            "max_label": fields["max_stoploss_distance_percent"].title,
        }
        raise ValidationError.from_exception_data(
            type(self).__name__,
            [
                InitErrorDetails(
                    type=PydanticCustomError(
                        "stoploss_range",
                        '"{min_label}" ({minimum}) must not exceed "{max_label}" ({maximum}); '
                        "a maximum of 0 disables it",
                        values,
                    ),
                    loc=("min_stoploss_distance_percent",),
                    input=low,
                ),
                InitErrorDetails(
                    type=PydanticCustomError(
                        "stoploss_range",
                        '"{max_label}" ({maximum}) must be 0 (no maximum) or at least "{min_label}" ({minimum})',
                        values,
                    ),
                    loc=("max_stoploss_distance_percent",),
                    input=high,
                ),
            ],
        )


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
