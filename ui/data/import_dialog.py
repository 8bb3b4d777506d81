"""The CSV import dialog: pick a file, check the guessed columns on a preview, import into the candle store.

A file with bad rows is refused with the rows' line numbers, so the trader can fix them in an editor; the rows
before the first bad one can still be imported on an explicit click.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.widgets.formatting import HINT_TEXT, LOSS_TINT

# Model names not exported at ``ws.`` yet (see ui/data/__init__.py).
from workstation import (
    CANDLE_INTERVAL_MINUTES,
    CandleStore,
    ColumnMapping,
    CsvImportError,
    CsvImportResult,
    CsvPreview,
    import_candle_csv,
    preview_csv,
)

_ModelIndex = QModelIndex | QPersistentModelIndex

ERROR_STYLE = "color: #d32f2f;"
SUCCESS_STYLE = "color: #17713a;"

#: The mapped fields in the order the trader reads a candle, with their labels.
MAPPED_FIELDS: tuple[tuple[str, str], ...] = (
    ("timestamp", "Time"),
    ("open", "Open"),
    ("high", "High"),
    ("low", "Low"),
    ("close", "Close"),
    ("volume", "Volume"),
)
TIME_UNITS: tuple[tuple[str, str], ...] = (
    ("ms", "Epoch milliseconds"),
    ("s", "Epoch seconds"),
    ("iso", "ISO 8601 text (UTC unless it says)"),
)
#: Rows of the file shown in the preview.
PREVIEW_ROWS = 20
#: Errors listed in the dialog; the count line says how many more there are.
LISTED_ERRORS = 200


def suggested_symbol(path: Path) -> str:
    """Return the symbol a file name suggests: its name up to the first ``_``, ``-`` or space, in capitals."""
    return re.split(r"[_\-\s.]", path.stem, maxsplit=1)[0].upper()


class CsvPreviewModel(QAbstractTableModel):
    """The first rows of a CSV as text, numbered by file line.

    The columns the mapping reads are bold, the others greyed; rows with errors are tinted.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._header: list[str] = []
        self._rows: list[list[str]] = []
        self._lines: list[int] = []
        self._bad_lines: set[int] = set()
        self._fields_of: dict[str, list[str]] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._hint = QColor(HINT_TEXT)
        self._bad_tint = QColor(LOSS_TINT)

    def set_preview(self, header: Sequence[str], rows: Sequence[Sequence[str]], lines: Sequence[int]) -> None:
        """Show ``rows`` (from file ``lines``) under ``header``."""
        self.beginResetModel()
        self._header = list(header)
        self._rows = [list(row) for row in rows]
        self._lines = list(lines)
        self._bad_lines = set()
        self.endResetModel()

    def set_bad_lines(self, lines: set[int]) -> None:
        """Tint the rows of these file lines."""
        self._bad_lines = set(lines)
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self._header) - 1))

    def is_bad_row(self, row: int) -> bool:
        """Tell whether ``row`` of the preview is on a line with an error."""
        return self._lines[row] in self._bad_lines

    def set_mapping(self, columns: dict[str, str]) -> None:
        """Mark the columns read, ``columns`` being field name to column name."""
        self._fields_of = {}
        for field, column in columns.items():
            self._fields_of.setdefault(column, []).append(field)
        if self._header:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, len(self._header) - 1)
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(self._header) - 1))

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._header)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Vertical:
            if role == Qt.ItemDataRole.DisplayRole and section < len(self._lines):
                return str(self._lines[section])
            if role == Qt.ItemDataRole.ToolTipRole and section < len(self._lines):
                return f"Line {self._lines[section]} of the file"
            return None
        if section >= len(self._header):
            return None
        column = self._header[section]
        fields = self._fields_of.get(column)
        if role == Qt.ItemDataRole.DisplayRole:
            return column
        if role == Qt.ItemDataRole.FontRole and fields:
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Read as {' and '.join(fields)}" if fields else "Not imported"
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row[index.column()] if index.column() < len(row) else ""
        if role == Qt.ItemDataRole.ForegroundRole and self._header[index.column()] not in self._fields_of:
            return self._hint
        if role == Qt.ItemDataRole.BackgroundRole and self._lines[index.row()] in self._bad_lines:
            return self._bad_tint
        return None


