"""Engine → live view: every live event reaches the widgets in batches, one flush per frame of the GUI.

The live runs report on the event hub, not through an iterator the view consumes: tick results on
``signal_live``, reached levels on ``partial_profit`` / ``partial_loss``, position commands (a strategy's or the
trader's) on ``commit``, pauses on ``pause``, ended runs on ``done_live`` and failures on ``error``. ``LiveFeed``
listens to all of them and hands them on, in emission order, as one list at most every
:data:`ui.bridge.FLUSH_INTERVAL_MS`; a quiet feed keeps its timer stopped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

import workstation as ws
from ui.bridge import FLUSH_INTERVAL_MS
from ui.live.runs import LevelBranch, LevelReached, PartialLevelEvent

#: Error sources of live runs: a failed background task, a failed tick, a broker gate or check that failed.
LIVE_ERROR_SOURCES = frozenset({"Live.background", "Live.run", "broker"})


def is_live_error(event: ws.ErrorEvent) -> bool:
    """Tell whether ``event`` comes from a live run (not from a backtest or a listener)."""
    return not event.backtest and event.source in LIVE_ERROR_SOURCES


def error_reason(event: ws.ErrorEvent) -> str:
    """Return what failed, less what changes from one signal or try to the next (a broker gate's signal and try).

    Two errors of a run with the same reason are the same refusal again: a halted desk refuses each entry of a run
    alike, a spot account each short signal.
    """
    exception = event.exception
    if isinstance(exception, ws.BrokerGateError):
        return exception.reason
    return f"{event.exception_type}: {event.message}"


class ErrorRepeats:
    """Counts each live run's errors of one reason in a row: a run's refusals repeat every tick (a halted desk).

    The window reports the first of a row in full (the Log dock, the error panel) and no repeat: the blotter keeps
    the row on one line of the run with a running count, and every error still goes out on ``ws.events.error``.
    """

    def __init__(self) -> None:
        self._last: dict[tuple[str, str, str], tuple[str, int]] = {}

    def count(self, event: ws.ErrorEvent) -> int:
        """Count ``event``; return its place in its run's row of errors with its reason (1: a new reason)."""
        key = (event.source, event.symbol, event.strategy_name)
        reason = error_reason(event)
        last = self._last.get(key)
        count = last[1] + 1 if last is not None and last[0] == reason else 1
        self._last[key] = (reason, count)
        return count


class LiveFeed(QObject):
    """Buffers the live events of every run and emits them in order, one list per flush.

    Signals
    -------
    events_flushed(list)
        The events since the last flush, oldest first: tick results, ``PartialEvent``, ``ws.CommitEvent``,
        ``ws.PauseEvent``, ``ws.DoneEvent`` and ``ws.ErrorEvent`` of live runs as the engine emitted them; the levels
        as :class:`LevelReached` (the payload with its branch, which the payload itself does not carry).
    """

    events_flushed = Signal(list)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: list[Any] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FLUSH_INTERVAL_MS)
        self._timer.timeout.connect(self.flush)
        self._unsubscribers: list[Callable[[], None]] = [
            ws.listen_signal_live(self._buffer),
            ws.listen_partial_profit(lambda event: self._buffer_level("profit", event)),
            ws.listen_partial_loss(lambda event: self._buffer_level("loss", event)),
            ws.listen_commit(self._buffer_live),
            ws.listen_pause(self._buffer_live),
            ws.listen_done_live(self._buffer),
            ws.listen_error(self._buffer_error),
        ]

    def push(self, event: object) -> None:
        """Buffer one event as if the engine had emitted it (a view-side fact such as a stop request)."""
        self._buffer(event)

    def flush(self) -> None:
        """Hand over the events buffered since the last flush, if any."""
        self._timer.stop()
        if self._pending:
            batch, self._pending = self._pending, []
            self.events_flushed.emit(batch)

    def disconnect_engine(self) -> None:
        """Stop listening to the engine (the panel is going away); buffered events are flushed first."""
        self.flush()
        for unsubscribe in self._unsubscribers:
            unsubscribe()
        self._unsubscribers.clear()

    def _buffer(self, event: object) -> None:
        self._pending.append(event)
        if not self._timer.isActive():
            self._timer.start()

    def _buffer_live(self, event: ws.CommitEvent | ws.PauseEvent) -> None:
        if not event.backtest:
            self._buffer(event)

    def _buffer_level(self, branch: LevelBranch, event: PartialLevelEvent) -> None:
        if not event.backtest:
            self._buffer(LevelReached(branch, event))

    def _buffer_error(self, event: ws.ErrorEvent) -> None:
        if is_live_error(event):
            self._buffer(event)
