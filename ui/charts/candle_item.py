"""Candles and volume bars as pyqtgraph items, x in bar index, with min/max level-of-detail (DESIGN §3.15).

A million candles cannot be drawn one by one 60 times a second. Both items draw only the bars in view, and when a
bar is narrower than a pixel they draw one high–low line per pixel column instead: the bars are grouped into
buckets of ``k`` bars (``k`` a power of two, so a bucket spans one to two pixels), and each bucket shows the
highest high and the lowest low of its bars, coloured by its first open against its last close, and its volume
per bar. The bucket arrays
of each ``k`` are computed once per candle set, pairwise from the level below (``CandleLevels``), so a pan costs
only the slicing of the buckets in view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

import workstation as ws

#: Bars at least this many pixels wide are drawn as real candles (wick and body); narrower ones as wicks only.
BODY_MIN_PIXELS = 3.0
#: Half the width of a candle body, in bars.
BODY_HALF_WIDTH = 0.35


@dataclass(frozen=True)
class ChartPalette:
    """The colours of every chart of a run tab, as ``#rrggbb`` strings.

    ``up``/``down`` colour rising and falling candles; ``win``/``loss`` colour closed trades; ``take_profit``,
    ``stop_loss`` and ``limit`` colour the price levels of positions and limit orders; ``indicators`` colour a
    strategy's indicator lines that do not choose their own, in turn.
    """

    up: str
    down: str
    win: str
    loss: str
    take_profit: str
    stop_loss: str
    limit: str
    background: str
    foreground: str
    indicators: tuple[str, ...]


DARK_PALETTE = ChartPalette(
    up="#26a69a",
    down="#ef5350",
    win="#2979ff",
    loss="#ff9100",
    take_profit="#00c853",
    stop_loss="#ff1744",
    limit="#ffd600",
    background="#131722",
    foreground="#d1d4dc",
    indicators=("#e040fb", "#40c4ff", "#c6ff00", "#ff80ab"),
)

LIGHT_PALETTE = ChartPalette(
    up="#089981",
    down="#f23645",
    win="#1565c0",
    loss="#e65100",
    take_profit="#2e7d32",
    stop_loss="#c62828",
    limit="#8e24aa",
    background="#ffffff",
    foreground="#131722",
    indicators=("#aa00ff", "#0091ea", "#795548", "#d81b60"),
)


def cosmetic_pen(color: str, width: float = 1.0, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    """Return a pen whose width is in pixels whatever the zoom."""
    pen = QPen(QColor(color))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    pen.setStyle(style)
    return pen


class Buckets(NamedTuple):
    """OHLCV of consecutive buckets of ``k`` bars: first open, highest high, lowest low, last close, summed volume."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def _halve(level: Buckets) -> Buckets:
    """Merge neighbouring buckets pairwise (an odd last bucket stays alone)."""
    pairs = len(level.open) // 2
    odd = len(level.open) % 2 == 1
    # Strided slices, not index arrays: no gather, and level 1 may itself be a strided view of the candles.
    first, second = slice(0, 2 * pairs, 2), slice(1, 2 * pairs, 2)

    def merged(pair: np.ndarray, column: np.ndarray) -> np.ndarray:
        return np.concatenate((pair, column[-1:])) if odd else pair

    return Buckets(
        open=merged(level.open[first].copy(), level.open),
        high=merged(np.maximum(level.high[first], level.high[second]), level.high),
        low=merged(np.minimum(level.low[first], level.low[second]), level.low),
        close=merged(level.close[second].copy(), level.close),
        volume=merged(level.volume[first] + level.volume[second], level.volume),
    )


