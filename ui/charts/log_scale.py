"""The price axis of a candle chart in log scale: prices drawn at log10(price), labelled with round prices.

pyqtgraph's own log mode only transforms the items that implement ``setLogMode`` (its PlotDataItem), and its log
axis labels powers of ten ("4e+04" for every tick of a BTC chart). The chart's own items (candles, trade marks,
level lines) are drawn from :func:`log_prices` / :func:`price_y` instead, and :class:`PriceAxis` writes prices.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg

import workstation as ws

#: Pixels wanted between two price labels in log scale.
LOG_TICK_PIXELS = 45
#: The least distance between two labels, as a share of the distance wanted.
MIN_TICK_GAP = 0.6
#: The candle columns that are prices (volume stays linear).
PRICE_COLUMNS = ("open", "high", "low", "close")


def log_prices(candles: np.ndarray) -> np.ndarray:
    """Return a copy of ``candles`` (``ws.CANDLE_DTYPE``) with open, high, low and close as log10 of themselves."""
    logged = candles.copy() if len(candles) else np.empty(0, dtype=ws.CANDLE_DTYPE)
    for column in PRICE_COLUMNS:
        logged[column] = np.log10(candles[column])
    return logged


def price_y(price: float, log_scale: bool) -> float:
    """Return the height at which the price axis draws ``price``: log10 of it in log scale, else itself."""
    return math.log10(price) if log_scale and price > 0 else price


def round_step(step: float) -> float:
    """Return the smallest of 1, 2 or 5 times a power of ten that is at least ``step`` (> 0)."""
    power = 10.0 ** math.floor(math.log10(step))
    return next((power * factor for factor in (1.0, 2.0, 5.0) if power * factor >= step * (1 - 1e-9)), 10 * power)


def log_ticks(low: float, high: float, count: float) -> list[float]:
    """Return round prices from ``low`` to ``high`` (> 0) about ``count`` labels apart on a log scale.

    Each step is a round number (1, 2 or 5 times a power of ten) that grows with the price, so the labels are
    evenly spread on the screen: 20, 50, 100, 200, 500, 1000 over 10 to 1000; 40000, 40500, 41000 over a narrow range.
    """
    if not (0 < low < high) or count < 1:
        return []
    ratio = (high / low) ** (1 / count) - 1
    # Where the step grows (40 to 50 after steps of 20) two labels could touch: one closer than this is left out.
    closest = MIN_TICK_GAP * math.log10(1 + ratio)
    ticks: list[float] = []
    step = round_step(low * ratio)
    price = math.ceil(low / step) * step
    while price <= high and len(ticks) < 200:
        if not ticks or math.log10(price / ticks[-1]) >= closest:
            ticks.append(price)
        step = round_step(price * ratio)
        price = (math.floor(price / step + 1e-9) + 1) * step
    return ticks


class PriceAxis(pg.AxisItem):  # type: ignore[misc]
    """A right price axis that, in log scale, places round prices at their log10 height and writes the price."""

    def __init__(self) -> None:
        super().__init__(orientation="right")
        self._log_scale = False

    def set_log_scale(self, log_scale: bool) -> None:
        """Label the heights as log10 of prices (True) or as prices (False)."""
        self._log_scale = log_scale
        self.picture = None
        self.update()

    def tickValues(self, minVal: float, maxVal: float, size: float) -> list[tuple[float, list[float]]]:
        if not self._log_scale:
            values: list[tuple[float, list[float]]] = super().tickValues(minVal, maxVal, size)
            return values
        prices = log_ticks(10.0**minVal, 10.0**maxVal, size / LOG_TICK_PIXELS)
        return [((maxVal - minVal) / max(1, len(prices)), [math.log10(price) for price in prices])]

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self._log_scale:
            strings: list[str] = super().tickStrings(values, scale, spacing)
            return strings
        return [f"{10.0**value:.12g}" for value in values]


class LevelLine(pg.InfiniteLine):  # type: ignore[misc]
    """A horizontal guide at a fixed price, drawn at log10 of it while its plot is in log scale.

    pyqtgraph's InfiniteLine is not told of log scale; a price plot calls ``setLogMode`` on the items that have it
    (when they are added, and at each switch: ``CandleChart.set_log_scale``).
    """

    def __init__(self, price: float) -> None:
        super().__init__(pos=price, angle=0, movable=False)
        self.price = price

    def setLogMode(self, x: bool, y: bool) -> None:
        """Stand at log10 of the price (``y`` True) or at the price."""
        self.setPos(price_y(self.price, y))
