"""The HTML report of one backtest run: one self-contained page, readable in any browser without a network.

Styles are inline, charts are inline SVG (`workstation.reports.svg_charts`), there is no script and no external
reference (no URL, web font or CDN), so the file can be mailed or archived and opens the same everywhere. Every
text taken from the run (symbol, strategy name, notes, ids) is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from workstation.account.report import AccountReport
from workstation.models.results import ClosedResult
from workstation.models.series import DrawdownPeriod, MonthlyReturns, RunSeries
from workstation.reports.backtest import (
    CLOSED_SIGNAL_COLUMNS,
    MANAGED_COLUMNS,
    closed_signal_cells,
    closed_signal_columns,
)
from workstation.reports.figures import (
    BALANCE,
    SPEC_FIGURES,
    StatisticFigure,
    account_figures,
    run_figures,
    statistics_figures,
)
from workstation.reports.formatting import MONTH_NAMES, fixed, iso, signed
from workstation.reports.statistics import BacktestStatistics
from workstation.reports.svg_charts import (
    ACCOUNT_EQUITY_COLOUR,
    BUY_AND_HOLD_COLOUR,
    EQUITY_COLOUR,
    account_drawdown_svg,
    account_equity_svg,
    equity_svg,
    histogram_svg,
    underwater_svg,
)
from workstation.timeutil import DAY_MS

__all__ = ["MONTH_NAMES", "extra_statistics_rows", "render_backtest_html", "statistics_rows"]

#: Where the figures of SPEC §11.2 end in :func:`statistics_figures` (the first table stops there).
SPEC_END = SPEC_FIGURES.stop


_STYLE = """
:root { color-scheme: light; }
body { margin: 24px auto; max-width: 1040px; padding: 0 16px; background: #f6f7f9; color: #1d2127;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: #5b626b; margin: 0 0 16px; }
section { background: #ffffff; border: 1px solid #dde1e6; border-radius: 6px; padding: 12px 16px; }
.columns { display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: flex-start; }
.chart { display: block; width: 100%; height: auto; }
.legend { color: #5b626b; font-size: 13px; margin: 4px 0 0; }
.swatch { display: inline-block; width: 18px; height: 0; vertical-align: middle; margin: 0 4px 0 12px;
  border-top: 2px solid; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e9ed; text-align: left; white-space: nowrap; }
th { background: #eef1f4; font-weight: 600; }
td.num, th.num { text-align: right; }
td.hint { color: #7a818a; }
p.note { color: #5b626b; font-size: 13px; margin: 8px 0 0; flex-basis: 100%; }
td.pos { color: #17713a; }
td.neg { color: #b02a20; }
.months td.pos { background: #dff3e6; }
.months td.neg { background: #fbe1de; }
.trades tbody tr:nth-child(even) { background: #fafbfc; }
.empty { color: #5b626b; font-style: italic; }
"""


def _sign_class(value: float) -> str:
    return "pos" if value > 0 else "neg" if value < 0 else ""


def _cell(text: str, classes: str = "") -> str:
    attribute = f' class="{classes}"' if classes else ""
    return f"<td{attribute}>{escape(text)}</td>"


def statistics_rows(statistics: BacktestStatistics) -> list[tuple[str, str, str]]:
    """Return the ``(figure, text, direction)`` rows of SPEC §11.2: the counts, then win rate to max drawdown."""
    return [(figure.label, figure.text, figure.direction) for figure in statistics_figures(statistics)[:SPEC_END]]


def extra_statistics_rows(statistics: BacktestStatistics, series: RunSeries) -> list[tuple[str, str, str]]:
    """Return the ``(figure, text, direction)`` rows beyond SPEC §11.2, those of the series included."""
    return [
        (figure.label, figure.text, figure.direction) for figure in statistics_figures(statistics, series)[SPEC_END:]
    ]


def _statistics_table(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    lines = ['<table class="statistics">', "<thead><tr><th>Figure</th><th>Value</th><th></th></tr></thead>", "<tbody>"]
    lines.extend(
        f"<tr><th>{escape(label)}</th>{_cell(value, 'num')}{_cell(direction, 'hint')}</tr>"
        for label, value, direction in rows
    )
    lines += ["</tbody>", "</table>"]
    return lines


def _notes(figures: Sequence[StatisticFigure]) -> list[str]:
    """Return what a reader should know about some figures, one paragraph each, under the tables."""
    return [
        f'<p class="note"><b>{escape(figure.label)}:</b> {escape(figure.note)}</p>' for figure in figures if figure.note
    ]


def _rows(figures: Sequence[StatisticFigure]) -> list[tuple[str, str, str]]:
    return [(figure.label, figure.text, figure.direction) for figure in figures]


def _account_sections(account: AccountReport) -> list[str]:
    """Return the account's sections: its figures, its equity in money and its drawdown in % of the equity peak."""
    figures = account_figures(account)
    legend = [
        f'<span class="swatch" style="border-color: {ACCOUNT_EQUITY_COLOUR}"></span>equity, marked to market daily '
        "and at each trade",
        '<span class="swatch" style="border-top-style: dotted; border-color: #8a9099"></span>starting balance '
        f"{escape(BALANCE.text(account.starting_balance))}",
    ]
    if account.buy_and_hold_curve:
        held = account.buy_and_hold_curve[-1].value
        legend.append(
            f'<span class="swatch" style="border-top-style: dashed; border-color: {BUY_AND_HOLD_COLOUR}"></span>'
            f"the starting balance held in the asset: {escape(BALANCE.text(held))} at the end, buy &amp; hold "
            f"{escape(signed((held / account.starting_balance - 1) * 100, 2))}%"
        )
    return [
        "<h2>Account</h2>",
        '<section class="columns" id="account">',
        *_statistics_table(_rows(figures)),
        *_notes(figures),
        "</section>",
        "<h2>Equity</h2>",
        '<section id="account-equity">',
        account_equity_svg(account),
        f'<p class="legend">{" ".join(legend)}</p>',
        "</section>",
        "<h2>Drawdown (% of the equity peak)</h2>",
        '<section id="account-drawdown">',
        account_drawdown_svg(account),
        "</section>",
    ]


def _monthly_table(monthly: MonthlyReturns) -> list[str]:
    if not monthly.years:
        return ['<p class="empty">No closed trades.</p>']
    header = "".join(f'<th class="num">{name}</th>' for name in (*MONTH_NAMES, "Total"))
    lines = ['<table class="months">', f"<thead><tr><th>Year</th>{header}</tr></thead>", "<tbody>"]
    for year, row, total in zip(monthly.years, monthly.table.tolist(), monthly.year_totals, strict=True):
        cells = [_cell("", "num") if math.isnan(value) else _percent_cell(value) for value in row]
        cells.append(_cell("", "num") if total is None else _percent_cell(total))
        lines.append(f"<tr><th>{year}</th>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _drawdown_table(periods: Sequence[DrawdownPeriod]) -> list[str]:
    if not periods:
        return ['<p class="empty">No drawdown.</p>']
    header = "".join(
        f'<th class="num">{title}</th>' if numeric else f"<th>{title}</th>"
        for title, numeric in (
            ("Rank", True),
            ("Depth", True),
            ("Start", False),
            ("Trough", False),
            ("Recovery", False),
            ("Length (days)", True),
        )
    )
    lines = ['<table class="drawdowns">', f"<thead><tr>{header}</tr></thead>", "<tbody>"]
    for rank, period in enumerate(periods, start=1):
        cells = [
            _cell(str(rank), "num"),
            _cell(fixed(-period.depth, 2) + "%", "num neg"),
            _cell(iso(period.start)),
            _cell(iso(period.trough)),
            _cell(iso(period.recovery) if period.recovery is not None else "not recovered"),
            _cell(fixed((period.recovery - period.start) / DAY_MS, 1) if period.recovery is not None else "N/A", "num"),
        ]
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def _breakdown_table(title: str, pnl_by_key: dict[str, float]) -> list[str]:
    lines = [
        '<table class="breakdown">',
        f'<thead><tr><th>{escape(title)}</th><th class="num">Net PnL</th></tr></thead>',
        "<tbody>",
    ]
    lines.extend(f"<tr><th>{escape(key)}</th>{_percent_cell(value)}</tr>" for key, value in pnl_by_key.items())
    lines += ["</tbody>", "</table>"]
    return lines


def _percent_cell(value: float) -> str:
    return _cell(signed(value, 2) + "%", f"num {_sign_class(value)}".strip())


#: Every column the trade list can show.
TRADE_COLUMNS = CLOSED_SIGNAL_COLUMNS + MANAGED_COLUMNS
#: Columns of the trade list shown right-aligned: prices, PnL, duration and every managed-position column.
_NUMERIC_COLUMNS = frozenset(range(4, 9)) | {10} | frozenset(range(len(CLOSED_SIGNAL_COLUMNS), len(TRADE_COLUMNS)))
_PNL_COLUMN = CLOSED_SIGNAL_COLUMNS.index("PNL (net)")


def _trade_table(results: Sequence[ClosedResult]) -> list[str]:
    if not results:
        return ['<p class="empty">No signals closed yet.</p>']
    columns = closed_signal_columns(results)
    managed = len(columns) > len(CLOSED_SIGNAL_COLUMNS)
    header = "".join(
        f'<th class="num">{escape(title)}</th>' if index in _NUMERIC_COLUMNS else f"<th>{escape(title)}</th>"
        for index, title in enumerate(columns)
    )
    lines = ['<table class="trades">', f"<thead><tr>{header}</tr></thead>", "<tbody>"]
    for result in results:
        cells = []
        for index, text in enumerate(closed_signal_cells(result, managed)):
            classes = "num" if index in _NUMERIC_COLUMNS else ""
            if index == _PNL_COLUMN:
                classes = f"{classes} {_sign_class(result.pnl.pnl_percentage)}".strip()
            cells.append(_cell(text, classes))
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return lines


def render_backtest_html(
    statistics: BacktestStatistics, series: RunSeries, account: AccountReport | None = None
) -> str:
    """Return the self-contained HTML report of one backtest run.

    The page holds the account first (its figures, its equity in money and its drawdown in % of the equity peak),
    then the per-trade statistics, the cumulative net PnL % of the trades (with the buy-and-hold return as a
    reference line), its underwater curve, the histogram of trade PnL, the monthly returns table and the list of
    every closed trade, all from the same run. It needs no script and loads nothing.

    Parameters
    ----------
    statistics
        ``await ws.Backtest.get_data(symbol, strategy_name)``; its ``signal_list`` is the trade list.
    series
        ``await ws.Backtest.get_series(symbol, strategy_name)`` of the same run.
    account
        ``await ws.Backtest.get_account(symbol, strategy_name)`` of the same run; None for a run without one (stored
        before runs had an account): the page then starts with the per-trade statistics.

    Returns
    -------
    str
        A complete HTML5 document ending with a newline.
    """
    title = f"Backtest Report: {series.strategy_name} ({series.symbol})"
    trades = statistics.signal_list
    meta = f"Frame {iso(series.frame_start)} to {iso(series.frame_end)} · {statistics.total_signals} closed signals"
    [*_, per_trade] = run_figures(statistics, series, account)
    legend = [
        f'<span class="swatch" style="border-color: {EQUITY_COLOUR}"></span>cumulative net PnL %, stepped at each close'
    ]
    if series.buy_and_hold is not None:
        legend.append(
            f'<span class="swatch" style="border-top-style: dashed; border-color: {BUY_AND_HOLD_COLOUR}"></span>'
            f"buy &amp; hold {escape(signed(series.buy_and_hold, 2))}% over the frame"
        )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title>",
        f"<style>{_STYLE}</style>",
        "</head>",
        "<body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        *(_account_sections(account) if account is not None else []),
        f"<h2>{escape(per_trade.title)}</h2>",
        '<section class="columns" id="per-trade">',
        *_statistics_table(_rows(per_trade.figures[:SPEC_END])),
        *_statistics_table(_rows(per_trade.figures[SPEC_END:])),
        *_notes(per_trade.figures),
        "</section>",
        "<h2>Cumulative net PnL % of the trades</h2>",
        '<section id="equity">',
        equity_svg(series),
        f'<p class="legend">{" ".join(legend)}</p>',
        "</section>",
        "<h2>Underwater curve of the trades (percentage points below the peak)</h2>",
        '<section id="underwater">',
        underwater_svg(series),
        "</section>",
        "<h2>Worst drawdowns</h2>",
        '<section class="scroll">',
        *_drawdown_table(series.worst_drawdowns),
        "</section>",
        "<h2>Trade PnL histogram</h2>",
        '<section id="histogram">',
        histogram_svg(series),
        "</section>",
        "<h2>Net PnL by close reason and side</h2>",
        '<section class="columns">',
        *(
            _breakdown_table("Close reason", series.pnl_by_close_reason)
            if series.pnl_by_close_reason
            else ['<p class="empty">No closed trades.</p>']
        ),
        *(_breakdown_table("Side", series.pnl_by_side) if series.pnl_by_side else []),
        "</section>",
        "<h2>Monthly returns (net PnL %)</h2>",
        '<section class="scroll">',
        *_monthly_table(series.monthly_returns),
        "</section>",
        f"<h2>Trades ({len(trades)})</h2>",
        '<section class="scroll">',
        *_trade_table(trades),
        "</section>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
