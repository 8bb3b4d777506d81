"""Issue 16, acceptance 5: nothing ever sends a real order in tests.

tests/conftest.py wraps, for the whole session, the one factory of every ccxt instance the workstation uses
(`CcxtConnection._create`, behind each `CcxtVenue` and each ccxt candle source) with tests/order_guard.py: a request
of an instance holding API keys (the only kind that can sign an order) to anywhere but 127.0.0.1 / localhost fails
the test before it leaves. These tests prove the guard is in place and bites, with no network touched: every
connection attempt and name look-up of the event loop is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import workstation as ws
from workstation.exchanges.api_keys import ApiCredentials
from workstation.exchanges.ccxt_exchange import CcxtConnection
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS, FakeBinance

KEYS = ApiCredentials(api_key="guard-test-key", secret="guard-test-secret")
ENTRY = ws.OrderRequest(
    client_order_id="guard-entry", symbol="BTC/USDT", side="buy", type="market", amount=0.001, purpose="manual"
)


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Record every connection and name look-up the event loop is asked for, and refuse it."""
    asked: list[tuple[str, Any]] = []

    async def sock_connect(self: Any, sock: Any, address: Any) -> None:
        asked.append(("connect", address[0]))
        raise OSError("no network in this test")

    async def getaddrinfo(self: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(("resolve", host))
        raise OSError("no network in this test")

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "sock_connect", sock_connect)
    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)
    yield asked


def place(venue: ws.CcxtVenue) -> ws.OrderRecord:
    async def main() -> ws.OrderRecord:
        try:
            return await venue.place(ENTRY)
        finally:
            await venue.aclose()

    return asyncio.run(main())


def test_the_guard_wraps_every_ccxt_connection_of_the_session() -> None:
    assert CcxtConnection._create.__name__ == "create_on_this_machine"


@pytest.mark.parametrize(
    "where",
    [
        {},
        {"sandbox": True},
        {"api_url": "https://api.binance.com"},
        {"api_url": "http://192.0.2.7:8080"},
        {"api_url": "http://127.0.0.1.example.com"},
    ],
    ids=["the exchange", "its testnet", "its URL", "another machine", "a name looking like this machine"],
)
def test_a_venue_pointing_beyond_this_machine_fails_the_test_before_any_network(
    where: dict[str, Any], network: list[tuple[str, Any]]
) -> None:
    venue = ws.CcxtVenue("binance", credentials=KEYS, enableRateLimit=False, **FAKE_BINANCE_OPTIONS, **where)
    with pytest.raises(pytest.fail.Exception, match=r"tests send orders to the fake exchange on 127\.0\.0\.1 only"):
        place(venue)
    assert network == []


def test_a_venue_at_the_fake_exchange_passes_the_guard(network: list[tuple[str, Any]]) -> None:
    with FakeBinance() as server:
        venue = ws.CcxtVenue(
            "binance", credentials=KEYS, api_url=server.url, enableRateLimit=False, **FAKE_BINANCE_OPTIONS
        )
        # Past the guard, the venue reaches for the fake exchange (refused here: no network in this test).
        with pytest.raises(ws.OrderTransientError):
            place(venue)
    assert network == [("connect", "127.0.0.1")]
