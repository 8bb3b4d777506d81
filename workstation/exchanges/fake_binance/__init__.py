"""A local fake of binance's spot REST API for tests and demos, matched against replayed candles.

It serves markets, klines, the account and orders, with injectable faults (see `FakeBinance` and `Fault`).

Point a ccxt binance at it with ``api_url=server.url`` and `FAKE_BINANCE_OPTIONS`, using `FAKE_API_KEY` and
`FAKE_SECRET`. It binds 127.0.0.1 only.
"""

from __future__ import annotations

from typing import Any

from workstation.exchanges.fake_binance.faults import Fault, FaultKind
from workstation.exchanges.fake_binance.feed import ArrayFeed, CandleFeed, DemoFeed
from workstation.exchanges.fake_binance.markets import FakeMarket
from workstation.exchanges.fake_binance.matching import FEE_RATE
from workstation.exchanges.fake_binance.paths import (
    ACCOUNT,
    EXCHANGE_INFO,
    KLINES,
    MY_TRADES,
    OPEN_ORDERS,
    ORDER,
    PING,
    TIME,
)
from workstation.exchanges.fake_binance.records import ExchangeBalance, ExchangeOrder, ExchangeTrade
from workstation.exchanges.fake_binance.server import (
    FAKE_API_KEY,
    FAKE_SECRET,
    MAX_KLINES_LIMIT,
    Failure,
    FakeBinance,
    RecordedRequest,
)
from workstation.exchanges.fake_binance.wire import klines_rows

__all__ = [
    "ACCOUNT",
    "EXCHANGE_INFO",
    "FAKE_API_KEY",
    "FAKE_BINANCE_OPTIONS",
    "FAKE_SECRET",
    "FEE_RATE",
    "KLINES",
    "MAX_KLINES_LIMIT",
    "MY_TRADES",
    "OPEN_ORDERS",
    "ORDER",
    "PING",
    "TIME",
    "ArrayFeed",
    "CandleFeed",
    "DemoFeed",
    "ExchangeBalance",
    "ExchangeOrder",
    "ExchangeTrade",
    "Failure",
    "FakeBinance",
    "FakeMarket",
    "Fault",
    "FaultKind",
    "RecordedRequest",
    "klines_rows",
]

#: ccxt options that keep a binance instance on the endpoints the fake answers (spot markets only, no currency
#: list, no time sync, no margin pairs).
FAKE_BINANCE_OPTIONS: dict[str, Any] = {
    "options": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "adjustForTimeDifference": False,
        "fetchMargins": False,
    },
}
