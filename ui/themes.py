"""Dark and light themes: a Fusion palette for the widgets; charts take the matching chart palette."""

from __future__ import annotations

from typing import Literal

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

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

_ERROR_PANEL = {
    "dark": "#errorPanel { background: #4a2326; border: 1px solid #8c3a3f; }",
    "light": "#errorPanel { background: #fde8e6; border: 1px solid #e0a39d; }",
}


def apply_theme(app: QApplication, name: ThemeName) -> None:
    """Give every widget of ``app`` the colours of theme ``name`` (Fusion style, so they look alike everywhere)."""
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (_DARK if name == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(colour))
    disabled = QColor("#6b7079") if name == "dark" else QColor("#a0a5ad")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    app.setPalette(palette)
    app.setStyleSheet(_ERROR_PANEL[name])
