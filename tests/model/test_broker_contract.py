"""The broker contract's shared pieces: client order ids, order requests, how errors read as verdicts."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from workstation.brokers.errors import OrderDeletedError, OrderRejectedError, OrderTransientError, verdict_of
from workstation.brokers.orders import Balance, MarketRules, OrderRequest, client_order_id


def test_a_client_order_id_is_the_same_for_every_try_and_fits_binance() -> None:
    first = client_order_id("3f0c1d2e-aaaa-4bbb-8ccc-0123456789ab", "entry")
    assert first == client_order_id("3f0c1d2e-aaaa-4bbb-8ccc-0123456789ab", "entry")
    assert first == "ws" + hashlib.sha256(b"3f0c1d2e-aaaa-4bbb-8ccc-0123456789ab/entry").hexdigest()[:30]
    assert len(first) == 32
    assert client_order_id("3f0c1d2e-aaaa-4bbb-8ccc-0123456789ab", "exit") != first


def test_an_order_request_names_what_is_missing() -> None:
    with pytest.raises(ValidationError, match=r"exactly one of amount and cost \(amount=None, cost=None\)"):
        OrderRequest(client_order_id="a", symbol="BTC/USDT", side="buy", type="market", purpose="manual")
    with pytest.raises(ValidationError, match="price is required for a limit order"):
        OrderRequest(client_order_id="a", symbol="BTC/USDT", side="buy", type="limit", amount=1, purpose="manual")
    with pytest.raises(ValidationError, match=r"cost=5\.0 sizes market orders only"):
        OrderRequest(
            client_order_id="a", symbol="BTC/USDT", side="buy", type="limit", cost=5, price=1, purpose="manual"
        )
    with pytest.raises(ValidationError, match="trigger_price is required for a stop_loss order"):
        OrderRequest(client_order_id="a", symbol="BTC/USDT", side="sell", type="stop_loss", amount=1, purpose="manual")
    with pytest.raises(ValidationError, match="amount"):
        OrderRequest(client_order_id="a", symbol="BTC/USDT", side="buy", type="market", amount=-1, purpose="manual")


@pytest.mark.parametrize(
    ("error", "channel", "verdict"),
    [
        (None, "gate", "confirmed"),
        (OrderTransientError("timeout"), "gate", "transient"),
        (RuntimeError("boom"), "gate", "transient"),
        (OrderRejectedError("no funds"), "gate", "rejected"),
        (OrderDeletedError("gone"), "gate", "transient"),
        (OrderDeletedError("gone"), "check", "deleted"),
        (OrderRejectedError("no funds"), "check", "transient"),
        (None, "check", "confirmed"),
    ],
)
def test_errors_read_as_19_5_verdicts(error: BaseException | None, channel: str, verdict: str) -> None:
    assert verdict_of(error, channel) == verdict  # type: ignore[arg-type]


def test_market_rules_round_amounts_down_and_prices_to_the_step() -> None:
    rules = MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        amount_step=0.00001,
        price_step=0.01,
        min_amount=0.00001,
        min_cost=5.0,
        native_stop_loss=True,
        native_take_profit=False,
    )
    assert rules.round_amount(0.0012345678) == 0.00123
    assert rules.round_amount(0.003) == 0.003
    assert rules.round_price(50000.126) == 50000.13
    assert Balance(asset="USDT", free=90.0, used=10.5).total == 100.5
