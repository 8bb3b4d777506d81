"""A walk-forward analysis as tables: one row per window (its training and test periods, the parameters chosen in
training and how they did after it), the in-sample and out-of-sample totals, and the windows as CSV.
"""

from __future__ import annotations

import csv
import io

import workstation as ws
from ui.compare.common import EMPTY, drawdown_text, metric_text, metric_title, pnl_text, ratio_text, value_tint
from ui.compare.grid_editor import value_text
from ui.widgets.formatting import minute_time
from ui.widgets.statistics_table import Cell

#: The columns of the windows table; the in-sample metric's title follows the sweep's metric.
WINDOW_HEADERS: tuple[str, ...] = (
    "Window",
    "Train (UTC)",
    "Test (UTC)",
    "Best parameters",
    "In-sample {metric}",
    "In-sample PnL",
    "Test trades",
    "Test PnL",
    "Test Sharpe",
    "Test max DD",
)


#: The columns of the windows' CSV.
WINDOW_CSV_HEADER: tuple[str, ...] = (
    "window",
    "train_start",
    "train_end",
    "test_start",
    "test_end",
    "best_params",
    "in_sample_metric",
    "in_sample_total_pnl",
    "test_total_signals",
    "test_total_pnl",
    "test_sharpe_ratio",
    "test_max_drawdown_percent",
    "test_error",
)


def window_headers(metric: str) -> list[str]:
    """Return the column titles of the windows table for ``metric``."""
    return [header.format(metric=metric_title(metric)) for header in WINDOW_HEADERS]


def period_text(start: int, end: int) -> str:
    """Return a period of epoch milliseconds as ``2024-01-01 09:00–12:59``, the end's date only when it differs."""
    first, last = minute_time(start), minute_time(end)
    if first[:10] == last[:10]:
        return f"{first}–{last[11:]}"
    return f"{first} – {last}"


def params_text(params: dict[str, object] | None, shown: list[str]) -> str:
    """Return the parameters ``shown`` of a window's choice (``fast=10, slow=30``), or the empty mark."""
    if params is None:
        return EMPTY
    return ", ".join(f"{name}={value_text(params[name])}" for name in shown if name in params) or EMPTY


def window_cells(result: ws.WalkForwardResult, shown: list[str]) -> list[list[Cell]]:
    """Return one row of cells per window; the test PnL is tinted green or red by its sign and size."""
    limit = max(
        (abs(window.out_of_sample.total_pnl or 0.0) for window in result.windows),
        default=0.0,
    )
    rows = []
    for window in result.windows:
        test = window.out_of_sample
        tint = value_tint(test.total_pnl, limit)
        rows.append(
            [
                Cell(str(window.index + 1), numeric=True),
                Cell(period_text(window.train_start, window.train_end)),
                Cell(period_text(window.test_start, window.test_end)),
                Cell(params_text(window.best_params, shown), tooltip=_tooltip(window)),
                Cell(metric_text(result.metric, window.in_sample_metric), numeric=True),
                Cell(pnl_text(window.in_sample_total_pnl), numeric=True),
                Cell(str(test.total_signals), numeric=True),
                Cell(
                    pnl_text(test.total_pnl),
                    numeric=True,
                    background=tint.name() if tint is not None else None,
                    bold=True,
                ),
                Cell(ratio_text(test.sharpe_ratio), numeric=True, tooltip=test.error or ""),
                Cell(
                    drawdown_text(test.max_drawdown_percent),
                    numeric=True,
                    tooltip="The test run's account: its deepest fall from its equity peak, in % of the peak",
                ),
            ]
        )
    return rows


def totals_text(result: ws.WalkForwardResult) -> str:
    """Return the in-sample and out-of-sample totals as one line."""
    tested = len(result.windows)
    stopped = " (stopped)" if result.stopped else ""
    return (
        f"{tested} window{'s' if tested != 1 else ''}{stopped} · out of sample: "
        f"{pnl_text(result.out_of_sample_total_pnl)} over {result.out_of_sample_total_signals} trades, "
        f"Sharpe {ratio_text(result.out_of_sample_sharpe)} · in sample: {pnl_text(result.in_sample_total_pnl)}"
    )


def windows_csv(result: ws.WalkForwardResult) -> str:
    """Return the windows as CSV, times as ``YYYY-MM-DD HH:MM`` (UTC) and figures at full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(WINDOW_CSV_HEADER)
    for window in result.windows:
        test = window.out_of_sample
        params = window.best_params or {}
        writer.writerow(
            [
                window.index + 1,
                minute_time(window.train_start),
                minute_time(window.train_end),
                minute_time(window.test_start),
                minute_time(window.test_end),
                " ".join(f"{name}={value_text(value)}" for name, value in params.items()),
                _number(window.in_sample_metric),
                _number(window.in_sample_total_pnl),
                test.total_signals,
                _number(test.total_pnl),
                _number(test.sharpe_ratio),
                _number(test.max_drawdown_percent),
                test.error or "",
            ]
        )
    return buffer.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _tooltip(window: ws.WalkForwardWindow) -> str:
    if window.best_params is None:
        return "No training job had a metric value: nothing was tested."
    return "Double-click to open the backtest of these parameters on the test period"
