"""The optimizer view: a built-in strategy swept over a grid of its parameters, in worker processes or on dask.

The grid is generated from the strategy's parameter model. Run checks the job count (a sweep of more than
:data:`CONFIRM_JOBS` backtests asks first) and the executor (an unreachable dask scheduler is named under the
executor's fields), then awaits the sweep on the event loop: the jobs run in other processes, so the window stays
live. Finished jobs reach the table and the heatmap at most ten times a second, with the progress and an ETA.
A click on a heatmap cell or a double-click on a row opens that parameter set's backtest; Export writes the results
as CSV. A walk-forward analysis shows its windows and the in-sample and out-of-sample totals instead.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as day_start
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

import workstation as ws
from ui.compare.common import METRIC_TITLES, fit_columns, metric_text, title_choices
from ui.compare.grid_editor import GridEditor, SweepGrid, value_text
from ui.compare.heatmap import MetricHeatmap
from ui.compare.sweep_results import SweepRowsModel, base_params, cell_params, heatmap_data, rows_csv
from ui.compare.walk_forward import totals_text, window_cells, window_headers, windows_csv
from ui.forms import SchemaForm
from ui.forms.schema_form import ERROR_STYLE
from ui.widgets.confirmation import Confirmation
from ui.widgets.statistics_table import CellTableModel, CopyableTableView

#: A sweep of more backtests than this asks before it starts.
CONFIRM_JOBS = 10_000
#: Finished jobs reach the table, the heatmap and the progress bar at most this often (milliseconds).
FLUSH_INTERVAL_MS = 100
#: How long Run waits for a dask scheduler to answer, in seconds.
DASK_TIMEOUT_SECONDS = 5.0
#: The period a new view starts with: this many days up to today's midnight (UTC).
DEFAULT_DAYS = 7
_NO_AXIS = "—"


@dataclass(frozen=True)
class SweepPlan:
    """Everything a Run click asked for, checked: the market and period, the grid, the search and where to run."""

    request: ws.SweepRequest
    grid: SweepGrid
    search: ws.SearchSettings
    executor: ws.ExecutorSettings
    jobs: int

    def search_mode(self) -> ws.GridSearch | ws.RandomSearch:
        """Return the engine's search mode."""
        if self.search.mode == "random":
            return ws.RandomSearch(n_samples=self.search.n_samples, seed=self.search.seed)
        return ws.GridSearch()


