"""The History dock's content: the saved runs of a ``ws.RunHistory``, newest first, to open, compare or delete."""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.widgets.confirmation import Confirmation
from ui.widgets.formatting import GAIN_TEXT, LOSS_TEXT, fixed, iso, minute_time, or_na, signed

_ModelIndex = QModelIndex | QPersistentModelIndex
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter

RECOVERY_STYLE = "color: #d32f2f;"

#: The value a column sorts by (numbers as numbers, times as epoch ms), not its text.
SORT_ROLE = Qt.ItemDataRole.UserRole
#: The id of the run shown in a row, on every cell of it.
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1

# A missing figure (a run without trades) sorts below every number, in either direction consistently.
_MISSING = float("-inf")


def _period(run: ws.RunSummary) -> str:
    return f"{minute_time(run.frame_start)[:10]} → {minute_time(run.frame_end)[:10]}"


def _number(value: float | None) -> float:
    return _MISSING if value is None else value


#: Per column: header, cell text, sort value, and whether it is a number (right-aligned).
_COLUMNS: tuple[tuple[str, Callable[[ws.RunSummary], str], Callable[[ws.RunSummary], object], bool], ...] = (
    ("Date (UTC)", lambda run: minute_time(run.created_at), lambda run: run.created_at, False),
    ("Strategy", lambda run: run.strategy_name, lambda run: run.strategy_name.casefold(), False),
    ("Symbol", lambda run: run.symbol, lambda run: run.symbol, False),
    ("Period", _period, lambda run: (run.frame_start, run.frame_end), False),
    ("State", lambda run: run.state.capitalize(), lambda run: run.state, False),
    ("Trades", lambda run: str(run.total_signals), lambda run: run.total_signals, True),
    ("Total PnL %", lambda run: or_na(run.total_pnl, lambda pnl: signed(pnl, 2)), lambda r: _number(r.total_pnl), True),
    ("Win rate %", lambda run: or_na(run.win_rate, lambda rate: fixed(rate, 2)), lambda r: _number(r.win_rate), True),
    ("Sharpe", lambda run: or_na(run.sharpe_ratio, lambda s: fixed(s, 3)), lambda r: _number(r.sharpe_ratio), True),
)
HEADERS: tuple[str, ...] = tuple(header for header, *_ in _COLUMNS)
_PNL_COLUMN = HEADERS.index("Total PnL %")
_PERIOD_COLUMN = HEADERS.index("Period")


class RunTableModel(QAbstractTableModel):
    """One row per stored run (``ws.RunSummary``), replaced whole on every refresh."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: list[ws.RunSummary] = []
        self._gain, self._loss = QColor(GAIN_TEXT), QColor(LOSS_TEXT)

    def set_runs(self, runs: Sequence[ws.RunSummary]) -> None:
        """Show ``runs`` in their order (the history lists them newest first)."""
        self.beginResetModel()
        self._runs = list(runs)
        self.endResetModel()

    def rowCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent: _ModelIndex = QModelIndex()) -> int:  # noqa: B008 - Qt's own default
        return 0 if parent.isValid() else len(_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return HEADERS[section]
        return None

    def data(self, index: _ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        run, column = self._runs[index.row()], index.column()
        _, text, sort_value, numeric = _COLUMNS[column]
        if role == Qt.ItemDataRole.DisplayRole:
            return text(run)
        if role == SORT_ROLE:
            return sort_value(run)
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if numeric else _LEFT
        if role == Qt.ItemDataRole.ForegroundRole and column == _PNL_COLUMN and run.total_pnl:
            return self._gain if run.total_pnl > 0 else self._loss
        if role == Qt.ItemDataRole.ToolTipRole and column == _PERIOD_COLUMN:
            return f"{iso(run.frame_start)} → {iso(run.frame_end)} on {run.exchange_name}"
        return None


class _SortProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` with Python's ordering, so tuples and -inf compare as numbers do."""

    def lessThan(self, left: _ModelIndex, right: _ModelIndex) -> bool:
        left_value, right_value = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if left_value == right_value:
            # Equal keys (runs started in the same minute) fall back to the id, so the newest stays on top.
            return bool(left.data(RUN_ID_ROLE) < right.data(RUN_ID_ROLE))
        return bool(left_value < right_value)


