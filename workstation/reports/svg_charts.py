"""Charts of one backtest run as inline SVG text: the equity curve, the underwater curve and the PnL histogram.

The SVG is written by hand (no chart library, nothing loaded at view time) for the self-contained HTML report.
Curves are stepped at trade closes: the equity only changes when a trade closes. Lines are drawn with
``shape-rendering="crispEdges"`` so a horizontal or vertical segment is painted in its exact colour, which keeps the
chart sharp and lets a test find the curve in a screenshot by colour.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from workstation.account.report import AccountReport
from workstation.models.series import RunSeries
from workstation.timeutil import DAY_MS, iso

__all__ = [
    "ACCOUNT_EQUITY_COLOUR",
    "BUY_AND_HOLD_COLOUR",
    "EQUITY_COLOUR",
    "LOSS_COLOUR",
    "PROFIT_COLOUR",
    "account_drawdown_svg",
    "account_equity_svg",
    "equity_svg",
    "histogram_svg",
    "nice_ticks",
    "underwater_svg",
]

#: Stroke of the equity curve; distinctive so a screenshot test can count its pixels.
EQUITY_COLOUR = "#1f5fd6"
#: Stroke of the account's equity in money: not the per-trade curve's, so a screenshot test tells the two apart.
ACCOUNT_EQUITY_COLOUR = "#0d7f6e"
#: Dashed reference line of the buy-and-hold return.
BUY_AND_HOLD_COLOUR = "#d9822b"
#: Underwater stroke and losing histogram bars.
LOSS_COLOUR = "#c8372d"
#: Winning histogram bars.
PROFIT_COLOUR = "#2e9d57"

_GRID_COLOUR = "#e3e6ea"
_AXIS_COLOUR = "#8a9099"
_LABEL_COLOUR = "#4a5058"
_UNDERWATER_FILL = "#f6d3d0"
_NEUTRAL_BAR = "#9aa3ad"


@dataclass(frozen=True)
class _Frame:
    """The plotting area of a chart and the data ranges it shows."""

    x_low: float
    x_high: float
    y_low: float
    y_high: float
    width: int = 960
    height: int = 260
    left: int = 64
    right: int = 20
    top: int = 14
    bottom: int = 30

    def x(self, value: float) -> float:
        span = self.width - self.left - self.right
        return self.left + (value - self.x_low) / (self.x_high - self.x_low) * span

    def y(self, value: float) -> float:
        span = self.height - self.top - self.bottom
        return self.top + (self.y_high - value) / (self.y_high - self.y_low) * span


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Return round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering ``low`` to ``high``.

    Parameters
    ----------
    low, high
        The data range; ``low < high``.
    count
        About how many intervals to cut the range into.

    Returns
    -------
    list of float
        Ticks from the first multiple of the step at or above ``low`` to the last at or below ``high``.
    """
    raw_step = (high - low) / count
    magnitude = 10.0 ** math.floor(math.log10(raw_step))
    step = next(factor * magnitude for factor in (1.0, 2.0, 2.5, 5.0, 10.0) if factor * magnitude >= raw_step)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [index * step for index in range(first, last + 1)]


def _decimals(ticks: Sequence[float]) -> int:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    for digits in range(10):
        scaled = step * 10**digits
        if abs(scaled - round(scaled)) < 1e-6:
            return digits
    return 10


