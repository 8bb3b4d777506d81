"""The texts and colours of the run tables, identical to the markdown and HTML reports of the same run.

The statistics come from the model (``ws.statistics_figures``: label, number, text, direction) and the formatters
are the reports' own (``ws.formatting``); what is here is the window's: the colours, a minute-precision time, the
choice of the better value.
"""

from __future__ import annotations

from typing import Final

import workstation as ws

#: The report's own formatters: the tables write exactly what the markdown and HTML reports write.
fixed = ws.formatting.fixed
signed = ws.formatting.signed
usd = ws.formatting.usd
iso = ws.formatting.iso
or_na = ws.formatting.or_na
NOT_AVAILABLE = ws.formatting.NOT_AVAILABLE
MONTH_NAMES = ws.formatting.MONTH_NAMES

#: The direction of a figure whose higher values are better (``ws.StatisticFigure.direction``).
HIGHER_IS_BETTER: Final = "higher is better"

#: The report's colours (workstation/reports/html.py), so a run reads the same in the window and in the page.
GAIN_TEXT = "#17713a"
LOSS_TEXT = "#b02a20"
GAIN_TINT = "#dff3e6"
LOSS_TINT = "#fbe1de"
HINT_TEXT = "#7a818a"


def minute_time(timestamp: int) -> str:
    """Format epoch milliseconds as ``YYYY-MM-DD HH:MM`` (UTC): the report's time, cut to the minute for a table."""
    return iso(timestamp)[:16].replace("T", " ")


def duration_minutes(result: ws.ClosedResult) -> int | None:
    """Return how long the position was open in whole minutes, as the reports round it.

    None when the signal has no ``pending_at`` (the engine always sets it on a fill; the row stays readable).
    """
    if result.signal.pending_at is None:
        return None
    return ws.position_duration_minutes(result)


def best_of(values: list[float | None], direction: str) -> set[int]:
    """Return the positions of the best values for ``direction``; none when there is nothing to tell apart.

    A figure without a direction, fewer than two known values, or all known values equal, has no winner.
    """
    known = [value for value in values if value is not None]
    if not direction or len(known) < 2 or min(known) == max(known):
        return set()
    best = max(known) if direction == HIGHER_IS_BETTER else min(known)
    return {index for index, value in enumerate(values) if value == best}
