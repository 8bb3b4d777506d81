"""A sweep's results: the ranked rows as a table, the metric over two parameters as heatmap data, and CSV text.

While a sweep runs its rows arrive in completion order without a rank; the table keeps them in the ranking's order
(metric descending, no value last, ties by job index), which is the order the finished sweep ranks them in.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont

import workstation as ws
from ui.compare.common import EMPTY, figures_beside, metric_text, metric_title, value_tint
from ui.compare.grid_editor import SweepGrid, value_text
from ui.compare.heatmap import HeatmapCell, HeatmapData

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
#: An axis with more values than this is not drawn: its cells would be thinner than a pixel.
MAX_AXIS_VALUES = 400


def rank_key(row: ws.OptimizerRow) -> tuple[bool, float, int]:
    """Return the ranking's sort key: metric descending, rows without a value last, ties by job index."""
    return (row.metric_value is None, -(row.metric_value or 0.0), row.index)


class SweepRowsModel(QAbstractTableModel):
    """The rows of one sweep: rank, the swept parameters, the metric and the figures of each job."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.parameters: list[str] = []
        self.metric = "sharpe_ratio"
        self._figures = figures_beside(self.metric)
        self._rows: list[ws.OptimizerRow] = []
        self._bold = QFont()
        self._bold.setBold(True)
        self._pnl_limit = 0.0

    def start(self, parameters: Sequence[str], metric: str) -> None:
        """Forget the last sweep's rows; show ``parameters`` as columns and rank by ``metric``."""
        self.beginResetModel()
        self.parameters = list(parameters)
        self.metric = metric
        self._figures = figures_beside(metric)
        self._rows = []
        self._pnl_limit = 0.0
        self.endResetModel()

    def add_rows(self, rows: Sequence[ws.OptimizerRow]) -> None:
        """Add finished jobs (in any order); the table re-sorts once for the whole batch."""
        if not rows:
            return
        self.layoutAboutToBeChanged.emit()
        self._rows = sorted([*self._rows, *rows], key=rank_key)
        self._pnl_limit = max((abs(row.total_pnl) for row in self._rows if row.total_pnl is not None), default=0.0)
        self.layoutChanged.emit()

    def set_rows(self, rows: Sequence[ws.OptimizerRow]) -> None:
        """Show the ranked rows of a finished sweep."""
        self.beginResetModel()
        self._rows = sorted(rows, key=rank_key)
        self._pnl_limit = max((abs(row.total_pnl) for row in self._rows if row.total_pnl is not None), default=0.0)
        self.endResetModel()

    def rows(self) -> list[ws.OptimizerRow]:
        """Return every row, best first."""
        return list(self._rows)

    def row_at(self, row: int) -> ws.OptimizerRow:
        """Return the job shown in ``row``."""
        return self._rows[row]

    def headers(self) -> list[str]:
        """Return the column titles."""
        return [
            "Rank",
            *self.parameters,
            metric_title(self.metric),
            *(figure.title for figure in self._figures),
            "Error",
        ]

    def texts(self, row: int) -> list[str]:
        """Return the texts of ``row`` as the table shows them."""
        job = self._rows[row]
        return [
            str(row + 1),
            *(value_text(job.params.get(name, EMPTY)) for name in self.parameters),
            metric_text(self.metric, job.metric_value),
            *(figure.text(getattr(job, figure.field)) for figure in self._figures),
            job.error or "",
        ]

    def pnl_column(self) -> int:
        """Return the column of the total PnL: the metric's when the sweep ranks by it."""
        metric_column = 1 + len(self.parameters)
        fields = [figure.field for figure in self._figures]
        return metric_column + 1 + fields.index("total_pnl") if "total_pnl" in fields else metric_column

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self.parameters) + 3 + len(self._figures)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.headers()[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if section == self.columnCount() - 1 else _RIGHT
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = index.row(), index.column()
        job = self._rows[row]
        last = self.columnCount() - 1
        if role == Qt.ItemDataRole.DisplayRole:
            return self.texts(row)[column]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _LEFT if column == last else _RIGHT
        if role == Qt.ItemDataRole.FontRole and row == 0 and job.metric_value is not None:
            return self._bold
        if role == Qt.ItemDataRole.BackgroundRole and column == self.pnl_column():
            tint = value_tint(job.total_pnl, self._pnl_limit)
            return QBrush(tint) if tint is not None else None
        if role == Qt.ItemDataRole.ForegroundRole and column == last and job.error:
            return QBrush(QColor("#d32f2f"))
        if role == Qt.ItemDataRole.ToolTipRole:
            return job.error or "Double-click to open this parameter set's backtest"
        return None


def base_params(rows: Sequence[ws.OptimizerRow], grid: SweepGrid) -> dict[str, Any]:
    """Return the parameters the heatmap holds fixed: the best row's, or each parameter's first value without one."""
    ranked = sorted(rows, key=rank_key)
    if ranked and ranked[0].metric_value is not None:
        return dict(ranked[0].params)
    return {name: values[0] for name, values in grid.values.items()}


def heatmap_data(
    rows: Sequence[ws.OptimizerRow], grid: SweepGrid, metric: str, x_name: str, y_name: str | None
) -> tuple[HeatmapData | None, str]:
    """Return the metric over ``x_name`` and ``y_name`` (None: one row), the other parameters at the best row's.

    Returns the data, or None and the reason nothing can be drawn.
    """
    x_values = list(grid.values[x_name])
    y_values = list(grid.values[y_name]) if y_name is not None else [None]
    for name, values in ((x_name, x_values), (y_name, y_values)):
        if name is not None and len(values) > MAX_AXIS_VALUES:
            return None, f"{name} has {len(values):,} values: too many to draw (at most {MAX_AXIS_VALUES})."
    if not rows:
        return None, "The heatmap fills as jobs finish."
    fixed = base_params(rows, grid)
    by_params = {_params_key(row.params, grid): row for row in rows}
    cells: dict[tuple[int, int], HeatmapCell] = {}
    texts: dict[tuple[int, int], str] = {}
    best: tuple[int, int] | None = None
    best_key: tuple[bool, float, int] | None = None
    for x, x_value in enumerate(x_values):
        for y, y_value in enumerate(y_values):
            params = cell_params(fixed, x_name, x_value, y_name, y_value)
            job = by_params.get(_params_key(params, grid))
            if job is None:
                continue
            cells[(x, y)] = HeatmapCell(job.metric_value, job.error or "")
            texts[(x, y)] = metric_text(metric, job.metric_value)
            if job.metric_value is not None and (best_key is None or rank_key(job) < best_key):
                best, best_key = (x, y), rank_key(job)
    known = [cell.value for cell in cells.values() if cell.value is not None]
    scale = (metric_text(metric, min(known)), metric_text(metric, max(known))) if known else ("", "")
    others = [f"{name} = {value_text(fixed[name])}" for name in grid.swept if name not in (x_name, y_name)]
    title = metric_title(metric) + (f"  (at {', '.join(others)})" if others else "")
    data = HeatmapData(
        x_title=x_name,
        x_labels=[value_text(value) for value in x_values],
        y_title=y_name or "",
        y_labels=[value_text(value) for value in y_values] if y_name is not None else [""],
        cells=cells,
        value_title=title,
        value_texts=texts,
        scale_texts=scale,
        best=best,
    )
    return data, ""


def cell_params(
    fixed: dict[str, Any], x_name: str, x_value: object, y_name: str | None, y_value: object
) -> dict[str, Any]:
    """Return the parameters of a heatmap cell: ``fixed`` with the cell's x (and y) value."""
    params = {**fixed, x_name: x_value}
    if y_name is not None:
        params[y_name] = y_value
    return params


def _params_key(params: dict[str, Any], grid: SweepGrid) -> tuple[str, ...]:
    return tuple(value_text(params.get(name)) for name in grid.values)


def rows_csv(rows: Sequence[ws.OptimizerRow], parameters: Sequence[str], metric: str) -> str:
    """Return the rows as CSV: rank, job index, every parameter, the metric and the other figures at full
    precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    figures = [figure.field for figure in figures_beside(metric)]
    writer.writerow(["rank", "index", *parameters, metric, *figures, "error"])
    for rank, row in enumerate(sorted(rows, key=rank_key), start=1):
        writer.writerow(
            [
                rank,
                row.index,
                *(_csv_value(row.params.get(name)) for name in parameters),
                _csv_value(row.metric_value),
                *(_csv_value(getattr(row, field)) for field in figures),
                row.error or "",
            ]
        )
    return buffer.getvalue()


def _csv_value(value: object) -> str:
    return "" if value is None else value_text(value)
