"""Fault 2: the restore banner was unreadable in the dark theme (light text on a light background), because its
colours were taken before the theme was applied. The banner and the error panel now paint from the palette at paint
time, so they follow every theme switch, both ways."""

from __future__ import annotations

import numpy as np
import pytest
import qasync
from backtest_runs import run_together
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QApplication, QWidget
from signal_factory import signal_row

import workstation as ws
from ui.app import demo_request
from ui.charts import DARK_PALETTE, LIGHT_PALETTE
from ui.main_window import MainWindow
from ui.themes import ThemeName

SHOTS = "/tmp/window-fault02"
#: WCAG 2's minimum contrast for body text.
READABLE = 4.5
TWO_DAYS = demo_request(days=2)


def _luminance(colour: QColor) -> float:
    def channel(value: int) -> float:
        share = value / 255
        return share / 12.92 if share <= 0.03928 else ((share + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(colour.red()) + 0.7152 * channel(colour.green()) + 0.0722 * channel(colour.blue())


def contrast(first: QColor, second: QColor) -> float:
    """Return the WCAG contrast ratio of two colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def pixels(widget: QWidget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    raw = np.frombuffer(bytes(image.constBits()), dtype=np.uint8).reshape(image.height(), -1)
    return raw[:, : image.width() * 3].reshape(image.height(), image.width(), 3)


def background_of(widget: QWidget) -> QColor:
    """Return the colour painted most often inside the widget's edges (its background)."""
    rgb = pixels(widget)[3:-3, 3:-3].reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    red, green, blue = colours[counts.argmax()]
    return QColor(int(red), int(green), int(blue))


def text_colour_painted(label: QWidget, colour: QColor) -> bool:
    """Tell whether some of the label's pixels are painted in ``colour`` (within anti-aliasing's reach)."""
    rgb = pixels(label).astype(int)
    wanted = np.array([colour.red(), colour.green(), colour.blue()])
    return bool((np.abs(rgb - wanted).sum(axis=2) <= 24).any())


def stored_position() -> ws.PersistedLiveSignal:
    signal = signal_row(pending_at=1_704_103_200_000, strategy_name="sma-cross-market")
    return ws.PersistedLiveSignal(kind="open_position", signal=signal)


def assert_readable(widget: QWidget, label: QWidget, theme: ThemeName) -> None:
    background = background_of(widget)
    text = label.palette().color(QPalette.ColorRole.WindowText)
    assert (background.lightness() < 128) == (theme == "dark"), (theme, background.name())
    assert contrast(background, text) >= READABLE, (theme, background.name(), text.name())
    assert text_colour_painted(label, text), (theme, text.name())


@pytest.mark.parametrize("first", ["light", "dark"])
def test_the_restore_banner_and_the_error_panel_stay_readable_through_theme_switches_both_ways(
    window: MainWindow, qapp: QApplication, first: ThemeName
) -> None:
    window.apply_theme(first)
    banner = window.live_panel.banner
    banner.show_records([stored_position()])
    window.report_error("Run sma-cross-market · BTCUSDT failed: no candles", "details")
    qapp.processEvents()

    for theme in (first, "dark" if first == "light" else "light", first):
        window.apply_theme(theme)
        qapp.processEvents()
        assert_readable(banner, banner.title, theme)
        assert_readable(banner, banner.explanation, theme)
        assert_readable(window.error_panel, window.error_panel.message, theme)
        banner.grab().save(f"{SHOTS}-banner-{first}-{theme}.png")
        window.error_panel.grab().save(f"{SHOTS}-error-{first}-{theme}.png")


def test_no_application_style_sheet_is_set_for_them(window: MainWindow, qapp: QApplication) -> None:
    for theme in ("light", "dark"):
        window.apply_theme(theme)  # type: ignore[arg-type]
        assert qapp.styleSheet() == ""
        assert window.error_panel.styleSheet() == ""
        assert window.live_panel.banner.styleSheet() == ""


def test_the_view_menu_ticks_the_theme_that_is_on(window: MainWindow) -> None:
    ticked = {name: action.isChecked() for name, action in window.theme_actions.items()}
    assert ticked == {"dark": window.theme == "dark", "light": window.theme == "light"}
    window.theme_actions["light"].trigger()
    assert (window.theme, window.theme_actions["light"].isChecked()) == ("light", True)
    assert not window.theme_actions["dark"].isChecked()
    window.theme_actions["dark"].trigger()
    assert (window.theme, window.theme_actions["dark"].isChecked()) == ("dark", True)
    assert not window.theme_actions["light"].isChecked()


def test_a_run_tab_hidden_during_a_switch_shows_the_new_theme_when_brought_forward(
    window: MainWindow, qloop: qasync.QEventLoop, qapp: QApplication
) -> None:
    hidden, front = run_together(qloop, window, TWO_DAYS, TWO_DAYS.model_copy(update={"params": {"fast": 10}}))
    assert window.runs.current_tab() is front

    for theme, palette in (("light", LIGHT_PALETTE), ("dark", DARK_PALETTE)):
        window.apply_theme(theme)  # type: ignore[arg-type]
        window.tabs.setCurrentWidget(hidden)
        qapp.processEvents()
        assert background_of(hidden.chart.graphics) == QColor(palette.background), theme
        hidden.grab().save(f"{SHOTS}-run-tab-{theme}.png")
        hidden, front = front, hidden
