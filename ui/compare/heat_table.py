"""The portfolio heatmap as a table: one row per symbol, its run's account in money then the SPEC §13 columns, each
value tinted green or red.

A column's tint deepens with the distance from its neutral value (0 for PnL and ratios, 1 for the profit factor,
50 % for the win rate) up to the column's largest distance; a drawdown is always a shade of red. The colours are
taken when a cell is painted, so they follow the theme.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

import workstation as ws
from ui.compare.common import EMPTY, METRIC_TITLES, value_tint

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class HeatColumn(IntEnum):
    """The columns of the heat table: the symbol, its run's account, then the report's columns (SPEC §13)."""

    SYMBOL = 0
    NET_PROFIT = 1
    RETURN = 2
    EQUITY_DRAWDOWN = 3
    TOTAL_PNL = 4
    SHARPE = 5
    PROFIT_FACTOR = 6
    EXPECTANCY = 7
    WIN_RATE = 8
    AVG_WIN = 9
    AVG_LOSS = 10
    MAX_DRAWDOWN = 11
    WIN_STREAK = 12
    LOSS_STREAK = 13
    TRADES = 14


#: The account's columns, read first, then the heat report's own (SPEC §13), so the table and the report read the
#: same, but for the PnL, which the window spells as everywhere else in it ("Total PnL", not "Total PNL").
HEAT_HEADERS: tuple[str, ...] = (
    ws.HEATMAP_COLUMNS[0],
    "Net profit",
    "Return",
    "Max DD (equity)",
    METRIC_TITLES["total_pnl"],
    *ws.HEATMAP_COLUMNS[2:],
)


def heat_texts(row: ws.HeatmapRow) -> list[str]:
    """Return the texts of one symbol's row: its account, then as the heat report writes them; missing: empty."""
    symbol, *report = (EMPTY if cell == ws.formatting.NOT_AVAILABLE else cell for cell in ws.heatmap_row_cells(row))
    account = [
        EMPTY if row.net_profit is None else f"{row.net_profit:+,.2f}",
        EMPTY if row.return_percent is None else f"{row.return_percent:+.2f}%",
        EMPTY if row.equity_drawdown_percent is None else f"{row.equity_drawdown_percent:.2f}%",
    ]
    return [symbol, *account, *report]


#: The value each tinted column is judged by and its neutral value; a drawdown counts as a loss of its size.
_SCALES: dict[int, tuple[Callable[[ws.HeatmapRow], float | None], float]] = {
    HeatColumn.NET_PROFIT: (lambda row: row.net_profit, 0.0),
    HeatColumn.RETURN: (lambda row: row.return_percent, 0.0),
    HeatColumn.EQUITY_DRAWDOWN: (
        lambda row: -row.equity_drawdown_percent if row.equity_drawdown_percent is not None else None,
        0.0,
    ),
    HeatColumn.TOTAL_PNL: (lambda row: row.total_pnl, 0.0),
    HeatColumn.SHARPE: (lambda row: row.sharpe_ratio, 0.0),
    HeatColumn.PROFIT_FACTOR: (lambda row: row.profit_factor, 1.0),
    HeatColumn.EXPECTANCY: (lambda row: row.expectancy, 0.0),
    HeatColumn.WIN_RATE: (lambda row: row.win_rate, 50.0),
    HeatColumn.AVG_WIN: (lambda row: row.avg_win, 0.0),
    HeatColumn.AVG_LOSS: (lambda row: row.avg_loss, 0.0),
    HeatColumn.MAX_DRAWDOWN: (lambda row: -row.max_drawdown if row.max_drawdown is not None else None, 0.0),
}


class HeatTableModel(QAbstractTableModel):
    """The rows of one ``ws.HeatmapStatistics``, in its order (Sharpe ratio, highest first)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[ws.HeatmapRow] = []
        self._texts: list[list[str]] = []
        self._limits: dict[int, float] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    def set_statistics(self, statistics: ws.HeatmapStatistics | None) -> None:
        """Show the rows of ``statistics`` (None: no rows)."""
        self.beginResetModel()
        self._rows = list(statistics.symbols) if statistics is not None else []
        self._texts = [heat_texts(row) for row in self._rows]
        self._limits = {}
        for column, (value_of, centre) in _SCALES.items():
            distances = [abs(value - centre) for row in self._rows if (value := value_of(row)) is not None]
            self._limits[column] = max(distances, default=0.0)
        self.endResetModel()

    def row_at(self, row: int) -> ws.HeatmapRow:
        """Return the symbol's statistics shown in ``row``."""
        return self._rows[row]

    def texts(self, row: int) -> list[str]:
        """Return the texts of ``row``."""
        return list(self._texts[row])

    def tint(self, row: int, column: int) -> str | None:
        """Return the background of a cell as ``#rrggbb`` (None: untinted)."""
        scale = _SCALES.get(column)
        if scale is None:
            return None
        value_of, centre = scale
        colour = value_tint(value_of(self._rows[row]), self._limits.get(column, 0.0), centre)
        return colour.name() if colour is not None else None

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(HEAT_HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return HEAT_HEADERS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section == HeatColumn.SYMBOL else _RIGHT
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._texts[row][column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column == HeatColumn.SYMBOL else _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            tint = self.tint(row, column)
            return QBrush(QColor(tint)) if tint is not None else None
        if role == Qt.ItemDataRole.FontRole and column == HeatColumn.SYMBOL:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Click to open the backtest of {self._rows[row].symbol}"
        return None