class ImportCsvDialog(QDialog):
    """Import the candles of a CSV file into the candle store as one series.

    Choosing a file shows its first rows and a column choice per candle field, filled with the guess from the
    header. Import checks every row off the GUI thread; a file with bad rows is refused and its errors listed
    (``line 5: close 'abc' is not a number``), with a button to import only the rows before the first bad one.
    The dialog works without ``exec()``: callers ``open()`` or ``show()`` it.

    Signals
    -------
    imported(str, str, str)
        A series was written: exchange, symbol, interval.

    Parameters
    ----------
    store
        The candle store to import into.
    parent
        The parent widget.
    """

    imported = Signal(str, str, str)

    def __init__(self, store: CandleStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import candles from CSV")
        self._store = store
        self.preview: CsvPreview | None = None
        self.import_task: asyncio.Task[None] | None = None

        self.file_edit = QLineEdit(self)
        self.file_edit.setPlaceholderText("Choose a CSV file with a header line")
        self.file_edit.setReadOnly(True)
        self.file_edit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.browse_button = QPushButton("Choose…", self)
        self.browse_button.clicked.connect(self._choose_file)
        self.exchange_edit = QLineEdit("csv", self)
        self.exchange_edit.setToolTip("The exchange name the series is stored under")
        self.symbol_edit = QLineEdit(self)
        self.symbol_edit.setPlaceholderText("e.g. BTCUSDT")
        self.interval_combo = QComboBox(self)
        self.interval_combo.addItems(list(CANDLE_INTERVAL_MINUTES))

        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)
        series = QFormLayout()
        series.addRow("File", file_row)
        series.addRow("Exchange", self.exchange_edit)
        series.addRow("Symbol", self.symbol_edit)
        series.addRow("Interval", self.interval_combo)

        self.column_combos: dict[str, QComboBox] = {}
        columns_box = QGroupBox("Columns", self)
        columns_grid = QGridLayout(columns_box)
        for position, (field, label) in enumerate(MAPPED_FIELDS):
            combo = QComboBox(columns_box)
            combo.currentIndexChanged.connect(self._mapping_edited)
            self.column_combos[field] = combo
            columns_grid.addWidget(QLabel(label, columns_box), 0, position)
            columns_grid.addWidget(combo, 1, position)
        self.time_unit_combo = QComboBox(columns_box)
        for unit, text in TIME_UNITS:
            self.time_unit_combo.addItem(text, unit)
        self.time_unit_combo.currentIndexChanged.connect(self._mapping_edited)
        columns_grid.addWidget(QLabel("Time format", columns_box), 2, 0)
        columns_grid.addWidget(self.time_unit_combo, 2, 1, 1, 2)
        self.mapping_error = QLabel(columns_box)
        self.mapping_error.setStyleSheet(ERROR_STYLE)
        self.mapping_error.setWordWrap(True)
        self.mapping_error.hide()
        columns_grid.addWidget(self.mapping_error, 3, 0, 1, len(MAPPED_FIELDS))

        self.preview_model = CsvPreviewModel(self)
        self.preview_table = QTableView(self)
        self.preview_table.setModel(self.preview_model)
        self.preview_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_table.setAlternatingRowColors(True)
        self.preview_table.setWordWrap(False)
        self.preview_table.verticalHeader().setDefaultSectionSize(22)
        self.preview_table.verticalHeader().setToolTip("Line numbers of the file")

        self.busy_bar = QProgressBar(self)
        self.busy_bar.setRange(0, 0)  # the import reports no steps: it only shows that work goes on
        self.busy_bar.setMaximumHeight(8)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors_list = QListWidget(self)
        self.errors_list.setMaximumHeight(110)
        self.errors_list.hide()

        self.import_button = QPushButton("Import", self)
        self.import_button.setDefault(True)
        self.import_button.clicked.connect(lambda: self.start_import(valid_prefix=False))
        self.import_prefix_button = QPushButton(self)
        self.import_prefix_button.clicked.connect(lambda: self.start_import(valid_prefix=True))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        self.buttons.addButton(self.import_prefix_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.import_button, QDialogButtonBox.ButtonRole.ActionRole)
        # Hidden after it joins the button box: adding a button shows it, and a blank button sat beside Import.
        self.import_prefix_button.hide()
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(series)
        layout.addWidget(columns_box)
        layout.addWidget(self.preview_table, 1)
        layout.addWidget(self.busy_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.errors_list)
        layout.addWidget(self.buttons)
        self.resize(820, 600)

        for edit in (self.exchange_edit, self.symbol_edit):
            edit.textChanged.connect(self._update_buttons)
        self._update_buttons()

    # -----------------------------------------------------------------------------------------------------------
    # Choosing the file and the columns

    def _choose_file(self) -> None:
        # open(), not exec(): a nested event loop would stall the engine's coroutines (DESIGN.md §3.5).
        dialog = QFileDialog(self, "Import candles from CSV", "", "CSV files (*.csv *.txt);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(lambda path: self.load_file(Path(path)))
        dialog.open()

    def load_file(self, path: Path) -> bool:
        """Show the first rows of ``path`` and the guessed columns; return False (and say why) if it is unusable."""
        self._clear_outcome()
        try:
            preview = preview_csv(path, PREVIEW_ROWS)
        except (OSError, ValueError) as error:
            self.preview = None
            self.preview_model.set_preview([], [], [])
            self.file_edit.setText(str(path))
            self._show_status(str(error), ERROR_STYLE)
            self._update_buttons()
            return False
        self.preview = preview
        self.file_edit.setText(str(path))
        if not self.symbol_edit.text().strip():
            self.symbol_edit.setText(suggested_symbol(path))
        if preview.interval is not None:
            self.interval_combo.setCurrentText(preview.interval)
        self.preview_model.set_preview(preview.header, preview.rows, preview.row_lines)
        for field, combo in self.column_combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(preview.header)
            combo.setCurrentText(getattr(preview.mapping, field))
            combo.blockSignals(False)
        self.time_unit_combo.blockSignals(True)
        self.time_unit_combo.setCurrentIndex(self.time_unit_combo.findData(preview.mapping.time_unit))
        self.time_unit_combo.blockSignals(False)
        self.preview_table.resizeColumnsToContents()
        self._mapping_edited()
        return True

    def mapping(self) -> ColumnMapping | None:
        """Return the columns chosen, or None (with the reason shown) while they are not a valid mapping."""
        if self.preview is None:
            return None
        values = {field: combo.currentText() for field, combo in self.column_combos.items()}
        try:
            mapping = ColumnMapping.for_header(
                self.preview.header, **values, time_unit=self.time_unit_combo.currentData()
            )
        except ValidationError as error:
            self.mapping_error.setText(
                "; ".join(str(item["msg"]).removeprefix("Value error, ") for item in error.errors())
            )
            return None
        self.mapping_error.clear()
        return mapping

    def _mapping_edited(self) -> None:
        self._clear_outcome()
        mapping = self.mapping()
        if mapping is not None:
            self.preview_model.set_mapping({field: getattr(mapping, field) for field, _ in MAPPED_FIELDS})
        self._update_buttons()

    def _update_buttons(self) -> None:
        ready = (
            self.preview is not None
            and not self.mapping_error.text()
            and bool(self.exchange_edit.text().strip())
            and bool(self.symbol_edit.text().strip())
            and self.import_task is None
        )
        self.import_button.setEnabled(ready)
        self.import_prefix_button.setEnabled(ready)

    # -----------------------------------------------------------------------------------------------------------
    # Importing

    def start_import(self, *, valid_prefix: bool) -> asyncio.Task[None] | None:
        """Import the file off the GUI thread; return the task, or None when the form is not ready."""
        mapping = self.mapping()
        if self.preview is None or mapping is None or self.import_task is not None:
            return None
        exchange, symbol = self.exchange_edit.text().strip(), self.symbol_edit.text().strip()
        if not exchange or not symbol:
            return None
        path = Path(self.file_edit.text())
        interval = self.interval_combo.currentText()
        self._clear_outcome()
        self._show_status(f"Checking {path.name}…", "")
        self.import_task = asyncio.ensure_future(self._import(exchange, symbol, interval, path, mapping, valid_prefix))
        self._set_busy(True)
        return self.import_task

    async def _import(
        self, exchange: str, symbol: str, interval: str, path: Path, mapping: ColumnMapping, valid_prefix: bool
    ) -> None:
        try:
            result = await self._store.worker.call(
                import_candle_csv, self._store, exchange, symbol, interval, path, mapping, valid_prefix=valid_prefix
            )
        except CsvImportError as error:
            self._show_refusal(error)
        except Exception as error:  # a bad file, a locked store: say so in the dialog, never lose it to the log
            self._show_status(str(error), ERROR_STYLE)
        else:
            self._show_imported(result, exchange, symbol, interval)
            self.imported.emit(exchange, symbol, interval)
        finally:
            self.import_task = None
            self._set_busy(False)

    def _show_refusal(self, error: CsvImportError) -> None:
        if not error.errors:
            self._show_status(str(error), ERROR_STYLE)
            return
        first_line = error.errors[0].row
        problems = "1 error" if error.error_count == 1 else f"{error.error_count} errors"
        self._show_status(
            f"{Path(self.file_edit.text()).name} was not imported ({problems}): fix these lines and import again.",
            ERROR_STYLE,
        )
        self.errors_list.clear()
        self.errors_list.addItems([row_error.message for row_error in error.errors[:LISTED_ERRORS]])
        listed = min(len(error.errors), LISTED_ERRORS)
        if error.error_count > listed:
            self.errors_list.addItem(f"… and {error.error_count - listed} more")
        self.errors_list.show()
        self.preview_model.set_bad_lines({row_error.row for row_error in error.errors})
        if error.valid_rows:
            self.import_prefix_button.setText(f"Import the {error.valid_rows} valid rows before line {first_line}")
            self.import_prefix_button.show()

    def _show_imported(self, result: CsvImportResult, exchange: str, symbol: str, interval: str) -> None:
        what = f"{result.imported} candle" if result.imported == 1 else f"{result.imported} candles"
        self._show_status(f"Imported {what} into {exchange} · {symbol} · {interval}.", SUCCESS_STYLE)

    # -----------------------------------------------------------------------------------------------------------
    # State

    def _clear_outcome(self) -> None:
        self.status_label.clear()
        self.errors_list.clear()
        self.errors_list.hide()
        self.import_prefix_button.hide()
        self.preview_model.set_bad_lines(set())

    def _show_status(self, text: str, style: str) -> None:
        self.status_label.setStyleSheet(style)
        self.status_label.setText(text)

    def _set_busy(self, busy: bool) -> None:
        self.busy_bar.setVisible(busy)
        for widget in (self.browse_button, self.exchange_edit, self.symbol_edit, self.interval_combo):
            widget.setEnabled(not busy)
        self._update_buttons()
