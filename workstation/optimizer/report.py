"""The markdown report of a sweep (SPEC §18.3): one table row per job, best first."""

from __future__ import annotations

from typing import Any

from workstation.optimizer.models import OptimizerResult, OptimizerRow
from workstation.reports.formatting import fixed, markdown_table, or_na, signed

__all__ = ["optimizer_report"]


def _params_text(params: dict[str, Any] | None) -> str:
    if params is None:
        return "N/A"
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _one_line(text: str | None) -> str:
    return " ".join(str(text).splitlines())


def _cells(row: OptimizerRow, keys: list[str]) -> list[str]:
    return [
        str(row.rank),
        *(str(row.params.get(key, "")) for key in keys),
        or_na(row.metric_value, lambda value: fixed(value, 3)),
        str(row.total_signals),
        or_na(row.win_rate, lambda value: fixed(value, 2) + "%"),
        or_na(row.total_pnl, lambda value: signed(value, 2) + "%"),
        or_na(row.sharpe_ratio, lambda value: fixed(value, 3)),
        or_na(row.return_percent, lambda value: signed(value, 2) + "%"),
        or_na(row.max_drawdown_percent, lambda value: "0.00%" if value == 0 else fixed(-value, 2) + "%"),
    ]


def optimizer_report(result: OptimizerResult, *, max_rows: int) -> str:
    """Return the markdown report of a sweep.

    Parameters
    ----------
    result
        The sweep's result.
    max_rows
        Rows of the table at most (the best ones); the config's ``report_max_rows``.

    Returns
    -------
    str
        A title, the table ``Rank | <param names…> | <metric> | Total Signals | Win Rate | Total PNL | Sharpe |
        Return | Max DD`` (per trade, then the account's: its return and its deepest fall from its equity peak, in % of
        the peak) and a summary (jobs finished, the best parameters, each failed job with its error).
    """
    title = f"# Optimizer Report: {result.optimizer_name} ({result.symbol})"
    if not result.rows:
        return f"{title}\n\nNo jobs finished."
    keys = list(result.rows[0].params)
    header = ["Rank", *keys, result.metric, "Total Signals", "Win Rate", "Total PNL", "Sharpe", "Return", "Max DD"]
    shown = result.rows[:max_rows]
    lines = [title, "", *markdown_table(header, [_cells(row, keys) for row in shown]), ""]
    if len(shown) < len(result.rows):
        lines.append(f"[Showing the best {len(shown)} of {len(result.rows)} rows.]")
    stopped = " (stopped)" if result.stopped else ""
    lines.append(f"**Jobs finished:** {len(result.rows)} of {result.total_jobs}{stopped}")
    lines.append(f"**Best parameters:** {_params_text(result.best_params)}")
    failed = sorted((row for row in result.rows if row.error is not None), key=lambda row: row.index)
    if failed:
        lines.append(f"**Failed jobs:** {len(failed)}")
        lines.extend(f"- job {row.index} ({_params_text(row.params)}): {_one_line(row.error)}" for row in failed)
    return "\n".join(lines)