def _value_range(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    low, high = float(np.min(values)), float(np.max(values))
    if high - low < 1e-9:
        low, high = low - 1.0, high + 1.0
    pad = (high - low) * 0.06
    return low - pad, high + pad


def _open_svg(frame: _Frame, label: str) -> list[str]:
    return [
        f'<svg class="chart" viewBox="0 0 {frame.width} {frame.height}" role="img" aria-label="{escape(label)}">',
        f'<rect x="0" y="0" width="{frame.width}" height="{frame.height}" fill="#ffffff"/>',
    ]


def _text(x: float, y: float, text: str, anchor: str = "end", colour: str = _LABEL_COLOUR) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="12" fill="{colour}">{escape(text)}</text>'


def _y_axis(frame: _Frame, unit: str) -> list[str]:
    ticks = nice_ticks(frame.y_low, frame.y_high)
    digits = _decimals(ticks)
    parts = []
    for tick in ticks:
        y = frame.y(tick)
        colour = _AXIS_COLOUR if tick == 0 else _GRID_COLOUR
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1" shape-rendering="crispEdges"/>'
        )
        parts.append(_text(frame.left - 6, y + 4, f"{tick:.{digits}f}{unit}"))
    return parts


def _time_axis(frame: _Frame, count: int = 6) -> list[str]:
    start, end = int(frame.x_low), int(frame.x_high)
    # Bare dates when the labels are a day or more apart; down to the minute otherwise (else a short run's labels
    # repeat the same date).
    long_run = end - start >= count * DAY_MS

    def label_of(moment: int) -> str:
        return iso(moment)[:10] if long_run else iso(moment)[5:16].replace("T", " ")

    baseline = frame.height - frame.bottom
    parts = [
        f'<line x1="{frame.left}" y1="{baseline}" x2="{frame.width - frame.right}" y2="{baseline}" '
        f'stroke="{_AXIS_COLOUR}" stroke-width="1" shape-rendering="crispEdges"/>'
    ]
    for index in range(count + 1):
        moment = start + (end - start) * index // count
        anchor = "start" if index == 0 else "end" if index == count else "middle"
        parts.append(_text(frame.x(moment), baseline + 18, label_of(moment), anchor))
    return parts


def _time_range(series: RunSeries) -> tuple[float, float]:
    # A position still open at the frame's end closes after it, so the last close may lie beyond frame_end.
    closes = series.step_times
    low = min(series.frame_start, int(closes[0])) if len(closes) else series.frame_start
    high = max(series.frame_end, int(closes[-1])) if len(closes) else series.frame_end
    return float(low), float(max(high, low + 1))


def _step_path(frame: _Frame, times: np.ndarray, values: np.ndarray) -> str:
    """Return path data from 0 at the frame's left edge, stepping to each value at its time, on to the right edge."""
    commands = [f"M{frame.x(frame.x_low):.1f} {frame.y(0.0):.1f}"]
    for moment, value in zip(times.tolist(), values.tolist(), strict=True):
        commands.append(f"H{frame.x(moment):.1f}V{frame.y(value):.1f}")
    commands.append(f"H{frame.x(frame.x_high):.1f}")
    return "".join(commands)


def _no_trades(frame: _Frame) -> str:
    return _text(frame.width / 2, frame.height / 2, "No closed trades", "middle")


