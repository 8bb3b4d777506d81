"""Backtest report storage: closed results per key, their statistics and the markdown report (SPEC §11.2)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from workstation.account.report import AccountReport
from workstation.models.results import ClosedResult
from workstation.models.signal import SignalRow
from workstation.reports.figures import (
    ACCOUNT_TITLE,
    PER_TRADE_TITLE,
    SPEC_FIGURES,
    account_figures,
    statistics_figures,
)
from workstation.reports.formatting import fixed, iso, markdown_table, signed, usd
from workstation.reports.statistics import (
    BacktestStatistics,
    compute_backtest_statistics,
    opened_at,
    position_duration_minutes,
)

__all__ = [
    "CLOSED_SIGNAL_COLUMNS",
    "MANAGED_COLUMNS",
    "POSITION_COLUMNS",
    "BacktestReportStorage",
    "backtest_report",
    "closed_signal_cells",
    "closed_signal_columns",
    "is_managed",
    "performance_figures",
    "performance_summary_lines",
    "position_cells",
    "report_key",
]

#: Column titles of the backtest table, in order.
CLOSED_SIGNAL_COLUMNS: tuple[str, ...] = (
    "Signal ID",
    "Symbol",
    "Position",
    "Note",
    "Open Price",
    "Close Price",
    "Take Profit",
    "Stop Loss",
    "PNL (net)",
    "Close Reason",
    "Duration (min)",
    "Open Time",
    "Close Time",
)


#: What a managed position went through: its entries (averaging in), its partial closes and the share they closed.
POSITION_COLUMNS: tuple[str, ...] = ("Entries", "Partial Closes", "Partial Executed")
#: Columns added after :data:`CLOSED_SIGNAL_COLUMNS` when a table holds a managed position: :data:`POSITION_COLUMNS`
#: and the levels it was opened with ("Open Price", "Take Profit" and "Stop Loss" are the effective ones: the
#: entries' average, after trailing and breakeven).
MANAGED_COLUMNS: tuple[str, ...] = (*POSITION_COLUMNS, "Original Open", "Original TP", "Original SL")


def is_managed(signal: SignalRow) -> bool:
    """Whether a command changed the position: an averaging in, a partial close, or a moved stop or take profit.

    The entry price alone does not tell: a walked position's effective entry may differ from its original in the
    last bit (SPEC-position P5).
    """
    return (
        signal.total_entries > 1
        or signal.total_partials > 0
        or signal.price_take_profit != signal.original_price_take_profit
        or signal.price_stop_loss != signal.original_price_stop_loss
    )


def position_cells(signal: SignalRow) -> list[str]:
    """Return the :data:`POSITION_COLUMNS` cells of a position: entries, partial closes, share closed."""
    return [str(signal.total_entries), str(signal.total_partials), fixed(signal.partial_executed, 2) + "%"]


def closed_signal_columns(results: Sequence[ClosedResult]) -> tuple[str, ...]:
    """Return the columns of a table of ``results``: :data:`MANAGED_COLUMNS` too when one of them is managed."""
    if any(is_managed(result.signal) for result in results):
        return CLOSED_SIGNAL_COLUMNS + MANAGED_COLUMNS
    return CLOSED_SIGNAL_COLUMNS


def report_key(symbol: str, strategy_name: str, backtest: bool) -> str:
    """Return the storage key ``symbol:strategy_name:backtest`` or ``symbol:strategy_name:live`` (SPEC §11.1)."""
    return f"{symbol}:{strategy_name}:{'backtest' if backtest else 'live'}"


def closed_signal_cells(result: ClosedResult, managed: bool = False) -> list[str]:
    """Return the raw (unescaped) cells of one closed signal, in :data:`CLOSED_SIGNAL_COLUMNS` order.

    ``managed`` adds the :data:`MANAGED_COLUMNS` cells (a table's :func:`closed_signal_columns` tells).

    Raises
    ------
    ValueError
        If the signal has no ``pending_at``.
    """
    signal = result.signal
    cells = [
        signal.id,
        signal.symbol,
        signal.position.upper(),
        signal.note,
        usd(signal.price_open),
        usd(result.current_price),
        usd(signal.price_take_profit),
        usd(signal.price_stop_loss),
        signed(result.pnl.pnl_percentage, 2) + "%",
        result.close_reason,
        str(position_duration_minutes(result)),
        iso(opened_at(result)),
        iso(result.close_timestamp),
    ]
    if managed:
        cells += [
            *position_cells(signal),
            usd(signal.original_price_open),
            usd(signal.original_price_take_profit),
            usd(signal.original_price_stop_loss),
        ]
    return cells


def performance_figures(statistics: BacktestStatistics) -> list[tuple[str, str, str]]:
    """Return ``(label, text, direction)`` of each backtest-kit 19.5 figure, from win rate to median step size.

    They are the ``SPEC_FIGURES`` of :func:`statistics_figures`, the one list the HTML report and the window show
    too. A None statistic gives ``N/A`` in place of its value and unit; the win rate's text carries its counts.
    """
    return [(figure.label, figure.text, figure.direction) for figure in statistics_figures(statistics)[SPEC_FIGURES]]


def account_summary_lines(account: AccountReport) -> list[str]:
    """Return the markdown lines of a run's account figures, ``**Net profit:** +12.50 (higher is better)`` each."""
    return [
        f"**{figure.label}:** {figure.text}" + (f" ({figure.direction})" if figure.direction else "")
        for figure in account_figures(account)
    ]


def performance_summary_lines(statistics: BacktestStatistics) -> list[str]:
    """Return the summary lines from ``**Win rate:**`` to ``**Median Step Size:**``, as backtest-kit 19.5 prints them.

    The live report prints the same lines after its own counts, so they are kept apart from the backtest counts.
    A None statistic prints ``N/A`` alone; a figure with a better direction says it after its value.
    """
    return [
        f"**{label}:** {value} ({direction})" if direction and value != "N/A" else f"**{label}:** {value}"
        for label, value, direction in performance_figures(statistics)
    ]


@dataclass
class _KeyRecord:
    closed: list[ClosedResult] = field(default_factory=list)


class BacktestReportStorage:
    """Hold the closed results of each ``symbol:strategy_name:mode`` key in memory.

    Every closed result ever added is kept, in arrival order: the statistics cover all of them and
    ``BacktestStatistics.signal_list`` is "all closed results" (SPEC §11.2). The ``report_max_rows`` cap of SPEC
    §11.1 applies when the table is rendered (:meth:`get_report` ``max_rows``); with a constant cap this shows the
    same rows as a list that drops its oldest entry on each push. Cancelled limit orders are not statistics
    (backtest-kit 19.5 ignores them); the run keeps them (``BacktestRun.cancelled``).

    The storage does not subscribe to anything: the caller feeds it from the event hub.
    """

    def __init__(self) -> None:
        self._records: dict[str, _KeyRecord] = {}

    def _record(self, key: str) -> _KeyRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = _KeyRecord()
        return record

    def add_closed(self, result: ClosedResult) -> None:
        """Append a closed result to the key of its symbol, strategy and mode.

        Raises
        ------
        ValueError
            If the signal has no ``pending_at`` (checked here so a bad result fails on arrival, not in a report).
        """
        opened_at(result)  # raises here, on arrival, rather than later in get_data or get_report
        self._record(report_key(result.symbol, result.strategy_name, result.backtest)).closed.append(result)

    def clear(self, symbol: str, strategy_name: str, backtest: bool = True) -> None:
        """Forget everything recorded for one key (a new run starts from an empty report)."""
        self._records.pop(report_key(symbol, strategy_name, backtest), None)

    def clear_all(self) -> None:
        """Forget every key (``ws.reset()``)."""
        self._records.clear()

    def closed_results(self, symbol: str, strategy_name: str, backtest: bool = True) -> list[ClosedResult]:
        """Return every closed result of one key in arrival order ([] for an unknown key), without statistics."""
        record = self._records.get(report_key(symbol, strategy_name, backtest))
        return [] if record is None else list(record.closed)

    def get_data(self, symbol: str, strategy_name: str, backtest: bool = True) -> BacktestStatistics:
        """Return the statistics of one key; an unknown key gives zero counts and None ratios.

        Parameters
        ----------
        symbol, strategy_name
            The pair whose results to summarise.
        backtest
            True for the backtest key, False for the live key.

        Returns
        -------
        BacktestStatistics
            Statistics over every closed result of the key.
        """
        record = self._records.get(report_key(symbol, strategy_name, backtest))
        return compute_backtest_statistics([] if record is None else record.closed)

    def get_report(self, symbol: str, strategy_name: str, backtest: bool = True, *, max_rows: int) -> str:
        r"""Render the markdown report of one key (SPEC §11.2).

        Parameters
        ----------
        symbol, strategy_name
            The pair to report on.
        backtest
            True for the backtest key, False for the live key.
        max_rows
            Most table rows to show (``Config.report_max_rows``): the most recent ones are kept and a
            ``Showing the last R of n closed signals.`` line says when older ones were left out.

        Returns
        -------
        str
            The report lines joined with ``"\n"``, without a trailing newline.

        Raises
        ------
        ValueError
            If ``max_rows`` is less than 1.
        """
        return backtest_report(self.get_data(symbol, strategy_name, backtest), symbol, strategy_name, max_rows=max_rows)


def backtest_report(
    statistics: BacktestStatistics,
    symbol: str,
    strategy_name: str,
    *,
    max_rows: int,
    account: AccountReport | None = None,
) -> str:
    r"""Render the markdown report of a backtest's statistics (SPEC §11.2): a run's, or a run's from the history.

    ``max_rows`` is the most table rows to show (``Config.report_max_rows``): the most recent ones are kept and a
    ``Showing the last R of n closed signals.`` line says when older ones were left out. The lines are joined with
    ``"\n"``, without a trailing newline.

    With the run's ``account``, an ``## Account`` section of its figures in money comes first, and the SPEC §11.2
    part follows under ``## Per trade (% of each position)``; without one the report is SPEC §11.2's alone.

    Raises
    ------
    ValueError
        If ``max_rows`` is less than 1.
    """
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    head = [f"# Backtest Report: {strategy_name} ({symbol})"]
    if account is not None:
        head += ["", f"## {ACCOUNT_TITLE}", "", *account_summary_lines(account), "", f"## {PER_TRADE_TITLE}"]
    total = statistics.total_signals
    if total == 0:
        return "\n".join([*head, "", "No signals closed yet."])
    shown = statistics.signal_list[-max_rows:]
    lines = [*head, ""]
    columns = closed_signal_columns(shown)
    managed = len(columns) > len(CLOSED_SIGNAL_COLUMNS)
    lines.extend(markdown_table(columns, [closed_signal_cells(result, managed) for result in shown]))
    lines.append("")
    if len(shown) < total:
        lines.append(f"Showing the last {len(shown)} of {total} closed signals.")
    lines.append(f"**Total signals:** {total}")
    lines.extend(performance_summary_lines(statistics))
    return "\n".join(lines)
