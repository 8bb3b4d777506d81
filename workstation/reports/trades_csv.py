"""The trade list of a backtest as CSV: one row per closed result, one column per field.

Nested models are flattened with dotted names (``signal.price_open``, ``pnl.pnl_percentage``) in the order the
models declare their fields, so the columns follow the models and a field added to ``SignalRow`` or ``Pnl`` appears
without touching this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from workstation.models.results import ClosedResult

__all__ = ["trade_columns", "trade_list_csv"]


def _columns(model: type[BaseModel], prefix: str) -> list[str]:
    columns: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            columns.extend(_columns(annotation, f"{prefix}{name}."))
        else:
            columns.append(prefix + name)
    return columns


def trade_columns() -> list[str]:
    """Return the CSV header: every field of a closed result, nested models flattened with dotted names.

    Returns
    -------
    list of str
        ``symbol, strategy_name, ..., signal.id, signal.position, ..., pnl.pnl_percentage, ...`` in field order.
    """
    return _columns(ClosedResult, "")


def _cells(model: BaseModel) -> list[Any]:
    cells: list[Any] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            cells.extend(_cells(value))
        else:
            cells.append(value)
    return cells


def trade_list_csv(results: Sequence[ClosedResult]) -> str:
    """Return the closed results as CSV text with the :func:`trade_columns` header.

    Floats are written with Python's shortest round-trip form (reading them back gives the same float), times as
    epoch milliseconds, booleans as ``True``/``False`` and a missing value (``pending_at`` None) as an empty cell.
    Lines end with CRLF (RFC 4180); quoting is the csv module's minimal quoting.

    Parameters
    ----------
    results
        Closed results in close order (``BacktestStatistics.signal_list``).

    Returns
    -------
    str
        The header line and one line per result.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(trade_columns())
    writer.writerows(_cells(result) for result in results)
    return buffer.getvalue()
