"""The run history: every saved backtest in a sortable list, to reopen, compare or delete."""

from ui.history.history_dock import HistoryPanel, RunTableModel

__all__ = ["HistoryPanel", "RunTableModel"]
