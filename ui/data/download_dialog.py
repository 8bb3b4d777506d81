"""The download dialog: fetch a period of candle history for some symbols into the candle store, resumably.

One progress bar per symbol; Cancel stops at once and keeps what was stored, and a later Download of the same
period fetches only what is still missing, its bar starting at the candles already stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ui.forms import SchemaForm

# Model names not exported at ``ws.`` yet (see ui/data/__init__.py).
from workstation import CANDLE_INTERVAL_MINUTES, CandleStore, DownloadProgress, DownloadRequest, download_history

ERROR_STYLE = "color: #d32f2f;"
#: Days the period reaches back by default.
DEFAULT_DAYS = 30


class SymbolProgress:
    """One symbol's rows: its name, a bar of candles stored out of the period's, its state, and its error."""

    def __init__(self, symbol: str, parent: QWidget) -> None:
        self.symbol = symbol
        self.name_label = QLabel(symbol, parent)
        self.bar = QProgressBar(parent)
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("")
        self.state_label = QLabel("Waiting", parent)
        self.error_label = QLabel(parent)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        self.fetched = 0
        self.total = 0
        self.started = False
        self.failed = False

    def widgets(self) -> tuple[QWidget, ...]:
        """Return every widget of the row."""
        return self.name_label, self.bar, self.state_label, self.error_label

    def show_progress(self, report: DownloadProgress) -> None:
        """Show how many of the period's candles the store holds now."""
        self.fetched, self.total = report.fetched_candles, report.total_candles
        self.bar.setRange(0, max(report.total_candles, 1))
        self.bar.setValue(report.fetched_candles if report.total_candles else 1)
        self.bar.setFormat(f"{report.fetched_candles:,} / {report.total_candles:,} candles")
        self.state_label.setText("Done" if report.done else "Downloading")

    def show_state(self, text: str) -> None:
        """Show a state (``Starting``, ``Cancelled``, ``Not started``)."""
        self.state_label.setText(text)

    def show_error(self, text: str) -> None:
        """Show why this symbol failed, under its bar in the error colour."""
        self.failed = True
        self.state_label.setText("Failed")
        self.error_label.setText(text)
        self.error_label.show()