def equity_svg(series: RunSeries) -> str:
    """Return the equity curve (cumulative net PnL %, stepped at closes) with the buy-and-hold return for reference.

    Parameters
    ----------
    series
        The run's series; ``equity[i]`` is the cumulative net PnL % after the step (a partial close or a close)
        at ``step_times[i]``.

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    low, high = _time_range(series)
    reference = [] if series.buy_and_hold is None else [series.buy_and_hold]
    y_low, y_high = _value_range([0.0, *series.equity.tolist(), *reference])
    frame = _Frame(low, high, y_low, y_high)
    parts = _open_svg(frame, "Equity curve: cumulative net PnL % at each trade close")
    parts += _y_axis(frame, "%")
    parts += _time_axis(frame)
    if series.buy_and_hold is not None:
        y = frame.y(series.buy_and_hold)
        parts.append(
            f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
            f'stroke="{BUY_AND_HOLD_COLOUR}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        label_y = y - 6 if y > frame.top + 16 else y + 16
        label = f"buy & hold {series.buy_and_hold:+.2f}%"
        parts.append(_text(frame.width - frame.right - 4, label_y, label, "end", BUY_AND_HOLD_COLOUR))
    parts.append(
        f'<path d="{_step_path(frame, series.step_times, series.equity)}" fill="none" stroke="{EQUITY_COLOUR}" '
        'stroke-width="2" shape-rendering="crispEdges"/>'
    )
    if len(series.equity) == 0:
        parts.append(_no_trades(frame))
    parts.append("</svg>")
    return "\n".join(parts)


def underwater_svg(series: RunSeries) -> str:
    """Return the underwater curve: how far (in PnL percentage points) the equity is below its running peak.

    Parameters
    ----------
    series
        The run's series; ``underwater[i] <= 0`` after the step at ``step_times[i]``.

    Returns
    -------
    str
        One ``<svg>`` element, the area between the curve and zero filled.
    """
    low, high = _time_range(series)
    depth = float(np.min(series.underwater)) if len(series.underwater) else 0.0
    frame = _Frame(low, high, depth * 1.08 if depth < -1e-9 else -1.0, 0.0)
    parts = _open_svg(frame, "Underwater curve: drawdown from the running equity peak")
    parts += _y_axis(frame, "%")
    parts += _time_axis(frame)
    path = _step_path(frame, series.step_times, series.underwater)
    # The area is filled without a stroke, so its closing edge back to zero is not drawn as part of the curve.
    parts.append(f'<path d="{path}V{frame.y(0.0):.1f}Z" fill="{_UNDERWATER_FILL}" stroke="none"/>')
    parts.append(
        f'<path d="{path}" fill="none" stroke="{LOSS_COLOUR}" stroke-width="1.5" shape-rendering="crispEdges"/>'
    )
    if len(series.underwater) == 0:
        parts.append(_no_trades(frame))
    parts.append("</svg>")
    return "\n".join(parts)


def histogram_svg(series: RunSeries) -> str:
    """Return the histogram of trade net PnL %: one bar per bin, green above zero, red below, grey across it.

    Parameters
    ----------
    series
        The run's series (``histogram_edges`` has one more entry than ``histogram_counts``).

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    edges, counts = series.histogram_edges, series.histogram_counts
    if len(counts) == 0:
        frame = _Frame(0.0, 1.0, 0.0, 1.0, height=120)
        return "\n".join([*_open_svg(frame, "PnL histogram"), _no_trades(frame), "</svg>"])
    frame = _Frame(float(edges[0]), float(edges[-1]), 0.0, max(float(np.max(counts)) * 1.1, 1.0))
    parts = _open_svg(frame, "Histogram of trade net PnL %")
    parts += _y_axis(frame, "")
    baseline = frame.y(0.0)
    for left, right, count in zip(edges[:-1].tolist(), edges[1:].tolist(), counts.tolist(), strict=True):
        colour = PROFIT_COLOUR if left >= 0 else LOSS_COLOUR if right <= 0 else _NEUTRAL_BAR
        x, top = frame.x(left), frame.y(count)
        parts.append(
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{max(frame.x(right) - x - 1, 1):.1f}" '
            f'height="{baseline - top:.1f}" fill="{colour}"/>'
        )
    ticks = nice_ticks(frame.x_low, frame.x_high, 8)
    digits = _decimals(ticks)
    parts.extend(_text(frame.x(tick), baseline + 18, f"{tick:.{digits}f}%", "middle") for tick in ticks)
    parts.append("</svg>")
    return "\n".join(parts)


def _account_points(account: AccountReport) -> tuple[np.ndarray, np.ndarray]:
    times = np.array([point.timestamp for point in account.equity_curve], dtype=np.int64)
    values = np.array([point.value for point in account.equity_curve], dtype=np.float64)
    return times, values


