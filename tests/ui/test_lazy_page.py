"""LazyPage: a tab page builds its content when first shown, once."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QTabWidget
from pytestqt.qtbot import QtBot

from ui.widgets.lazy_page import LazyPage


def test_the_content_is_built_when_its_tab_is_first_shown_and_only_once(qtbot: QtBot) -> None:
    built: list[QLabel] = []

    def build() -> QLabel:
        built.append(QLabel("equity"))
        return built[-1]

    tabs = QTabWidget()
    qtbot.addWidget(tabs)
    tabs.addTab(QLabel("trades"), "Trades")
    page = LazyPage(build)
    tabs.addTab(page, "Equity")
    tabs.show()
    assert (page.built, built) == (False, [])

    tabs.setCurrentIndex(1)
    tabs.setCurrentIndex(0)
    tabs.setCurrentIndex(1)

    assert page.built
    assert len(built) == 1
    assert page.ensure() is built[0]
