"""The trade list of a backtest as CSV: one row per closed result, one column per field.

Nested models are flattened with dotted names (``signal.price_open``, ``pnl.pnl_percentage``) in the order the
models declare their fields, so the columns follow the models and a field added to ``SignalRow`` or ``Pnl`` appears
without touching this module. A field that is not a plain nested model (the entries and partial closes of a position,
the PnL a signal view may carry) is one column holding its JSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from workstation.models.results import ClosedResult

__all__ = ["trade_columns", "trade_list_csv"]


def _nested(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    """Return the model a field always holds, flattened into dotted columns; ``None`` for any other field."""
    annotation = model.model_fields[name].annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _columns(model: type[BaseModel], prefix: str) -> list[str]:
    columns: list[str] = []
    for name in model.model_fields:
        nested = _nested(model, name)
        if nested is not None:
            columns.extend(_columns(nested, f"{prefix}{name}."))
        else:
            columns.append(prefix + name)
    # Computed fields (a signal's ``total_entries``, ``total_partials``) follow the declared ones, as in model_dump.
    columns.extend(prefix + name for name in model.model_computed_fields)
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
        # Flattened exactly where the header is (by the declared type), so a cell never shifts its columns.
        if _nested(type(model), name) is not None:
            cells.extend(_cells(value))
        elif isinstance(value, BaseModel | tuple):
            cells.append(json.dumps(to_jsonable_python(value, by_alias=False), allow_nan=False))
        else:
            cells.append(value)
    cells.extend(getattr(model, name) for name in type(model).model_computed_fields)
    return cells


def trade_list_csv(results: Sequence[ClosedResult]) -> str:
    """Return the closed results as CSV text with the :func:`trade_columns` header.

    Floats are written with Python's shortest round-trip form (reading them back gives the same float), times as
    epoch milliseconds, booleans as ``True``/``False``, a missing value (``pending_at`` None) as an empty cell and a
    list of records (``signal.entries``, ``partial_pnl``) as JSON with the models' field names, which their
    ``model_validate`` reads back.
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
