"""What the three comparison views share: the metrics, the request they open, number texts and value colours.

Colours are read from the application's palette when a cell is painted, so a theme switch recolours every table
and the heatmap without being told.
"""

from __future__ import annotations

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QGuiApplication
from PySide6.QtWidgets import QComboBox, QTableView

import workstation as ws
from ui.forms import SchemaForm
from ui.themes import mix
from ui.widgets.formatting import fixed, signed

#: How many rows `fit_columns` measures.
FIT_ROWS = 50
#: What a cell shows when the engine has no value (a Sharpe ratio of a single trade, a failed job).
EMPTY: Final = "—"

#: A metric a walk or a sweep ranks by (``WalkerSchema.metric``); every one is "higher is better" (the max drawdown
#: ranks as its value negated, hence the title's minus sign).
Metric = ws.WalkerMetric
#: Every metric, in the order the metric choice offers them.
METRICS: tuple[str, ...] = typing.get_args(Metric)

#: How each metric is titled in a column header.
METRIC_TITLES: dict[str, str] = {
    "sharpe_ratio": "Sharpe ratio",
    "annualized_sharpe_ratio": "Annualized Sharpe",
    "win_rate": "Win rate",
    "total_pnl": "Total PnL",
    "certainty_ratio": "Certainty ratio",
    "avg_pnl": "Avg PnL",
    "expected_yearly_returns": "Expected yearly returns",
    "net_profit": "Net profit",
    "return_percent": "Return",
    "max_drawdown_percent": "Max drawdown (−)",
    "daily_sharpe_ratio": "Sharpe (daily equity)",
}

#: The colour of a good and of a bad value, on a dark and on a light background.
_DARK_GAIN, _DARK_LOSS = QColor("#1f9d63"), QColor("#d64541")
_LIGHT_GAIN, _LIGHT_LOSS = QColor("#2e9e5b"), QColor("#d0433b")
#: How far a cell's background goes towards the gain or loss colour at the end of its scale: on a light
#: background the text stays dark, so the tint stays lighter.
_DARK_MIX, _LIGHT_MIX = 0.8, 0.55
#: A faint tint still tells a small value's sign.
_MIN_MIX = 0.12


def metric_title(metric: str) -> str:
    """Return the column header of ``metric``."""
    return METRIC_TITLES.get(metric, metric.replace("_", " ").capitalize())


def metric_text(metric: str, value: float | None) -> str:
    """Return ``value`` of ``metric`` as a table shows it: percentages signed with 2 decimals, ratios with 3."""
    if value is None:
        return EMPTY
    if metric in ("total_pnl", "avg_pnl", "expected_yearly_returns", "return_percent", "max_drawdown_percent"):
        return signed(value, 2) + "%"
    if metric == "net_profit":
        return signed(value, 2)
    if metric == "win_rate":
        return fixed(value, 2) + "%"
    return fixed(value, 3)


def percent_text(value: float | None) -> str:
    """Return a percentage such as a win rate (``55.00%``), or the empty mark."""
    return EMPTY if value is None else fixed(value, 2) + "%"


def pnl_text(value: float | None) -> str:
    """Return a signed PnL percentage (``+1.25%``), or the empty mark."""
    return EMPTY if value is None else signed(value, 2) + "%"


def ratio_text(value: float | None, digits: int = 3) -> str:
    """Return a ratio with ``digits`` decimals, or the empty mark."""
    return EMPTY if value is None else fixed(value, digits)


def drawdown_text(value: float | None) -> str:
    """Return a drawdown as the fall it is (``-3.20%``, ``0.00%`` when flat), or the empty mark."""
    if value is None:
        return EMPTY
    return "0.00%" if value == 0 else fixed(-value, 2) + "%"


@dataclass(frozen=True)
class Figure:
    """A figure a ranking shows beside its metric: the row's field (also the metric's name, when it is one), the
    column title and how its value reads."""

    field: str
    title: str
    text: Callable[[Any], str]


#: The figures of a walk's or a sweep's rows, in column order.
FIGURES: tuple[Figure, ...] = (
    Figure("total_signals", "Trades", str),
    Figure("win_rate", "Win rate", percent_text),
    # The account's return and drawdown (of the equity peak): the figures a trader reads first.
    Figure("return_percent", "Return", pnl_text),
    Figure("max_drawdown_percent", "Max DD", drawdown_text),
    Figure("total_pnl", "Total PnL", pnl_text),
    Figure("sharpe_ratio", "Sharpe", ratio_text),
)


def figures_beside(metric: str) -> tuple[Figure, ...]:
    """Return the figures to show after the metric's column: all but the metric itself (no "Sharpe ratio" column
    beside a "Sharpe" one)."""
    return tuple(figure for figure in FIGURES if figure.field != metric)


def is_dark_theme() -> bool:
    """Tell whether the application's base colour is dark (the dark theme)."""
    return QGuiApplication.palette().base().color().lightness() < 128


def value_tint(value: float | None, limit: float, centre: float = 0.0) -> QColor | None:
    """Return the background of a value on a green (above ``centre``) / red (below) scale, or None at the centre.

    The tint deepens with the distance from ``centre`` up to ``limit`` (the largest distance in the column), over
    the application's base colour, so it reads on either theme.
    """
    if value is None or value == centre or limit <= 0:
        return None
    dark = is_dark_theme()
    base = QGuiApplication.palette().base().color()
    gain, loss = (_DARK_GAIN, _DARK_LOSS) if dark else (_LIGHT_GAIN, _LIGHT_LOSS)
    target = gain if value > centre else loss
    reach = _DARK_MIX if dark else _LIGHT_MIX
    share = min(abs(value - centre) / limit, 1.0)
    return mix(base, target, _MIN_MIX + (reach - _MIN_MIX) * share)


def text_on(background: QColor) -> QColor:
    """Return black or white, whichever reads better on ``background``."""
    luminance = 0.299 * background.red() + 0.587 * background.green() + 0.114 * background.blue()
    return QColor("#111111") if luminance > 150 else QColor("#ffffff")


def title_choices(form: SchemaForm, field: str, titles: Mapping[str, str]) -> None:
    """Show the choices of ``field`` by their titles (``Sharpe ratio``); the form's values stay the machine strings."""
    combo = form.editors[field].widget
    if isinstance(combo, QComboBox):
        for position in range(combo.count()):
            value = combo.itemData(position)
            combo.setItemText(position, titles.get(value, str(value)))


def fit_columns(table: QTableView, padding: int = 14) -> None:
    """Size every column of ``table`` to its header and the texts of its first :data:`FIT_ROWS` rows.

    Measured with font metrics rather than ``resizeColumnsToContents``, which asks every cell's delegate for a size
    hint and holds the event loop for ~10 ms even on a small table.
    """
    model = table.model()
    header = table.horizontalHeader()
    bold = QFont(table.font())
    bold.setBold(True)
    cells = QFontMetrics(bold)  # the best row is bold: measuring every cell bold leaves room for it
    titles = header.fontMetrics()
    rows = min(model.rowCount(), FIT_ROWS)
    for column in range(model.columnCount()):
        title = str(model.headerData(column, Qt.Orientation.Horizontal) or "")
        width = titles.horizontalAdvance(title)
        for row in range(rows):
            width = max(width, cells.horizontalAdvance(str(model.index(row, column).data() or "")))
        header.resizeSection(column, width + padding)
