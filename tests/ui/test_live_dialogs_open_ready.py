"""Found in the new-user tour of issue 13: the paper trading and live dialogs opened with no strategy and no symbol,
so Start stayed disabled under two red errors until the trader filled both. They open ready to start, like the
Backtest form.
"""

from __future__ import annotations

from ui.live.panel import LivePanel


def test_the_paper_trading_dialog_opens_on_the_first_strategy_and_btcusdt(panel: LivePanel) -> None:
    dialog = panel.open_paper_dialog()
    assert (dialog.error("strategy_name"), dialog.error("symbol")) == ("", "")
    request = dialog.request()
    assert request is not None
    assert (request.strategy_name, request.symbol, request.source) == ("sma-cross-market", "BTCUSDT", "demo")
    assert dialog.start_button.isEnabled()


def test_the_live_dialog_opens_on_the_first_strategy_and_btcusdt_of_the_demo(panel: LivePanel) -> None:
    dialog = panel.open_live_dialog()
    assert dialog.form.error("strategy_name") == ""
    request = dialog.form.result()
    assert request is not None
    assert (request.strategy_name, request.symbol, request.exchange_name) == ("sma-cross-market", "BTCUSDT", "demo")
    assert dialog.start_button.isEnabled()
