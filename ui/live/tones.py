"""The colours the live tables and level cells speak in, one set per theme, readable on its background."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor

from ui.charts.candle_item import ChartPalette


@dataclass(frozen=True, slots=True)
class LiveTones:
    """Text and cell colours (``#rrggbb``): gains, losses, things in progress, things over, and emphasis."""

    gain: str
    loss: str
    warning: str
    muted: str
    accent: str
    profit_cell: str
    loss_cell: str
    empty_cell: str
    cell_text: str
    dark: bool


DARK_TONES = LiveTones(
    gain="#4cc38a",
    loss="#f0706a",
    warning="#f0b429",
    muted="#7d838d",
    accent="#6ea8ff",
    profit_cell="#1f9d63",
    loss_cell="#d64541",
    empty_cell="#262a32",
    cell_text="#ffffff",
    dark=True,
)

LIGHT_TONES = LiveTones(
    gain="#17713a",
    loss="#b02a20",
    warning="#9a5b00",
    muted="#8a9099",
    accent="#1f5fbf",
    profit_cell="#2e9e5b",
    loss_cell="#d0433b",
    empty_cell="#e9ecf0",
    cell_text="#ffffff",
    dark=False,
)


def tones_for(palette: ChartPalette) -> LiveTones:
    """Return the tones that go with a chart palette: the dark ones on a dark background."""
    return DARK_TONES if QColor(palette.background).lightness() < 128 else LIGHT_TONES