def _line_path(frame: _Frame, times: np.ndarray, values: np.ndarray) -> str:
    """Return path data through each ``(time, value)`` point, straight lines between them."""
    return "".join(
        f"{'L' if index else 'M'}{frame.x(moment):.1f} {frame.y(value):.1f}"
        for index, (moment, value) in enumerate(zip(times.tolist(), values.tolist(), strict=True))
    )


def _account_span(account: AccountReport) -> tuple[float, float]:
    low, high = float(account.equity_curve[0].timestamp), float(account.equity_curve[-1].timestamp)
    return low, max(high, low + 1)


def account_equity_svg(account: AccountReport) -> str:
    """Return the account's equity in money (marked to market daily and at each trade) over the starting balance.

    The starting balance held in the asset (the account's ``buy_and_hold_curve``) is drawn dashed on the same scale,
    whole: a page has no zoom, and a line cut at the equity's range draws steep strokes in and out of the chart
    wherever the asset moves more than the strategy's equity (the legend writes where it ended).

    Returns
    -------
    str
        One ``<svg>`` element.
    """
    if not account.equity_curve:
        frame = _Frame(0.0, 1.0, 0.0, 1.0, height=120)
        return "\n".join([*_open_svg(frame, "Equity in money"), _no_trades(frame), "</svg>"])
    times, values = _account_points(account)
    start = account.starting_balance
    held = account.buy_and_hold_curve
    frame = _Frame(*_account_span(account), *_value_range([start, *values.tolist(), *(point.value for point in held)]))
    parts = _open_svg(frame, "Equity in money, marked to market daily and at each trade")
    parts += _y_axis(frame, "")
    parts += _time_axis(frame)
    y = frame.y(start)
    parts.append(
        f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.width - frame.right}" y2="{y:.1f}" '
        f'stroke="{_AXIS_COLOUR}" stroke-width="1" stroke-dasharray="2 3"/>'
    )
    if held:
        held_times = np.array([point.timestamp for point in held], dtype=np.int64)
        held_values = np.array([point.value for point in held], dtype=np.float64)
        parts.append(
            f'<path d="{_line_path(frame, held_times, held_values)}" fill="none" stroke="{BUY_AND_HOLD_COLOUR}" '
            'stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
    parts.append(
        f'<path d="{_line_path(frame, times, values)}" fill="none" stroke="{ACCOUNT_EQUITY_COLOUR}" stroke-width="2"/>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def account_drawdown_svg(account: AccountReport) -> str:
    """Return the account's drawdown: how far the equity is below its running peak, in % of that peak.

    Returns
    -------
    str
        One ``<svg>`` element, the area between the curve and zero filled.
    """
    if not account.equity_curve:
        frame = _Frame(0.0, 1.0, -1.0, 0.0, height=120)
        return "\n".join([*_open_svg(frame, "Drawdown"), _no_trades(frame), "</svg>"])
    times, values = _account_points(account)
    peak = np.maximum.accumulate(values)
    drawdown = np.where(peak > 0, (values - peak) / np.where(peak > 0, peak, 1.0) * 100.0, 0.0)
    depth = float(np.min(drawdown))
    frame = _Frame(*_account_span(account), depth * 1.08 if depth < -1e-9 else -1.0, 0.0, height=200)
    parts = _open_svg(frame, "Drawdown of the equity from its running peak, in % of the peak")
    parts += _y_axis(frame, "%")
    parts += _time_axis(frame)
    path = _line_path(frame, times, drawdown)
    first, last = frame.x(float(times[0])), frame.x(float(times[-1]))
    zero = frame.y(0.0)
    # The area is filled without a stroke, so its closing edges back to zero are not drawn as part of the curve.
    parts.append(f'<path d="{path}L{last:.1f} {zero:.1f}L{first:.1f} {zero:.1f}Z" fill="{_UNDERWATER_FILL}"/>')
    parts.append(f'<path d="{path}" fill="none" stroke="{LOSS_COLOUR}" stroke-width="1.5"/>')
    parts.append("</svg>")
    return "\n".join(parts)
