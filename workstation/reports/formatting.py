"""Number, time and markdown-table formatting shared by every report (SPEC §11.1)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TypeVar

from workstation.timeutil import iso

__all__ = [
    "MONTH_NAMES",
    "NOT_AVAILABLE",
    "escape_cell",
    "fixed",
    "iso",
    "markdown_table",
    "or_na",
    "safe",
    "signed",
    "usd",
]

T = TypeVar("T")

#: What a report prints in place of a missing value (and of its unit).
NOT_AVAILABLE = "N/A"

#: Column titles of the monthly returns tables.
MONTH_NAMES: tuple[str, ...] = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fixed(value: float, digits: int) -> str:
    """Format ``value`` with exactly ``digits`` decimals.

    Parameters
    ----------
    value
        The number to format.
    digits
        Number of digits after the decimal point.

    Returns
    -------
    str
        ``format(value, f".{digits}f")``, e.g. ``fixed(1.005, 2) == "1.00"`` (binary rounding, not decimal).
    """
    return format(value, f".{digits}f")


def signed(value: float, digits: int) -> str:
    """Format ``value`` like :func:`fixed`, with a leading ``+`` when it is strictly positive.

    Parameters
    ----------
    value
        The number to format.
    digits
        Number of digits after the decimal point.

    Returns
    -------
    str
        ``"+1.50"`` for 1.5, ``"-0.80"`` for -0.8, ``"0.00"`` for 0.
    """
    return ("+" if value > 0 else "") + fixed(value, digits)


def usd(value: float) -> str:
    """Format a price with 8 decimals and the ``USD`` unit, e.g. ``"42000.00000000 USD"``."""
    return fixed(value, 8) + " USD"


def safe(value: float | None) -> float | None:
    """Return ``value``, or None when it is None, NaN or ±inf (a statistic that cannot be reported).

    Parameters
    ----------
    value
        A computed statistic.

    Returns
    -------
    float or None
        ``value`` when it is a finite number, else None.
    """
    if value is None or not math.isfinite(value):
        return None
    return value


def or_na(value: T | None, render: Callable[[T], str]) -> str:
    """Render ``value`` with ``render``, or return ``"N/A"`` when it is None.

    Parameters
    ----------
    value
        The value to show; None means "not available".
    render
        Turns a present value into its text, unit included (e.g. ``lambda x: fixed(x, 2) + "%"``), so that
        ``N/A`` replaces the value and its unit together.

    Returns
    -------
    str
        The rendered value or ``"N/A"``.
    """
    if value is None:
        return NOT_AVAILABLE
    return render(value)


def escape_cell(text: str) -> str:
    r"""Make ``text`` safe inside one markdown table cell.

    A ``|`` would end the cell, so it becomes ``\|``; a line break would end the row, so each one (``\r\n``,
    ``\n`` or ``\r``) becomes a single space.

    Parameters
    ----------
    text
        Raw cell content.

    Returns
    -------
    str
        The escaped content.
    """
    single_line = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return single_line.replace("|", "\\|")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    r"""Build the lines of a markdown table: a header row, a separator row of ``---`` cells, one line per row.

    Every cell, header cells included, is passed through :func:`escape_cell`.

    Parameters
    ----------
    header
        Column titles.
    rows
        Cell texts, one sequence per row, each as long as ``header``.

    Returns
    -------
    list of str
        The table lines, without line terminators (reports join their lines with ``"\n"``).

    Raises
    ------
    ValueError
        If a row does not have one cell per column.
    """
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {index} has {len(row)} cells, the header has {len(header)}")
    lines = [_row([escape_cell(title) for title in header]), _row(["---"] * len(header))]
    lines.extend(_row([escape_cell(cell) for cell in row]) for row in rows)
    return lines
