"""The stored data dialog: every series in the candle store, with its span, size and gaps; delete, export or fetch
a period again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.forms import SchemaForm
from ui.widgets.confirmation import Confirmation
from ui.widgets.formatting import minute_time

# Model names not exported at ``ws.`` yet (see ui/data/__init__.py).
from workstation import CANDLE_INTERVAL_MINUTES, CandleStore, StoredSeries

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

ERROR_STYLE = "color: #d32f2f;"
#: Gap ranges a tooltip lists before "and N more".
TOOLTIP_GAPS = 20


def _time_or_dash(timestamp: int | None) -> str:
    return "—" if timestamp is None else minute_time(timestamp)


def gap_text(series: StoredSeries, start: int, end: int) -> str:
    """Return one gap as ``2024-01-01 10:00 → 2024-01-01 10:05 (5 candles)``: the candles missing from it."""
    step = CANDLE_INTERVAL_MINUTES[series.interval] * 60_000
    missing = (end - start) // step
    return f"{minute_time(start)} → {minute_time(end)} ({missing} {'candle' if missing == 1 else 'candles'})"


def gaps_tooltip(series: StoredSeries) -> str:
    """Return the gap ranges of ``series``, one a line, the first `TOOLTIP_GAPS` of them."""
    if not series.gaps:
        return "No gaps"
    lines = [gap_text(series, start, end) for start, end in series.gaps[:TOOLTIP_GAPS]]
    if len(series.gaps) > TOOLTIP_GAPS:
        lines.append(f"… and {len(series.gaps) - TOOLTIP_GAPS} more")
    return "Ranges the exchange had no candles for (UTC):\n" + "\n".join(lines)


#: Per column: header, cell text, whether it is a number (right-aligned).
_COLUMNS: tuple[tuple[str, Callable[[StoredSeries], str], bool], ...] = (
    ("Exchange", lambda series: series.exchange, False),
    ("Symbol", lambda series: series.symbol, False),
    ("Interval", lambda series: series.interval, False),
    ("First (UTC)", lambda series: _time_or_dash(series.first), False),
    ("Last (UTC)", lambda series: _time_or_dash(series.last), False),
    ("Candles", lambda series: f"{series.count:,}", True),
    ("Gaps", lambda series: str(len(series.gaps)), True),
)
HEADERS: tuple[str, ...] = tuple(header for header, _, _ in _COLUMNS)
_GAPS_COLUMN = HEADERS.index("Gaps")


class RefetchPeriod(BaseModel):
    """The UTC period of a stored series to forget and fetch from its exchange again."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: AwareDatetime = Field(title="Start (UTC)", description="The first candle's open time.")
    end: AwareDatetime = Field(title="End (UTC)", description="Candles open before this time.")

    @model_validator(mode="after")
    def _end_after_start(self) -> RefetchPeriod:
        if self.end <= self.start:
            raise ValueError("the end must be after the start")
        return self


class RefetchDialog(QDialog):
    """Ask for the period of ``series`` to fetch again; it starts as the series' whole span."""

    def __init__(self, series: StoredSeries, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = series
        self.setWindowTitle(f"Fetch {' · '.join(StoredDataDialog.key(series))} again")
        self.form = SchemaForm(RefetchPeriod, parent=self)
        step = CANDLE_INTERVAL_MINUTES[series.interval] * 60_000
        covered = series.covered or [(0, step)]
        self.form.set_values(
            {
                "start": datetime.fromtimestamp(covered[0][0] / 1000, UTC),
                "end": datetime.fromtimestamp(covered[-1][1] / 1000, UTC),
            }
        )
        note = QLabel(
            "The stored candles, coverage and gaps of this period are forgotten and the exchange is asked again.", self
        )
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, parent=self
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Fetch again")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.form.validity_changed.connect(
            lambda valid: self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(valid)
        )
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)

    def period(self) -> RefetchPeriod | None:
        """Return the period chosen, or None while a field is invalid."""
        result = self.form.result()
        return result if isinstance(result, RefetchPeriod) else None