class OptimizerView(QWidget):
    """Sweep a built-in strategy's parameters and see the ranked results, a heatmap, or walk-forward windows.

    Parameters
    ----------
    open_backtest
        Opens one parameter set's backtest in a run tab (``RunController.start``).
    dask_timeout
        Seconds to wait for a dask scheduler before reporting it unreachable.
    parent
        The parent widget.

    Signals
    -------
    running_changed(bool)
        A sweep started (True) or ended (False), whether it finished, was stopped or failed.
    error_raised(str, str)
        A sweep failed or an export could not be written: a one-line title and the details.
    """

    running_changed = Signal(bool)
    error_raised = Signal(str, str)

    def __init__(
        self,
        open_backtest: Callable[[ws.BacktestRequest], object],
        *,
        dask_timeout: float = DASK_TIMEOUT_SECONDS,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._open_backtest = open_backtest
        self._dask_timeout = dask_timeout
        self._run_task: asyncio.Task[None] | None = None
        self._plan: SweepPlan | None = None
        self._optimizer_name = ""
        self._stop_requested = False
        self._started = 0.0
        self._pending_rows: list[ws.OptimizerRow] = []
        self._progress: ws.OptimizerProgress | None = None
        self._shown_progress: ws.OptimizerProgress | None = None
        self.result: ws.OptimizerResult | None = None
        self.walk_result: ws.WalkForwardResult | None = None
        self.workers = ws.SweepWorkers()
        self.confirmation = Confirmation(self)

        self.market = SchemaForm(
            ws.SweepRequest,
            choices={
                "strategy_name": ws.sweepable_strategies,
                "exchange_name": lambda: ws.exchange_choices(stored=True),
            },
            parent=self,
        )
        title_choices(self.market, "metric", METRIC_TITLES)
        end = datetime.combine(datetime.now(UTC).date(), day_start(), tzinfo=UTC)
        self.market.set_values({"start": end - timedelta(days=DEFAULT_DAYS), "end": end})
        self.grid_editor = GridEditor(self)
        self.search = SchemaForm(ws.SearchSettings, parent=self)
        title_choices(self.search, "mode", {"grid": "Every set (grid)", "random": "Random sets"})
        self.executor = SchemaForm(ws.ExecutorSettings, parent=self)
        title_choices(self.executor, "kind", {"local": "Local processes", "dask": "Dask scheduler"})
        self.executor_error = QLabel(self)
        self.executor_error.setObjectName("executor_error")
        self.executor_error.setStyleSheet(ERROR_STYLE)
        self.executor_error.setWordWrap(True)
        self.executor_error.hide()
        self.run_button = QPushButton("Run", self)
        self.run_button.setObjectName("run")
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stop")
        self.stop_button.setToolTip("Drop the jobs not started yet; the finished ones stay")
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setObjectName("export")

        self.status = QLabel("Choose a strategy and the values of its parameters, then Run.", self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m jobs")
        self.eta = QLabel(self)
        self.eta.setMinimumWidth(self.eta.fontMetrics().horizontalAdvance("ETA 00 h 00 min"))

        self.rows = SweepRowsModel(self)
        self.table = CopyableTableView(self)
        self.table.setModel(self.rows)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.x_axis = QComboBox(self)
        self.x_axis.setObjectName("x_axis")
        self.y_axis = QComboBox(self)
        self.y_axis.setObjectName("y_axis")
        self.heatmap = MetricHeatmap(self)
        self.windows = CellTableModel(self)
        self.windows_table = CopyableTableView(self)
        self.windows_table.setModel(self.windows)
        self.windows_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.windows_table.verticalHeader().hide()
        self.windows_table.horizontalHeader().setStretchLastSection(True)
        self.totals = QLabel(self)
        self.totals.setObjectName("totals")
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._build_layout()
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_INTERVAL_MS)
        self._flush_timer.timeout.connect(self._flush)

        self.market.values_changed.connect(self._market_changed)
        self.grid_editor.grid_changed.connect(self._update_buttons)
        self.search.values_changed.connect(self._settings_changed)
        self.executor.values_changed.connect(self._settings_changed)
        self.run_button.clicked.connect(self.run)
        self.stop_button.clicked.connect(self.stop)
        self.export_button.clicked.connect(self._choose_export_file)
        self.table.doubleClicked.connect(self._open_row)
        self.windows_table.doubleClicked.connect(self._open_window)
        self.heatmap.cell_clicked.connect(self.open_cell)
        self.x_axis.currentIndexChanged.connect(lambda _index: self._refresh_heatmap())
        self.y_axis.currentIndexChanged.connect(lambda _index: self._refresh_heatmap())
        self._market_changed()
        self._settings_changed()

    def _build_layout(self) -> None:
        settings = QWidget(self)
        settings_layout = QVBoxLayout(settings)
        settings_layout.setContentsMargins(0, 0, 6, 0)
        settings_layout.addWidget(self.market)
        for title, body in (("Parameters", self.grid_editor), ("Search", self.search), ("Run on", self.executor)):
            group = QGroupBox(title, settings)
            group_layout = QVBoxLayout(group)
            group_layout.setContentsMargins(6, 6, 6, 6)
            group_layout.addWidget(body)
            if body is self.executor:
                group_layout.addWidget(self.executor_error)
            settings_layout.addWidget(group)
        settings_layout.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidget(settings)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # In a narrow window the settings scroll sideways rather than squeezing their fields or widening the window.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(scroll, 1)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.stop_button, self.export_button):
            buttons.addWidget(button)
        left_layout.addLayout(buttons)

        axes = QHBoxLayout()
        axes.addWidget(QLabel("Heatmap: across", self))
        axes.addWidget(self.x_axis)
        axes.addWidget(QLabel("up", self))
        axes.addWidget(self.y_axis)
        axes.addStretch(1)
        heatmap_panel = QWidget(self)
        heatmap_layout = QVBoxLayout(heatmap_panel)
        heatmap_layout.setContentsMargins(0, 0, 0, 0)
        heatmap_layout.addLayout(axes)
        heatmap_layout.addWidget(self.heatmap, 1)
        results = QSplitter(Qt.Orientation.Vertical, self)
        results.addWidget(self.table)
        results.addWidget(heatmap_panel)
        results.setSizes([300, 360])
        walk = QWidget(self)
        walk_layout = QVBoxLayout(walk)
        walk_layout.setContentsMargins(0, 0, 0, 0)
        walk_layout.addWidget(self.totals)
        walk_layout.addWidget(self.windows_table, 1)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(results)
        self.pages.addWidget(walk)

        progress_line = QHBoxLayout()
        progress_line.addWidget(self.progress, 1)
        progress_line.addWidget(self.eta)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.status)
        right_layout.addLayout(progress_line)
        right_layout.addWidget(self.pages, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([420, 880])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

    # -- commands -----------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Tell whether a sweep is preparing or running."""
        return self._run_task is not None

    def plan(self) -> SweepPlan | None:
        """Return the sweep the settings describe, or None while one is invalid (the reason shows in the status)."""
        request, search, executor = self.market.result(), self.search.result(), self.executor.result()
        grid = self.grid_editor.grid()
        if not (
            isinstance(request, ws.SweepRequest)
            and isinstance(search, ws.SearchSettings)
            and isinstance(executor, ws.ExecutorSettings)
            and grid is not None
        ):
            return None
        per_window = min(search.n_samples, grid.size) if search.mode == "random" else grid.size
        jobs = per_window
        if search.walk_forward:
            windows = ws.walk_forward_windows(request.start, request.end, search)
            if windows == 0:
                days = (request.end - request.start).total_seconds() / 86_400
                self.status.setText(
                    f"The period ({days:g} days) is shorter than train_days + test_days "
                    f"({search.train_days:g} + {search.test_days:g}): no walk-forward window fits."
                )
                return None
            jobs = windows * (per_window + 1)
        return SweepPlan(request, grid, search, executor, jobs)

    def run(self) -> asyncio.Task[None] | None:
        """Start the sweep of the settings; ask first above :data:`CONFIRM_JOBS` jobs. Return the task if started."""
        if self._run_task is not None:
            return None
        plan = self.plan()
        if plan is None:
            return None
        if plan.jobs > CONFIRM_JOBS:
            self.confirmation.ask(
                "Run a large sweep?",
                f"This sweep runs {plan.jobs:,} backtests, more than {CONFIRM_JOBS:,}. It may take a long time; "
                "Stop keeps the jobs finished by then.\n\nRun it?",
                lambda: self.start(plan),
            )
            self.status.setText(f"{plan.jobs:,} jobs: waiting for your answer.")
            return None
        return self.start(plan)

    def start(self, plan: SweepPlan) -> asyncio.Task[None] | None:
        """Start ``plan`` without asking; return its task (None when a sweep is running already)."""
        if self._run_task is not None:
            return None
        self._stop_requested = False
        self._run_task = asyncio.ensure_future(self._sweep(plan))
        self._set_running(True)
        return self._run_task

    def stop(self) -> None:
        """Drop the jobs not started yet; the sweep ends with the jobs finished by then."""
        if self._run_task is None:
            return
        self._stop_requested = True
        self.status.setText("Stopping: the jobs running now finish, the others are dropped…")
        if self._optimizer_name:
            ws.Optimizer.stop(self._optimizer_name)
        self._update_buttons()

    async def shutdown(self) -> None:
        """Stop the sweep, wait for it to end and stop the worker processes (the window is closing)."""
        task = self._run_task
        if task is not None:
            self.stop()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self.close_workers()

    def close_workers(self) -> None:
        """Stop the local worker processes kept between sweeps (the next sweep starts new ones)."""
        self.workers.close()

    def refresh_choices(self) -> None:
        """Offer the exchanges registered since (a strategy file was loaded)."""
        self.market.refresh_choices()

    # -- opening backtests --------------------------------------------------------------------------------

    def open_cell(self, x: int, y: int) -> ws.BacktestRequest | None:
        """Open the backtest of heatmap cell ``(x, y)``; return its request (None if the parameters are refused)."""
        plan = self._plan
        x_name, y_name = self._axes()
        if plan is None or x_name is None:
            return None
        x_values = plan.grid.values[x_name]
        y_value = plan.grid.values[y_name][y] if y_name is not None else None
        fixed = base_params(self.rows.rows(), plan.grid)
        return self._open(plan, cell_params(fixed, x_name, x_values[x], y_name, y_value))

    def _open_row(self, index: QModelIndex) -> None:
        if index.isValid() and self._plan is not None:
            self._open(self._plan, dict(self.rows.row_at(index.row()).params))

    def _open_window(self, index: QModelIndex) -> None:
        plan, result = self._plan, self.walk_result
        if not index.isValid() or plan is None or result is None:
            return
        window = result.windows[index.row()]
        if window.best_params is None:
            return
        self._open(
            plan,
            dict(window.best_params),
            start=datetime.fromtimestamp(window.test_start / 1000, UTC),
            end=datetime.fromtimestamp(window.test_end / 1000, UTC),
        )

    def _open(
        self,
        plan: SweepPlan,
        params: dict[str, Any],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> ws.BacktestRequest | None:
        request = plan.request
        try:
            backtest = ws.comparison_backtest(request, request.strategy_name, params=params, start=start, end=end)
        except ValidationError as exc:
            shown = ", ".join(f"{name}={value_text(value)}" for name, value in params.items())
            reasons = "; ".join(error["msg"].removeprefix("Value error, ") for error in exc.errors())
            self.status.setText(f"Cannot open the backtest of {shown}: {reasons}")
            return None
        self._open_backtest(backtest)
        return backtest

    # -- the sweep ----------------------------------------------------------------------------------------

    async def _sweep(self, plan: SweepPlan) -> None:
        client: Any = None
        unsubscribe: Callable[[], None] | None = None
        try:
            self._begin(plan)
            executor: Any
            if plan.executor.kind == "dask":
                self.status.setText(f"Connecting to the dask scheduler at {plan.executor.address}…")
                client = executor = await asyncio.to_thread(ws.connect_dask, plan.executor.address, self._dask_timeout)
            else:
                executor = self.workers.pool(plan.executor.workers)
            self._optimizer_name = await self._register(plan)
            if self._stop_requested:
                self.status.setText("Stopped before any job started.")
                return
            unsubscribe = ws.listen_progress_optimizer(self._progress_reported)
            self._started = time.monotonic()
            self._flush_timer.start()
            self.status.setText(f"Running {plan.jobs:,} jobs…")
            if plan.search.walk_forward:
                walked = await ws.Optimizer.walk_forward(
                    plan.request.symbol,
                    self._optimizer_name,
                    train_days=plan.search.train_days,
                    test_days=plan.search.test_days,
                    step_days=plan.search.step_days,
                    executor=executor,
                    search=plan.search_mode(),
                )
                self._flush()
                self._show_walk_forward(walked)
            else:
                result = await ws.Optimizer.run(
                    plan.request.symbol, self._optimizer_name, executor, search=plan.search_mode()
                )
                self._flush()
                self._show_result(result)
        except asyncio.CancelledError:
            self.status.setText("Stopped.")
            raise
        except ws.OptimizerError as exc:
            if plan.executor.kind == "dask" and client is None:
                self.executor_error.setText(str(exc))
                self.executor_error.show()
                self.status.setText("The sweep did not start: the dask scheduler cannot be reached.")
            else:
                self._failed(exc)
        except Exception as exc:
            self._failed(exc)
        finally:
            self._flush_timer.stop()
            if unsubscribe is not None:
                unsubscribe()
            if client is not None:
                await asyncio.to_thread(client.close)
            self._run_task = None
            self._set_running(False)

    def _begin(self, plan: SweepPlan) -> None:
        self._plan = plan
        self._optimizer_name = ""
        self.result = self.walk_result = None
        self._pending_rows = []
        self._progress = self._shown_progress = None
        self.executor_error.hide()
        self.status.setText("Preparing…")
        self.rows.start(plan.grid.swept, plan.request.metric)
        fit_columns(self.table)
        self.windows.set_cells(window_headers(plan.request.metric), [])
        self.totals.clear()
        self.pages.setCurrentIndex(1 if plan.search.walk_forward else 0)
        self.progress.setRange(0, max(plan.jobs, 1))
        self.progress.setValue(0)
        self.eta.clear()
        swept = plan.grid.swept
        for combo, choices, chosen in (
            (self.x_axis, swept, swept[0]),
            (self.y_axis, [None, *swept], swept[1] if len(swept) > 1 else None),
        ):
            blocked = combo.blockSignals(True)
            combo.clear()
            for name in choices:
                combo.addItem(name or _NO_AXIS, name)
            combo.setCurrentIndex(combo.findData(chosen))
            combo.blockSignals(blocked)
        self._refresh_heatmap()

    async def _register(self, plan: SweepPlan) -> str:
        prepared = await ws.prepare_sweep(plan.request, plan.grid.values, on_job_complete=self._pending_rows.append)
        return prepared.optimizer_name

    def _progress_reported(self, progress: ws.OptimizerProgress) -> None:
        if progress.optimizer_name == self._optimizer_name:
            self._progress = progress

    def _flush(self) -> None:
        if self._pending_rows:
            # The list itself stays: the optimizer's callback appends to it.
            batch = list(self._pending_rows)
            self._pending_rows.clear()
            first = self.rows.rowCount() == 0
            self.rows.add_rows(batch)
            if first:
                fit_columns(self.table)
            self._refresh_heatmap()
        progress = self._progress
        if progress is not None and progress != self._shown_progress:
            self._shown_progress = progress
            self.progress.setRange(0, max(progress.total_jobs, 1))
            self.progress.setValue(progress.processed_jobs)
            self.eta.setText(_eta_text(time.monotonic() - self._started, progress))

    def _show_result(self, result: ws.OptimizerResult) -> None:
        self.result = result
        self.rows.set_rows(result.rows)
        self._refresh_heatmap()
        finished = len(result.rows)
        self.progress.setRange(0, max(result.total_jobs, 1))
        self.progress.setValue(finished)
        self.eta.clear()
        best = result.rows[0] if result.rows and result.rows[0].metric_value is not None else None
        best_text = ""
        plan = self._plan
        if best is not None and plan is not None:
            shown = ", ".join(f"{name}={value_text(best.params[name])}" for name in plan.grid.swept)
            best_text = f" · best: {shown} ({metric_text(result.metric, best.metric_value)})"
        failed = sum(1 for row in result.rows if row.error)
        failed_text = f" · {failed} failed" if failed else ""
        state = "Stopped" if result.stopped else "Finished"
        self.status.setText(f"{state}: {finished:,} of {result.total_jobs:,} jobs{best_text}{failed_text}.")

    def _show_walk_forward(self, result: ws.WalkForwardResult) -> None:
        self.walk_result = result
        plan = self._plan
        shown = plan.grid.swept if plan is not None else []
        self.windows.set_cells(window_headers(result.metric), window_cells(result, shown))
        fit_columns(self.windows_table)
        self.totals.setText(totals_text(result))
        self.progress.setValue(self.progress.maximum())
        self.eta.clear()
        state = "Stopped" if result.stopped else "Finished"
        self.status.setText(
            f"{state}: walk forward over {len(result.windows)} windows. Double-click a window to open its test."
        )

    def _failed(self, exc: Exception) -> None:
        title = f"The sweep failed: {exc}"
        self.status.setText(title)
        self.error_raised.emit(title, traceback.format_exc())

    # -- heatmap ------------------------------------------------------------------------------------------

    def _axes(self) -> tuple[str | None, str | None]:
        x_name = self.x_axis.currentData()
        y_name = self.y_axis.currentData()
        if y_name == x_name:
            y_name = None
        return x_name, y_name

    def _refresh_heatmap(self) -> None:
        plan = self._plan
        x_name, y_name = self._axes()
        if plan is None or x_name is None:
            self.heatmap.set_data(None)
            return
        data, message = heatmap_data(self.rows.rows(), plan.grid, plan.request.metric, x_name, y_name)
        self.heatmap.set_data(data, message)

    # -- export -------------------------------------------------------------------------------------------

    def export_csv(self, path: str | Path) -> bool:
        """Write the results (or the walk-forward windows) to ``path`` as CSV, atomically; return whether it did.

        A failure shows in the status line and on ``error_raised``.
        """
        plan = self._plan
        if plan is None:
            return False
        if self.walk_result is not None:
            text = windows_csv(self.walk_result)
        else:
            text = rows_csv(self.rows.rows(), list(plan.grid.values), plan.request.metric)
        target = Path(path)
        try:
            ws.write_text_atomically(target, text)
        except OSError as exc:
            title = f"Could not export the results to {target}: {exc.strerror or exc}"
            self.status.setText(title)
            self.error_raised.emit(title, f"{type(exc).__name__}: {exc}")
            return False
        self.status.setText(f"Exported to {target}.")
        return True

    def _choose_export_file(self) -> QFileDialog:
        # open(), not exec(): a nested event loop would stall the engine's coroutines.
        dialog = QFileDialog(self, "Export the sweep's results as CSV", "", "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.export_csv)
        dialog.open()
        return dialog

    # -- state --------------------------------------------------------------------------------------------

    def _market_changed(self) -> None:
        strategy_name = self.market.values().get("strategy_name", "")
        builtin = ws.available_builtin_strategies().get(str(strategy_name))
        if builtin is not None:
            self.grid_editor.set_model(builtin.params_model, pinned=builtin.fixed_params.keys())
        else:
            self.grid_editor.set_model(None)
        self._update_buttons()

    def _settings_changed(self) -> None:
        search = self.search.values()
        random = search.get("mode") == "random"
        for name in ("n_samples", "seed"):
            self._show_field(self.search, name, random)
        for name in ("train_days", "test_days", "step_days"):
            self._show_field(self.search, name, bool(search.get("walk_forward")))
        local = self.executor.values().get("kind") == "local"
        self._show_field(self.executor, "workers", local)
        self._show_field(self.executor, "address", not local)
        if local:
            self.executor_error.hide()
        self._update_buttons()

    @staticmethod
    def _show_field(form: SchemaForm, name: str, visible: bool) -> None:
        form.labels[name].setVisible(visible)
        form.editors[name].widget.setVisible(visible)
        if not visible:
            form.error_labels[name].hide()
        elif form.error(name):
            form.error_labels[name].show()

    def _set_running(self, running: bool) -> None:
        self._update_buttons()
        self.running_changed.emit(running)

    def _update_buttons(self) -> None:
        running = self._run_task is not None
        valid = (
            self.market.is_valid()
            and self.search.is_valid()
            and self.executor.is_valid()
            and self.grid_editor.grid() is not None
        )
        self.run_button.setEnabled(not running and valid)
        self.stop_button.setEnabled(running and not self._stop_requested)
        has_results = self.walk_result is not None or self.rows.rowCount() > 0
        self.export_button.setEnabled(not running and has_results)
        for part in (self.market, self.grid_editor, self.search, self.executor):
            part.setEnabled(not running)


def _eta_text(elapsed: float, progress: ws.OptimizerProgress) -> str:
    done, total = progress.processed_jobs, progress.total_jobs
    if done == 0 or done >= total:
        return ""
    seconds = elapsed / done * (total - done)
    if seconds < 60:
        return f"ETA {seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"ETA {minutes:.0f} min"
    return f"ETA {int(minutes // 60)} h {int(minutes % 60):02d} min"
