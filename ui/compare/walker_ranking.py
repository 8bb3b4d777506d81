"""The walker's ranking: one row per tested strategy, best metric first, re-sorted as each strategy finishes.

A walk reports one strategy at a time, seconds apart, so each arrives as one row insertion at its place in the
ranking; the rows below it only change their rank. Strategies whose backtest failed are listed last.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont

import workstation as ws
from ui.compare.common import EMPTY, Figure, figures_beside, metric_text, metric_title, value_tint

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class RankingColumn(IntEnum):
    """The first columns of the ranking; the figures other than the metric follow (`figures_beside`)."""

    RANK = 0
    STRATEGY = 1
    METRIC = 2


@dataclass(frozen=True, slots=True)
class RankedStrategy:
    """One strategy of a walk: its figures, or the error that ended its backtest (then every figure is None)."""

    strategy_name: str
    metric_value: float | None
    total_signals: int
    win_rate: float | None
    total_pnl: float | None
    sharpe_ratio: float | None
    avg_fall_pnl: float | None
    error: str = ""
    #: The account's return and max drawdown (% of the equity peak); None without an account.
    return_percent: float | None = None
    max_drawdown_percent: float | None = None

    @classmethod
    def tested(
        cls,
        strategy_name: str,
        stats: ws.BacktestStatistics,
        metric_value: float | None,
        account: ws.AccountReport | None = None,
    ) -> RankedStrategy:
        """Return the row of a strategy whose backtest completed, with its account's figures when given."""
        return cls(
            strategy_name=strategy_name,
            metric_value=metric_value,
            total_signals=stats.total_signals,
            win_rate=stats.win_rate,
            total_pnl=stats.total_pnl,
            sharpe_ratio=stats.sharpe_ratio,
            avg_fall_pnl=stats.avg_fall_pnl,
            return_percent=None if account is None else account.return_percent,
            max_drawdown_percent=None if account is None else account.max_drawdown_percent,
        )

    @classmethod
    def failed(cls, strategy_name: str, error: str) -> RankedStrategy:
        """Return the row of a strategy whose backtest raised ``error``."""
        return cls(strategy_name, None, 0, None, None, None, None, error)


def _order(entry: RankedStrategy) -> tuple[int, float]:
    # Higher is better for every metric; a strategy without a value comes after those with one, a failed one last.
    if entry.error:
        return (2, 0.0)
    if entry.metric_value is None:
        return (1, 0.0)
    return (0, -entry.metric_value)


class WalkerRankingModel(QAbstractTableModel):
    """The strategies of one walk, ranked by its metric (ties and strategies without a value keep arrival order)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.metric = "sharpe_ratio"
        self._figures: tuple[Figure, ...] = figures_beside(self.metric)
        self._entries: list[RankedStrategy] = []
        self._bold = QFont()
        self._bold.setBold(True)

    def start(self, metric: str) -> None:
        """Forget the rows of the last walk and rank the next one by ``metric``."""
        self.beginResetModel()
        self.metric = metric
        self._figures = figures_beside(metric)
        self._entries = []
        self.endResetModel()

    def add(self, entry: RankedStrategy) -> int:
        """Insert ``entry`` at its place in the ranking and return its row."""
        key = _order(entry)
        row = len(self._entries)
        for position, other in enumerate(self._entries):
            if key < _order(other):
                row = position
                break
        self.beginInsertRows(QModelIndex(), row, row)
        self._entries.insert(row, entry)
        self.endInsertRows()
        last = len(self._entries) - 1
        if row < last:
            # Everything below the new row moved down one rank.
            self.dataChanged.emit(self.index(row + 1, RankingColumn.RANK), self.index(last, RankingColumn.RANK))
        return row

    def entries(self) -> list[RankedStrategy]:
        """Return the rows, best first."""
        return list(self._entries)

    def entry_at(self, row: int) -> RankedStrategy:
        """Return the strategy shown in ``row``."""
        return self._entries[row]

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._entries)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(RankingColumn) + len(self._figures)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section == RankingColumn.STRATEGY else _RIGHT
        return None

    def headers(self) -> list[str]:
        """Return the column titles; the metric's column is titled after the metric of the walk."""
        return ["Rank", "Strategy", metric_title(self.metric), *(figure.title for figure in self._figures)]

    def texts(self, row: int) -> list[str]:
        """Return the texts of ``row`` as the table shows them."""
        entry = self._entries[row]
        if entry.error:
            return [EMPTY, entry.strategy_name, "failed", *(EMPTY for _ in self._figures)]
        return [
            str(row + 1),
            entry.strategy_name,
            metric_text(self.metric, entry.metric_value),
            *(figure.text(getattr(entry, figure.field)) for figure in self._figures),
        ]

    def pnl_column(self) -> int:
        """Return the column of the total PnL: the metric's when the walk ranks by it."""
        fields = [figure.field for figure in self._figures]
        return len(RankingColumn) + fields.index("total_pnl") if "total_pnl" in fields else RankingColumn.METRIC

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        entry = self._entries[row]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.texts(row)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column == RankingColumn.STRATEGY else _RIGHT
        if role == Qt.ItemDataRole.FontRole and row == 0 and entry.metric_value is not None:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and column == self.pnl_column():
            limit = max((abs(other.total_pnl) for other in self._entries if other.total_pnl is not None), default=0.0)
            tint = value_tint(entry.total_pnl, limit)
            return QBrush(tint) if tint is not None else None
        if role == Qt.ItemDataRole.ToolTipRole:
            if entry.error:
                return f"The backtest of {entry.strategy_name} failed: {entry.error}"
            return f"Double-click to open the backtest of {entry.strategy_name}"
        return None
