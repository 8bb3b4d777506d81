"""The statistics of one run as a table, and the read-only cell table the other figure tables share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QVBoxLayout, QWidget

import workstation as ws
from ui.widgets.formatting import HINT_TEXT

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ModelIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a figure table: its text and how it stands out (numbers right-aligned, colours as hex)."""

    text: str
    numeric: bool = False
    foreground: str | None = None
    background: str | None = None
    bold: bool = False
    tooltip: str = ""


class CellTableModel(QAbstractTableModel):
    """A read-only table of prepared cells, replaced whole: statistics, monthly returns, run comparisons.

    These tables hold a few dozen cells that change all at once when a run is shown, so one reset is the cheapest
    update and every text is formatted once, outside ``data()``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._header: list[str] = []
        self._row_titles: list[str] = []
        self._rows: list[list[Cell]] = []
        self._bold = QFont()
        self._bold.setBold(True)  # only the weight is set, so the view's font (tabular digits) fills in the rest

    def set_cells(self, header: Sequence[str], rows: Sequence[Sequence[Cell]], row_titles: Sequence[str] = ()) -> None:
        """Replace every cell; ``row_titles`` (e.g. years) label the rows in the vertical header."""
        self.beginResetModel()
        self._header = list(header)
        self._row_titles = list(row_titles)
        self._rows = [list(row) for row in rows]
        self.endResetModel()

    def cell(self, row: int, column: int) -> Cell:
        """Return the cell at ``row``, ``column``."""
        return self._rows[row][column]

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._header)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self._header[section] if section < len(self._header) else None
        return self._row_titles[section] if section < len(self._row_titles) else None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        cell = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if cell.numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and cell.foreground is not None:
            return QBrush(QColor(cell.foreground))
        if role == Qt.ItemDataRole.BackgroundRole and cell.background is not None:
            return QBrush(QColor(cell.background))
        if role == Qt.ItemDataRole.FontRole and cell.bold:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole and cell.tooltip:
            return cell.tooltip
        return None


def tabular_font(widget: QWidget) -> QFont:
    """Return the widget's font with tabular (equal-width) digits, so numbers line up in a column."""
    font = QFont(widget.font())
    font.setFeature(QFont.Tag("tnum"), 1)
    return font


class CopyableTableView(QTableView):
    """A table whose Ctrl+C copies the selected cells as tab-separated text, ready to paste into a spreadsheet."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFont(tabular_font(self))
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        rows = self.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # Compact rows, as in a spreadsheet: the style's default leaves room for editors these tables never open.
        rows.setDefaultSectionSize(self.fontMetrics().height() * 3 // 2)

    def selected_text(self) -> str:
        """Return the selected cells as TSV: the rows and columns that hold a selected cell, in visual order.

        A cell inside that rectangle but not selected is left empty; tabs and line breaks inside a cell (a note)
        become spaces so they cannot split it.
        """
        indexes = self.selectionModel().selectedIndexes()
        if not indexes:
            return ""
        header = self.horizontalHeader()
        rows = sorted({index.row() for index in indexes})
        columns = sorted({index.column() for index in indexes}, key=header.visualIndex)
        texts = {(index.row(), index.column()): str(index.data() or "") for index in indexes}
        lines = []
        for row in rows:
            cells = (texts.get((row, column), "") for column in columns)
            lines.append("\t".join(" ".join(cell.split()) for cell in cells))
        return "\n".join(lines) + "\n"

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Copy):
            text = self.selected_text()
            if text:
                QGuiApplication.clipboard().setText(text)
            event.accept()
            return
        super().keyPressEvent(event)


class StatisticsTable(QWidget):
    """Every figure of one run: the account's first, then the per-trade statistics; Figure, Value, which way is better.

    Each group is headed by a bold title row. The texts are those of the run's HTML report, ``N/A`` where a figure is
    undefined.
    """

    HEADER = ("Figure", "Value", "")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = CellTableModel(self)
        self.model.set_cells(self.HEADER, [])
        self.table = CopyableTableView(self)
        self.table.setModel(self.model)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)

    def set_statistics(
        self, stats: ws.BacktestStatistics, series: ws.RunSeries | None, account: ws.AccountReport | None = None
    ) -> None:
        """Show the figures of one run: ``account`` first (None: a run without one), then the per-trade statistics.

        ``series`` adds buy-and-hold, holding times and, without an account, net PnL in money and exposure.
        """
        rows: list[list[Cell]] = []
        for group in ws.run_figures(stats, series, account):
            rows.append([Cell(group.title, bold=True), Cell(""), Cell("")])
            rows.extend(
                [
                    Cell(figure.label, tooltip=figure.note),
                    Cell(figure.text, numeric=True, tooltip=figure.note),
                    Cell(figure.direction, foreground=HINT_TEXT, tooltip=figure.note),
                ]
                for figure in group.figures
            )
        self.model.set_cells(self.HEADER, rows)
        # A few dozen rows: fitting the columns once per run is cheap and never truncates a value.
        self.table.resizeColumnsToContents()