class CandleLevels:
    """The candles of one chart and their bucket levels for ``k`` = 1, 2, 4, …, computed on first use."""

    def __init__(self, candles: np.ndarray) -> None:
        self.count = len(candles)
        # The field views of the candle array itself: copying five columns of a year of 1m candles would hold the
        # GUI for tens of ms (and the memory twice) before anything is drawn.
        self._levels: dict[int, Buckets] = {
            1: Buckets(
                open=candles["open"],
                high=candles["high"],
                low=candles["low"],
                close=candles["close"],
                volume=candles["volume"],
            )
        }

    def level(self, bars_per_bucket: int) -> Buckets:
        """Return the buckets of ``bars_per_bucket`` bars (a power of two); bucket ``b`` covers bars ``b*k…b*k+k-1``."""
        found = self._levels.get(bars_per_bucket)
        if found is None:
            found = self._levels[bars_per_bucket] = _halve(self.level(bars_per_bucket // 2))
        return found

    def computed_levels(self) -> list[int]:
        """Return the ``k`` of every level computed so far (tests check the structure, not timings)."""
        return sorted(self._levels)

    def price_range(self, first_bar: float, last_bar: float) -> tuple[float, float] | None:
        """Return (lowest low, highest high) of the bars from ``first_bar`` to ``last_bar``, or None if none."""
        start = max(0, math.floor(first_bar))
        stop = min(self.count, math.ceil(last_bar) + 1)
        if stop <= start:
            return None
        # A coarse level keeps auto-ranging O(pixels): at most a bucket of extra bars on either side.
        k = bucket_size((stop - start) / 4096)
        level = self.level(k)
        first_bucket, end_bucket = start // k, -(-stop // k)
        return float(level.low[first_bucket:end_bucket].min()), float(level.high[first_bucket:end_bucket].max())

    def volume_peak(self, first_bar: float, last_bar: float) -> float | None:
        """Return the largest mean volume per bar among the buckets drawn for ``first_bar``…``last_bar``."""
        start = max(0, math.floor(first_bar))
        stop = min(self.count, math.ceil(last_bar) + 1)
        if stop <= start:
            return None
        k = bucket_size((stop - start) / 4096)
        first_bucket = start // k
        summed = self.level(k).volume[first_bucket : -(-stop // k)]
        return float(self.mean_volume(summed, k, first_bucket).max())

    def mean_volume(self, summed: np.ndarray, k: int, first_bucket: int) -> np.ndarray:
        """Turn summed bucket volumes into volume per bar, so that the volume scale stays put when zooming out."""
        first_bar = (first_bucket + np.arange(len(summed))) * k
        bars = np.minimum(first_bar + k, self.count) - first_bar
        mean: np.ndarray = summed / bars
        return mean


def bucket_size(bars_per_pixel: float) -> int:
    """Return the smallest power of two ``k`` with ``k >= bars_per_pixel`` (1 when bars are wider than a pixel)."""
    if bars_per_pixel <= 1:
        return 1
    return 1 << math.ceil(math.log2(bars_per_pixel))


class _Stroke(NamedTuple):
    path: QPainterPath
    pen: QPen
    fill: QColor | None


def _segments(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> QPainterPath:
    """One path of separate line segments (x0, y0)–(x1, y1), built by numpy, not per segment."""
    x = np.empty(2 * len(x0))
    y = np.empty(2 * len(x0))
    x[0::2], x[1::2], y[0::2], y[1::2] = x0, x1, y0, y1
    path: QPainterPath = pg.arrayToQPath(x, y, connect="pairs", finiteCheck=False)
    return path


def _rectangles(left: np.ndarray, right: np.ndarray, bottom: np.ndarray, top: np.ndarray) -> QPainterPath:
    """One path of closed rectangles, five points each, connected within a rectangle only."""
    x = np.column_stack((left, right, right, left, left)).ravel()
    y = np.column_stack((bottom, bottom, top, top, bottom)).ravel()
    connect = np.ones((len(left), 5), dtype=np.int32)
    connect[:, 4] = 0
    path: QPainterPath = pg.arrayToQPath(x, y, connect=connect.ravel(), finiteCheck=False)
    return path


class _BarsItem(pg.GraphicsObject):  # type: ignore[misc]
    """Shared machinery: the bars in view, the bucket size for the current zoom, one cached drawing per view."""

    def __init__(self, palette: ChartPalette) -> None:
        super().__init__()
        self._palette = palette
        self._levels = CandleLevels(np.empty(0, dtype=ws.CANDLE_DTYPE))
        self._bounds = QRectF()
        self._cache_key: tuple[int, int, int, bool] | None = None
        self._strokes: list[_Stroke] = []
        self.last_bucket_size = 0

    def set_levels(self, levels: CandleLevels) -> None:
        """Draw the candles of ``levels`` (shared by the price and volume items of one chart)."""
        self.prepareGeometryChange()
        self._levels = levels
        self._bounds = self._compute_bounds()
        self._cache_key = None
        self.update()

    def set_palette(self, palette: ChartPalette) -> None:
        """Recolour the bars."""
        self._palette = palette
        self._cache_key = None
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def _compute_bounds(self) -> QRectF:
        raise NotImplementedError

    def dataBounds(
        self,
        ax: int,
        frac: float = 1.0,
        orthoRange: tuple[float, float] | None = None,
    ) -> tuple[float, float] | None:
        """Let the view box fit the value axis to the bars in view only (x: every bar)."""
        if self._levels.count == 0:
            return None
        if ax == 0:
            return -0.5, self._levels.count - 0.5
        first, last = orthoRange if orthoRange is not None else (0, self._levels.count - 1)
        return self._value_range(first, last)

    def _value_range(self, first: float, last: float) -> tuple[float, float] | None:
        raise NotImplementedError

    def _build(self, bars: Buckets, k: int, first_bucket: int, bodies: bool) -> list[_Stroke]:
        raise NotImplementedError

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        count = self._levels.count
        view = self.viewRect()
        if count == 0 or view is None:
            return
        pixels_per_bar = abs(painter.deviceTransform().m11())
        if pixels_per_bar == 0:
            return
        k = bucket_size(1.0 / pixels_per_bar)
        start = max(0, math.floor(view.left()))
        stop = min(count, math.ceil(view.right()) + 1)
        if stop <= start:
            return
        first_bucket, end_bucket = start // k, -(-stop // k)
        bodies = k == 1 and pixels_per_bar >= BODY_MIN_PIXELS
        key = (k, first_bucket, end_bucket, bodies)
        if key != self._cache_key:
            level = self._levels.level(k)
            bars = Buckets(*(column[first_bucket:end_bucket] for column in level))
            self._strokes = self._build(bars, k, first_bucket, bodies)
            self._cache_key = key
        self.last_bucket_size = k
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for stroke in self._strokes:
            painter.setPen(stroke.pen)
            if stroke.fill is None:
                painter.setBrush(Qt.BrushStyle.NoBrush)
            else:
                painter.setBrush(stroke.fill)
            painter.drawPath(stroke.path)

    def _centres(self, k: int, first_bucket: int, length: int) -> np.ndarray:
        """Bar-index x of each bucket's middle (the last bucket may hold fewer than ``k`` bars)."""
        first_bar = (first_bucket + np.arange(length)) * k
        last_bar = np.minimum(first_bar + k, self._levels.count) - 1
        centres: np.ndarray = (first_bar + last_bar) / 2.0
        return centres


class CandleItem(_BarsItem):
    """Candlesticks of a chart: wick and body per bar when zoomed in, a high–low line per pixel column when not."""

    def _compute_bounds(self) -> QRectF:
        if self._levels.count == 0:
            return QRectF()
        # One pass over the bars: going through the coarse levels would build all of them before the first paint.
        bars = self._levels.level(1)
        low, high = float(bars.low.min()), float(bars.high.max())
        return QRectF(-0.5, low, float(self._levels.count), high - low)

    def _value_range(self, first: float, last: float) -> tuple[float, float] | None:
        return self._levels.price_range(first, last)

    def _build(self, bars: Buckets, k: int, first_bucket: int, bodies: bool) -> list[_Stroke]:
        x = self._centres(k, first_bucket, len(bars.open))
        up = bars.close >= bars.open
        strokes = []
        for mask, color in ((up, self._palette.up), (~up, self._palette.down)):
            if not mask.any():
                continue
            xs = x[mask]
            strokes.append(_Stroke(_segments(xs, bars.low[mask], xs, bars.high[mask]), cosmetic_pen(color), None))
            if bodies:
                body = _rectangles(xs - BODY_HALF_WIDTH, xs + BODY_HALF_WIDTH, bars.open[mask], bars.close[mask])
                strokes.append(_Stroke(body, cosmetic_pen(color), QColor(color)))
        return strokes


class VolumeItem(_BarsItem):
    """Volume bars under the candles, in the candle's up/down colour, with the same level-of-detail."""

    def _compute_bounds(self) -> QRectF:
        if self._levels.count == 0:
            return QRectF()
        # The largest single bar bounds every mean the coarser levels draw.
        return QRectF(-0.5, 0.0, float(self._levels.count), float(self._levels.level(1).volume.max()))

    def _value_range(self, first: float, last: float) -> tuple[float, float] | None:
        peak = self._levels.volume_peak(first, last)
        return None if peak is None else (0.0, peak)

    def _build(self, bars: Buckets, k: int, first_bucket: int, bodies: bool) -> list[_Stroke]:
        x = self._centres(k, first_bucket, len(bars.open))
        volume_per_bar = self._levels.mean_volume(bars.volume, k, first_bucket)
        up = bars.close >= bars.open
        strokes = []
        for mask, color in ((up, self._palette.up), (~up, self._palette.down)):
            if not mask.any():
                continue
            xs, volume = x[mask], volume_per_bar[mask]
            zero = np.zeros_like(volume)
            if bodies:
                path = _rectangles(xs - BODY_HALF_WIDTH, xs + BODY_HALF_WIDTH, zero, volume)
                strokes.append(_Stroke(path, cosmetic_pen(color), QColor(color)))
            else:
                strokes.append(_Stroke(_segments(xs, zero, xs, volume), cosmetic_pen(color), None))
        return strokes
