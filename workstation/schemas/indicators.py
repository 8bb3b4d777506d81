"""What a strategy computes for the chart: its indicator lines, each with a pane, guide levels and a colour."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from workstation.schemas.common import AnyCallable, SchemaModel

#: The pane of the candles: a line there is drawn over them, on the price scale.
PRICE_PANE = "price"

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _check_label(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _check_colour(value: str | None) -> str | None:
    if value is not None and not _COLOUR.match(value):
        raise ValueError(f"colour must be #rrggbb, got {value!r}")
    return value


#: A line's or a pane's name as the trader reads it on the chart.
Label = Annotated[str, Field(strict=True, max_length=60), AfterValidator(_check_label)]


class IndicatorLine(SchemaModel):
    """One line of a strategy's indicators.

    ``pane`` is ``"price"`` for a line over the candles (a moving average, a channel), or the name of a pane of its
    own below them, shared by the lines that name it (``"RSI"``). ``levels`` are guide levels drawn dashed across
    that pane (RSI 30 and 70). ``color`` (``#rrggbb``) fixes the line's colour; None lets the chart pick one that
    suits its theme.
    """

    name: Label
    pane: Label = PRICE_PANE
    levels: tuple[float, ...] = ()
    color: Annotated[str | None, AfterValidator(_check_colour)] = None

    @field_validator("levels")
    @classmethod
    def _finite_levels(cls, levels: tuple[float, ...]) -> tuple[float, ...]:
        for level in levels:
            if not math.isfinite(level):
                raise ValueError(f"levels must be finite numbers, got {level}")
        return levels


class IndicatorSpec(SchemaModel):
    """The indicators a strategy declares: ``compute(candles)`` and the lines it returns.

    ``compute`` takes the 1m candles (a read-only ``ws.CANDLE_DTYPE`` array, oldest first) and returns a dict
    keyed by line name, each value a float64 numpy array of the candles' length (NaN where the indicator has no
    value yet). It runs with the parameters the strategy was built with, so a run's chart shows what its signals
    were decided on.
    """

    compute: AnyCallable
    lines: tuple[IndicatorLine, ...] = Field(min_length=1)

    @field_validator("lines")
    @classmethod
    def _unique_names(cls, lines: tuple[IndicatorLine, ...]) -> tuple[IndicatorLine, ...]:
        names = [line.name for line in lines]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"line names must be unique, repeated: {', '.join(repeated)}")
        return lines
