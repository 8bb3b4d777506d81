"""The spot markets the fake exchange lists, and their ``exchangeInfo`` entries with binance's filters."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

#: The order types the fake exchange executes; a market lists them all unless told fewer (``exchangeInfo``'s
#: ``orderTypes``: ccxt refuses any other before sending).
ORDER_TYPES = ("LIMIT", "MARKET", "STOP_LOSS", "TAKE_PROFIT")

#: Quote assets a symbol may end with, longest first, to split an unknown symbol into base and quote.
_QUOTES = ("USDT", "USDC", "BTC")


@dataclass(frozen=True)
class FakeMarket:
    """One spot market: its assets and the filters binance checks every order against.

    Attributes
    ----------
    symbol
        Binance's market id, e.g. ``BTCUSDT``.
    base, quote
        The traded asset and the asset prices are in.
    tick_size
        Prices must be whole multiples of it (``PRICE_FILTER``).
    step_size
        Quantities must be whole multiples of it and at least one step (``LOT_SIZE``).
    min_notional
        The smallest ``price × quantity`` accepted, market orders included (``NOTIONAL``).
    order_types
        The order types the market accepts, of `ORDER_TYPES`.
    """

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_notional: Decimal
    order_types: tuple[str, ...] = ORDER_TYPES

    def exchange_info(self) -> dict[str, Any]:
        """Return the market's entry of ``/api/v3/exchangeInfo``'s ``symbols``, as binance writes it."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": list(self.order_types),
            "icebergAllowed": True,
            "ocoAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": str(self.tick_size),
                    "maxPrice": "1000000.00",
                    "tickSize": str(self.tick_size),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": str(self.step_size),
                    "maxQty": "9000.0",
                    "stepSize": str(self.step_size),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": str(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 0,
                },
            ],
            "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]],
        }


def _market(symbol: str, base: str, quote: str, tick: str, step: str) -> FakeMarket:
    return FakeMarket(symbol, base, quote, Decimal(tick), Decimal(step), Decimal("5"))


#: The markets every fake exchange lists; a server made for another symbol lists that one too.
KNOWN_MARKETS: dict[str, FakeMarket] = {
    market.symbol: market
    for market in (
        _market("BTCUSDT", "BTC", "USDT", "0.01", "0.00001"),
        _market("ETHUSDT", "ETH", "USDT", "0.01", "0.0001"),
        _market("SOLUSDT", "SOL", "USDT", "0.01", "0.001"),
    )
}


def market_for(symbol: str) -> FakeMarket:
    """Return the market of ``symbol``: a known one, or one quoted in the quote asset it ends with.

    Raises
    ------
    ValueError
        If ``symbol`` ends with none of USDT, USDC and BTC.
    """
    if symbol in KNOWN_MARKETS:
        return KNOWN_MARKETS[symbol]
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return _market(symbol, symbol[: -len(quote)], quote, "0.01", "0.001")
    raise ValueError(f"symbol={symbol!r}: the fake exchange lists spot markets quoted in {', '.join(_QUOTES)}")


def listed_markets(symbol: str, order_types: Sequence[str] = ORDER_TYPES) -> dict[str, FakeMarket]:
    """Return the markets of a server made for ``symbol``: BTCUSDT, ETHUSDT and ``symbol``'s, by market id.

    Raises
    ------
    ValueError
        If ``order_types`` names a type the fake exchange does not execute, or lacks MARKET or LIMIT.
    """
    unknown = [name for name in order_types if name not in ORDER_TYPES]
    if unknown or not {"MARKET", "LIMIT"} <= set(order_types):
        raise ValueError(f"order_types={list(order_types)!r}: MARKET and LIMIT, and any of STOP_LOSS and TAKE_PROFIT")
    kept = tuple(name for name in ORDER_TYPES if name in order_types)
    return {
        name: dataclasses.replace(market_for(name), order_types=kept)
        for name in dict.fromkeys(("BTCUSDT", "ETHUSDT", symbol))
    }
