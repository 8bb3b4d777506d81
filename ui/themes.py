"""Dark and light themes: a Fusion palette for the widgets; charts take the matching chart palette.

A theme is the application's palette and nothing else: no style sheet holds a colour of it. Widgets with colours of
their own (the error panel, the restore banner, a status in a warning colour) derive them from the palette when they
paint, so every widget follows a theme switch in both directions, and a switch costs one palette change.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOption, QWidget

ThemeName = Literal["dark", "light"]

_DARK = {
    QPalette.ColorRole.Window: "#1e2127",
    QPalette.ColorRole.WindowText: "#d7dae0",
    QPalette.ColorRole.Base: "#16181d",
    QPalette.ColorRole.AlternateBase: "#1b1e24",
    QPalette.ColorRole.ToolTipBase: "#2b2f37",
    QPalette.ColorRole.ToolTipText: "#e6e8ec",
    QPalette.ColorRole.Text: "#d7dae0",
    QPalette.ColorRole.Button: "#2a2e36",
    QPalette.ColorRole.ButtonText: "#d7dae0",
    QPalette.ColorRole.BrightText: "#ff6b6b",
    QPalette.ColorRole.Highlight: "#3d6fb4",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#6ea8ff",
    QPalette.ColorRole.PlaceholderText: "#7d838d",
}

_LIGHT = {
    QPalette.ColorRole.Window: "#f3f4f6",
    QPalette.ColorRole.WindowText: "#1d2127",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f6f7f9",
    QPalette.ColorRole.ToolTipBase: "#ffffe8",
    QPalette.ColorRole.ToolTipText: "#1d2127",
    QPalette.ColorRole.Text: "#1d2127",
    QPalette.ColorRole.Button: "#e8eaee",
    QPalette.ColorRole.ButtonText: "#1d2127",
    QPalette.ColorRole.BrightText: "#c0392b",
    QPalette.ColorRole.Highlight: "#2f6fd1",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#1f5fbf",
    QPalette.ColorRole.PlaceholderText: "#8a9099",
}

#: Error and warning colours that read on the dark and on the light window colour.
_ERROR = {"dark": "#ff6b6b", "light": "#c0392b"}
_WARNING = {"dark": "#f0b429", "light": "#9a6700"}
#: How far a tinted panel's background goes from the window colour towards its accent.
_TINT = 0.18


def apply_theme(app: QApplication, name: ThemeName) -> None:
    """Give every widget of ``app`` the colours of theme ``name`` (Fusion style, so they look alike everywhere)."""
    # Setting a style re-polishes every widget: done once, not at each switch.
    if not isinstance(app.style(), OutlinedIndicatorsStyle):
        app.setStyle(OutlinedIndicatorsStyle())
    palette = QPalette()
    for role, colour in (_DARK if name == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(colour))
    disabled = QColor("#6b7079") if name == "dark" else QColor("#a0a5ad")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)


class OutlinedIndicatorsStyle(QProxyStyle):
    """Fusion, with check boxes outlined in the text colour so that they show on the dark theme.

    Fusion outlines a check box in the window colour darkened, which on the dark theme is the colour of the list or
    form behind it: the walker's strategy list showed names with no box to tick. The outline is read from the
    palette at paint time, so it follows a theme switch like everything else.
    """

    _INDICATORS = (QStyle.PrimitiveElement.PE_IndicatorCheckBox, QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck)

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawPrimitive(
        self,
        element: QStyle.PrimitiveElement,
        option: QStyleOption,
        painter: QPainter,
        widget: QWidget | None = None,
    ) -> None:
        """Draw ``element`` as Fusion does; outline a check box in the palette's text colour, half transparent."""
        super().drawPrimitive(element, option, painter, widget)
        if element not in self._INDICATORS:
            return
        outline = QColor(option.palette.text().color())
        outline.setAlphaF(0.55)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setBrush(QColor(0, 0, 0, 0))
        painter.setPen(QPen(outline, 1))
        painter.drawRect(option.rect.adjusted(0, 0, -1, -1))
        painter.restore()


def theme_of(palette: QPalette) -> ThemeName:
    """Return the theme ``palette`` belongs to: dark when its window colour is dark."""
    return "dark" if palette.window().color().lightness() < 128 else "light"


def error_colour(palette: QPalette) -> QColor:
    """Return the colour of errors that reads on ``palette``'s window colour."""
    return QColor(_ERROR[theme_of(palette)])


def warning_colour(palette: QPalette) -> QColor:
    """Return the colour of warnings that reads on ``palette``'s window colour."""
    return QColor(_WARNING[theme_of(palette)])


def mix(first: QColor, second: QColor, share: float) -> QColor:
    """Return the colour ``share`` of the way from ``first`` to ``second``."""
    return QColor(
        round(first.red() + (second.red() - first.red()) * share),
        round(first.green() + (second.green() - first.green()) * share),
        round(first.blue() + (second.blue() - first.blue()) * share),
    )


def set_frame_colours(widget: QWidget, background: str, foreground: str) -> None:
    """Give ``widget`` and its labels a background and a text colour of their own (a chart's), other roles the theme's.

    A palette, not a style sheet: a style sheet re-polishes the widget and every child at each theme switch.
    """
    palette = QPalette()  # no role set: the ones not set here keep following the application's palette
    palette.setColor(QPalette.ColorRole.Window, QColor(background))
    palette.setColor(QPalette.ColorRole.WindowText, QColor(foreground))
    widget.setPalette(palette)
    widget.setAutoFillBackground(True)


def paint_tinted_panel(widget: QWidget, accent: QColor) -> None:
    """Fill ``widget`` with its window colour tinted towards ``accent``, outlined in ``accent``.

    Call it from ``paintEvent``: the colours are read from the widget's palette as it is now, so the panel follows
    the theme; its text keeps the palette's text colour, which reads on the lightly tinted window colour.
    """
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(accent, 1))
    painter.setBrush(mix(widget.palette().window().color(), accent, _TINT))
    painter.drawRoundedRect(QRectF(widget.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4)
    painter.end()
