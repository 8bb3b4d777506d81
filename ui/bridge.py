"""Engine → view: results of a run arrive in batches, one flush per frame of the GUI, not one repaint per event.

A run's results come from the ``ws.BacktestRun`` that ``ws.Backtest.run`` returns (no listener on ``signal_backtest``,
which would make the engine build an idle result for every tick nobody wants). Its progress is polled from the run's
own ``get_progress`` at each flush instead of one ``progress_backtest`` event per frame. Engine errors come
from ``ws.listen_error`` and are re-emitted as a Qt signal for the Log dock and the error panel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

import workstation as ws

#: How often buffered results reach the view: 20 flushes a second keeps a run lively and the GUI idle.
FLUSH_INTERVAL_MS = 50


class RunFeed(QObject):
    """Consumes one backtest's results on the event loop and hands them to the view in batches."""

    results_flushed = Signal(list)
    progress_changed = Signal(object)

    def __init__(self, run: ws.BacktestRun, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run = run
        self._pending: list[Any] = []
        self._last_progress: ws.BacktestProgress | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)

    async def pump(self) -> None:
        """Consume the run to its end, flushing every :data:`FLUSH_INTERVAL_MS` and once more at the end."""
        self._timer.start()
        try:
            async for result in self.run:
                self._pending.append(result)
        finally:
            self._timer.stop()
            self.flush()

    def flush(self) -> None:
        """Hand over the results buffered since the last flush, and the progress if it moved."""
        if self._pending:
            batch, self._pending = self._pending, []
            self.results_flushed.emit(batch)
        progress = self.run.get_progress()
        if progress is not None and progress != self._last_progress:
            self._last_progress = progress
            self.progress_changed.emit(progress)


class EngineErrors(QObject):
    """Re-emits the engine's ``error`` events as a Qt signal, for as long as it is connected."""

    error_reported = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = ws.listen_error(self.error_reported.emit)

    def disconnect_engine(self) -> None:
        """Stop listening (the window is closing)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