class HistoryPanel(QWidget):
    """The saved runs of ``history`` in a sortable table, with Open, Compare and Delete.

    Open (or a double-click, or Enter) asks to show one run; Compare is enabled with exactly two runs selected and
    emits their ids in the order the table shows them; Delete asks for confirmation, then removes the selected
    runs from the file. Call :meth:`refresh` after a run has been saved.

    The file is read and written on the history's own thread (``ws.RunHistory.worker``) while the window goes on:
    the table changes when the history answers.

    Signals
    -------
    error_raised(str, str)
        The history could not be listed or a run not deleted: a one-line title and the details for the Log dock.
    """

    open_requested = Signal(int)
    compare_requested = Signal(int, int)
    error_raised = Signal(str, str)

    def __init__(self, history: ws.RunHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._history = history
        self.table_model = RunTableModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.table_model)

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        # Indicator first: enabling sorting sorts at once, and the newest run belongs on top.
        header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)

        # Why the history is empty when the file it was in could not be read at start (ws.RunHistory.recovery_note).
        self.recovery_label = QLabel(history.recovery_note or "", self)
        self.recovery_label.setWordWrap(True)
        self.recovery_label.setStyleSheet(RECOVERY_STYLE)
        self.recovery_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recovery_label.setVisible(history.recovery_note is not None)

        self.empty_label = QLabel("No saved runs yet: every backtest is saved here when it ends.", self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setEnabled(False)  # the palette's disabled text colour reads as a hint

        self.open_action = self._action("Open", "Show the selected run as it ended", QKeySequence("Return"))
        self.compare_action = self._action("Compare", "Compare the two selected runs side by side")
        self.delete_action = self._action(
            "Delete", "Delete the selected runs from the history", QKeySequence.StandardKey.Delete
        )
        self.open_action.triggered.connect(self._open_selected)
        self.compare_action.triggered.connect(self._compare_selected)
        self.delete_action.triggered.connect(self._confirm_delete)
        self.table.doubleClicked.connect(self._open_index)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([self.open_action, self.compare_action, self.delete_action])

        self.open_button = self._button(self.open_action)
        self.compare_button = self._button(self.compare_action)
        self.delete_button = self._button(self.delete_action)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.compare_button)
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.recovery_label)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty_label, 1)

        self._confirmation = Confirmation(self)
        self.table.selectionModel().selectionChanged.connect(self._update_actions)
        # The listings and deletions under way, held so that the event loop cannot collect one half-way.
        self._tasks: set[asyncio.Task[None]] = set()
        # The panel is built before the event loop runs, with nothing to await on: the first listing waits.
        self._show_runs(history.worker.call_blocking(history.list_runs))

    @property
    def confirm_delete_box(self) -> QMessageBox | None:
        """The delete question while it is open."""
        return self._confirmation.box

    def _action(self, text: str, tip: str, shortcut: QKeySequence | QKeySequence.StandardKey | None = None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(shortcut)
            # Only while the panel has focus: Delete and Enter mean other things in other docks.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        return action

    def _button(self, action: QAction) -> QToolButton:
        button = QToolButton(self)
        button.setDefaultAction(action)  # text, tooltip and enabled state follow the action
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        return button

    def refresh(self) -> asyncio.Task[None]:
        """Reload the runs from the history on its thread; return the task, done once the table shows them."""
        return self._spawn(self.reload())

    async def reload(self) -> None:
        """Read the runs from the history and show them, keeping the selected runs selected where they still exist."""
        try:
            runs = await self._history.worker.call(self._history.list_runs)
        except Exception as exc:
            self.error_raised.emit(f"Could not list the run history: {exc}", traceback.format_exc())
            return
        self._show_runs(runs)

    def _show_runs(self, runs: Sequence[ws.RunSummary]) -> None:
        # The selection as it is now: the trader may have changed it while the history was read.
        selected = self.selected_run_ids()
        self.table_model.set_runs(runs)
        self.table.resizeColumnsToContents()
        self.table.setVisible(bool(runs))
        self.empty_label.setVisible(not runs)
        self.select_runs(selected)

    def selected_run_ids(self) -> list[int]:
        """Return the ids of the selected runs, top to bottom as the table shows them."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda index: index.row())
        return [int(index.data(RUN_ID_ROLE)) for index in rows]

    def select_runs(self, run_ids: Iterable[int]) -> None:
        """Select exactly the rows of ``run_ids`` (unknown ids are skipped)."""
        wanted = set(run_ids)
        selection = QItemSelection()
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(RUN_ID_ROLE) in wanted:
                selection.select(index, index)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(selection, flags)
        self._update_actions()

    def _update_actions(self) -> None:
        count = len(self.table.selectionModel().selectedRows())
        self.open_action.setEnabled(count == 1)
        self.compare_action.setEnabled(count == 2)
        self.delete_action.setEnabled(count > 0)

    def _open_selected(self) -> None:
        run_ids = self.selected_run_ids()
        if len(run_ids) == 1:
            self.open_requested.emit(run_ids[0])

    def _open_index(self, index: QModelIndex) -> None:
        self.open_requested.emit(int(index.data(RUN_ID_ROLE)))

    def _compare_selected(self) -> None:
        run_ids = self.selected_run_ids()
        if len(run_ids) == 2:
            self.compare_requested.emit(run_ids[0], run_ids[1])

    def _confirm_delete(self) -> None:
        run_ids = self.selected_run_ids()
        if not run_ids:
            return
        what = "this run" if len(run_ids) == 1 else f"these {len(run_ids)} runs"
        self._confirmation.ask(
            "Delete runs", f"Delete {what} from the history? This cannot be undone.", lambda: self.delete(run_ids)
        )

    def delete(self, run_ids: Sequence[int]) -> asyncio.Task[None]:
        """Delete ``run_ids`` from the history on its thread, then reload; return the task."""
        return self._spawn(self._delete(list(run_ids)))

    async def _delete(self, run_ids: list[int]) -> None:
        try:
            for run_id in run_ids:
                await self._history.worker.call(self._history.delete, run_id)
        except Exception as exc:
            self.error_raised.emit(f"Could not delete runs from the history: {exc}", traceback.format_exc())
        await self.reload()

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