class DownloadHistoryDialog(QDialog):
    """Download candle history for one or more symbols into the candle store.

    The symbols are downloaded one after the other, each with its own progress bar; a symbol that fails shows
    its error on its row and the next one goes on. Cancel cancels the download task at once: what was stored
    stays, and Download again resumes, each bar starting at the candles already stored. Closing the dialog does
    not stop a download (``download_task`` is the handle to cancel on shutdown). The dialog works without
    ``exec()``: callers ``open()`` or ``show()`` it.

    Signals
    -------
    progress_reported(DownloadProgress)
        A symbol's progress, as the download reports it.
    download_finished(str)
        The download ended (finished, failed in part, or cancelled); the text is the status shown.

    Parameters
    ----------
    store
        The candle store to fill.
    exchange_choices
        The exchanges that can download history (ccxt exchanges), first one preselected; None while that list is
        still being loaded (the dialog says so, and :meth:`set_exchange_choices` fills it).
    parent
        The parent widget.
    """

    progress_reported = Signal(object)
    download_finished = Signal(str)

    def __init__(
        self, store: CandleStore, exchange_choices: Sequence[str] | None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download candle history")
        self._store = store
        self._exchange_choices = list(exchange_choices or [])
        self._loading_choices = exchange_choices is None
        self.download_task: asyncio.Task[None] | None = None
        self.rows: dict[str, SymbolProgress] = {}

        self.form = SchemaForm(
            DownloadRequest,
            choices={
                "exchange_name": lambda: list(self._exchange_choices),
                "interval": lambda: list(CANDLE_INTERVAL_MINUTES),
            },
            parent=self,
        )
        today = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
        self.form.set_values(
            {
                "exchange_name": self._exchange_choices[0] if self._exchange_choices else "",
                "symbols": "BTC/USDT",
                "interval": "1m",
                "start": today - timedelta(days=DEFAULT_DAYS),
                "end": today,
            }
        )

        self.rows_widget = QWidget(self)
        self.rows_grid = QGridLayout(self.rows_widget)
        self.rows_grid.setColumnStretch(1, 1)
        self.rows_grid.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.rows_widget)
        self.status_label = QLabel(self)
        self.status_label.setWordWrap(True)

        self.download_button = QPushButton("Download", self)
        self.download_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel download", self)
        self.cancel_button.setToolTip("Stop now; what was downloaded is kept and a later Download resumes")
        self.download_button.clicked.connect(self.start_download)
        self.cancel_button.clicked.connect(self.cancel_download)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.addButton(self.download_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)
        self.form.validity_changed.connect(self._update_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self.resize(620, 460)
        self._show_exchange_choices()

    def set_exchange_choices(self, exchange_choices: Sequence[str]) -> None:
        """Offer these exchanges (the list loaded, or ccxt exchanges registered since the dialog was made)."""
        self._exchange_choices = list(exchange_choices)
        self._loading_choices = False
        self._show_exchange_choices()

    def _show_exchange_choices(self) -> None:
        self.form.refresh_choices()
        if self._exchange_choices and not self.form.values()["exchange_name"]:
            self.form.set_values({"exchange_name": self._exchange_choices[0]})
        if self._loading_choices:
            status = "Loading the list of exchanges…"
        elif not self._exchange_choices:
            status = "No exchange can download history yet: add a ccxt exchange first."
        else:
            status = ""
        self.status_label.setText(status)
        self._update_buttons()

    def request(self) -> DownloadRequest | None:
        """Return the validated request of the form, or None while a field is invalid (its error shows)."""
        result = self.form.result()
        return result if isinstance(result, DownloadRequest) else None

    def start_download(self) -> asyncio.Task[None] | None:
        """Start downloading what the form asks for; return the task, or None if the form is invalid or busy."""
        request = self.request()
        if request is None or self.download_task is not None:
            return None
        self._show_rows(request.symbol_list())
        self.status_label.setStyleSheet("")
        self.status_label.setText(f"Downloading {request.interval} candles from {request.exchange_name}…")
        task = asyncio.ensure_future(self._download(request))
        self.download_task = task
        task.add_done_callback(self._download_done)
        self._update_buttons()
        return task

    def cancel_download(self) -> None:
        """Cancel the running download; the candles stored so far stay."""
        if self.download_task is not None:
            self.download_task.cancel()

    async def _download(self, request: DownloadRequest) -> None:
        for symbol, row in self.rows.items():
            row.started = True
            row.show_state("Starting")
            try:
                await download_history(
                    request.exchange_name,
                    [symbol],
                    request.interval,
                    request.start_ms,
                    request.end_ms,
                    store=self._store,
                    on_progress=self._show_progress,
                )
            except asyncio.CancelledError:
                row.show_state("Cancelled")
                raise
            except Exception as error:  # one symbol's failure (unknown market, network) must not stop the others
                row.show_error(f"{symbol}: {error}")

    def _show_progress(self, report: DownloadProgress) -> None:
        row = self.rows.get(report.symbol)
        if row is not None:
            row.show_progress(report)
        self.progress_reported.emit(report)

    def _download_done(self, task: asyncio.Task[None]) -> None:
        self.download_task = None
        failed = [row.symbol for row in self.rows.values() if row.failed]
        if task.cancelled():
            for row in self.rows.values():
                if not row.started and not row.failed:
                    row.show_state("Not started")
            status, style = "Cancelled. What was downloaded is kept: Download again to resume.", ""
        elif task.exception() is not None:
            status, style = f"Download failed: {task.exception()}", ERROR_STYLE
        elif failed:
            status = (
                f"{len(self.rows) - len(failed)} of {len(self.rows)} symbols downloaded; failed: {', '.join(failed)}"
            )
            style = ERROR_STYLE
        else:
            count = len(self.rows)
            status, style = f"Downloaded {count} {'symbol' if count == 1 else 'symbols'}.", ""
        self.status_label.setStyleSheet(style)
        self.status_label.setText(status)
        self._update_buttons()
        self.download_finished.emit(status)

    def _show_rows(self, symbols: list[str]) -> None:
        for row in self.rows.values():
            for widget in row.widgets():
                self.rows_grid.removeWidget(widget)
                widget.deleteLater()
        self.rows = {}
        for position, symbol in enumerate(symbols):
            row = SymbolProgress(symbol, self.rows_widget)
            self.rows_grid.addWidget(row.name_label, 2 * position, 0)
            self.rows_grid.addWidget(row.bar, 2 * position, 1)
            self.rows_grid.addWidget(row.state_label, 2 * position, 2)
            self.rows_grid.addWidget(row.error_label, 2 * position + 1, 1, 1, 2)
            self.rows[symbol] = row

    def _update_buttons(self) -> None:
        running = self.download_task is not None
        self.download_button.setEnabled(not running and self.form.is_valid() and bool(self._exchange_choices))
        self.cancel_button.setEnabled(running)
        self.form.setEnabled(not running)