class StoredSeriesModel(QAbstractTableModel):
    """One row per stored series, replaced whole on every refresh."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._series: list[StoredSeries] = []

    def set_series(self, series: Sequence[StoredSeries]) -> None:
        """Show ``series`` in their order (the store sorts them by exchange, symbol and interval)."""
        self.beginResetModel()
        self._series = list(series)
        self.endResetModel()

    def series_at(self, row: int) -> StoredSeries:
        """Return the series shown in ``row``."""
        return self._series[row]

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._series)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        series = self._series[index.row()]
        _, text, numeric = _COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text(series)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if numeric else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == _GAPS_COLUMN:
            return gaps_tooltip(series)
        return None


class StoredDataDialog(QDialog):
    """The series of a candle store: exchange, symbol, interval, first and last candle, count and gaps.

    Delete removes the selected series after a confirmation; Export CSV writes the selected series to a file in
    the peer's format; Fetch again forgets a period of the selected series and downloads it from its exchange anew
    (for data an exchange once answered wrongly). Store access runs off the GUI thread. The dialog works without
    ``exec()``: callers ``open()`` or ``show()`` it; it reloads when shown, and :meth:`refresh` reloads it while it
    is open.

    Parameters
    ----------
    store
        The candle store to show.
    parent
        The parent widget.
    """

    def __init__(self, store: CandleStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Stored market data")
        self._store = store
        self.task: asyncio.Task[None] | None = None
        self._confirmation = Confirmation(self)

        self.table_model = StoredSeriesModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.table_model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.empty_label = QLabel("No stored candles yet: import a CSV or download history.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)  # the palette's disabled text colour reads as a hint
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.refresh_button = QPushButton("Refresh", self)
        self.delete_button = QPushButton("Delete…", self)
        self.export_button = QPushButton("Export CSV…", self)
        self.refetch_button = QPushButton("Fetch again…", self)
        self.refetch_button.setToolTip("Forget a period of the selected series and download it again")
        self.refresh_button.clicked.connect(self.refresh)
        self.refetch_button.clicked.connect(self._choose_refetch_period)
        self.delete_button.clicked.connect(self._confirm_delete)
        self.export_button.clicked.connect(self._choose_export_file)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        for button in (self.refresh_button, self.refetch_button, self.export_button, self.delete_button):
            self.buttons.addButton(button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self.resize(760, 380)

        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._show_series([])

    # -----------------------------------------------------------------------------------------------------------
    # Listing

    @property
    def confirm_delete_box(self) -> QMessageBox | None:
        """The delete question while it is open."""
        return self._confirmation.box

    def showEvent(self, event: QShowEvent) -> None:
        """Reload the series whenever the dialog is shown: imports and downloads change the store meanwhile."""
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> asyncio.Task[None] | None:
        """Reload the series from the store off the GUI thread; return the task (None while another runs)."""
        return self._run(self.reload())

    async def reload(self) -> None:
        """Read the series from the store and show them, keeping the selected series selected."""
        selected = {self.key(series) for series in self.selected_series()}
        try:
            series = await self._store.worker.call(self._store.series)
        except Exception as error:  # the store's failure is shown here, never lost to the log
            self._show_status(f"Cannot read the candle store: {error}", ERROR_STYLE)
            return
        self._show_series(series)
        for row in range(self.table_model.rowCount()):
            if self.key(self.table_model.series_at(row)) in selected:
                self.table.selectRow(row)

    def selected_series(self) -> list[StoredSeries]:
        """Return the selected series, top to bottom."""
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.table_model.series_at(row) for row in rows]

    def _show_series(self, series: Sequence[StoredSeries]) -> None:
        self.table_model.set_series(series)
        self.table.resizeColumnsToContents()
        self.table.setVisible(bool(series))
        self.empty_label.setVisible(not series)
        self._update_buttons()

    @staticmethod
    def key(series: StoredSeries) -> tuple[str, str, str]:
        """Return the series' exchange, symbol and interval."""
        return series.exchange, series.symbol, series.interval

    def _update_buttons(self) -> None:
        count = len(self.table.selectionModel().selectedRows())
        idle = self.task is None
        self.delete_button.setEnabled(idle and count > 0)
        self.export_button.setEnabled(idle and count == 1)
        self.refetch_button.setEnabled(idle and count == 1)
        self.refresh_button.setEnabled(idle)

    # -----------------------------------------------------------------------------------------------------------
    # Deleting

    def _confirm_delete(self) -> None:
        chosen = self.selected_series()
        if not chosen:
            return
        what = (
            f"the {chosen[0].count:,} candles of {' · '.join(self.key(chosen[0]))}"
            if len(chosen) == 1
            else f"these {len(chosen)} series"
        )
        self._confirmation.ask(
            "Delete stored data",
            f"Delete {what} from the candle store? A backtest will download them again when it needs them.",
            lambda: self.delete(chosen),
        )

    def delete(self, chosen: Sequence[StoredSeries]) -> asyncio.Task[None] | None:
        """Delete ``chosen`` from the store off the GUI thread, then reload; return the task."""
        return self._run(self._delete(list(chosen)))

    async def _delete(self, chosen: list[StoredSeries]) -> None:
        deleted = 0
        try:
            for series in chosen:
                deleted += await self._store.worker.call(self._store.delete, *self.key(series))
        except Exception as error:  # the store's failure is shown here, never lost to the log
            self._show_status(f"Delete failed: {error}", ERROR_STYLE)
        else:
            self._show_status(f"Deleted {deleted:,} candles.", "")
        await self.reload()

    # -----------------------------------------------------------------------------------------------------------
    # Exporting

    def _choose_export_file(self) -> None:
        chosen = self.selected_series()
        if len(chosen) != 1:
            return
        series = chosen[0]
        name = f"{series.exchange}_{series.symbol}_{series.interval}.csv".replace("/", "")
        dialog = QFileDialog(self, "Export candles as CSV", name, "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.export(series, Path(path)))
        dialog.open()

    def export(self, series: StoredSeries, path: Path) -> asyncio.Task[None] | None:
        """Write ``series`` to ``path`` off the GUI thread; return the task."""
        return self._run(self._export(series, path))

    async def _export(self, series: StoredSeries, path: Path) -> None:
        try:
            written = await self._store.worker.call(self._store.export_csv, *self.key(series), path)
        except Exception as error:  # the store's failure is shown here, never lost to the log
            self._show_status(f"Export failed: {error}", ERROR_STYLE)
        else:
            self._show_status(f"Exported {written:,} candles to {path}.", "")

    # -----------------------------------------------------------------------------------------------------------
    # Fetching again

    def _choose_refetch_period(self) -> RefetchDialog | None:
        chosen = self.selected_series()
        if len(chosen) != 1:
            return None
        dialog = RefetchDialog(chosen[0], self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._refetch_chosen(dialog))
        dialog.open()
        return dialog

    def _refetch_chosen(self, dialog: RefetchDialog) -> None:
        period = dialog.period()
        if period is not None:
            self.refetch(dialog.series, period)

    def refetch(self, series: StoredSeries, period: RefetchPeriod) -> asyncio.Task[None] | None:
        """Forget ``period`` of ``series`` and download it again from its exchange, then reload; return the task."""
        return self._run(self._refetch(series, period))

    async def _refetch(self, series: StoredSeries, period: RefetchPeriod) -> None:
        exchange, symbol, interval = self.key(series)
        start, end = (round(moment.timestamp() * 1000) for moment in (period.start, period.end))
        self._show_status(f"Fetching {symbol} {interval} from {exchange} again…", "")
        try:
            ws.ensure_ccxt_exchange(exchange, store=self._store)
            summary = await ws.refetch_history(
                exchange, symbol, interval, start, end, store=self._store, on_progress=lambda _report: None
            )
        except Exception as error:  # the exchange's or the store's failure is shown here, never lost to the log
            self._show_status(f"Fetching {symbol} {interval} from {exchange} again failed: {error}", ERROR_STYLE)
        else:
            self._show_status(
                f"Fetched {summary.downloaded_candles:,} candles of {symbol} {interval} from {exchange} again, "
                f"{minute_time(summary.start)} → {minute_time(summary.end)} (UTC).",
                "",
            )
        await self.reload()

    # -----------------------------------------------------------------------------------------------------------
    # State

    def _run(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        """Run ``work`` as the dialog's one store task; refuse it (None) while another runs."""
        if self.task is not None:
            work.close()
            return None
        task = asyncio.ensure_future(work)
        self.task = task
        task.add_done_callback(self._task_done)
        self._update_buttons()
        return task

    def _task_done(self, _task: asyncio.Task[None]) -> None:
        self.task = None
        self._update_buttons()

    def _show_status(self, text: str, style: str) -> None:
        self.status_label.setStyleSheet(style)
        self.status_label.setText(text)
