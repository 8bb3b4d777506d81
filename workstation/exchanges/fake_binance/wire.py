"""The fake exchange's answers in binance's own JSON shapes (decimals as strings with eight places)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from workstation.exchanges.fake_binance.matching import Book, BookOrder, BookTrade, as_decimal


def amount_text(value: Decimal) -> str:
    """Return a decimal as binance writes quantities and prices: ``"0.00100000"``."""
    return f"{value:.8f}"


def klines_rows(candles: np.ndarray) -> list[list[Any]]:
    """Return ``CANDLE_DTYPE`` candles as binance's klines rows (prices and volume as strings, close time, ...)."""
    return [
        [
            int(row["timestamp"]),
            repr(float(row["open"])),
            repr(float(row["high"])),
            repr(float(row["low"])),
            repr(float(row["close"])),
            repr(float(row["volume"])),
            int(row["timestamp"]) + 59_999,
            "0",
            0,
            "0",
            "0",
            "0",
        ]
        for row in candles
    ]


def ticker_json(symbol: str, day: np.ndarray, now: int) -> dict[str, Any]:
    """Return ``/api/v3/ticker/24hr``'s statistics of ``symbol`` over ``day``, its last 1440 1m candles."""
    if len(day) == 0:
        day = np.zeros(1, dtype=day.dtype)
    first, last = day[0], day[-1]
    volume = float(day["volume"].sum())
    quote_volume = float((day["volume"] * day["close"]).sum())
    close = as_decimal(last["close"])
    change = close - as_decimal(first["open"])
    return {
        "symbol": symbol,
        "priceChange": amount_text(change),
        "priceChangePercent": f"{(change / as_decimal(first['open']) * 100) if first['open'] else 0:.3f}",
        "weightedAvgPrice": amount_text(as_decimal(quote_volume / volume) if volume else close),
        "prevClosePrice": amount_text(as_decimal(first["open"])),
        "lastPrice": amount_text(close),
        "lastQty": amount_text(Decimal(0)),
        "bidPrice": amount_text(close),
        "bidQty": amount_text(Decimal(1)),
        "askPrice": amount_text(close),
        "askQty": amount_text(Decimal(1)),
        "openPrice": amount_text(as_decimal(first["open"])),
        "highPrice": amount_text(as_decimal(day["high"].max())),
        "lowPrice": amount_text(as_decimal(day["low"].min())),
        "volume": amount_text(as_decimal(volume)),
        "quoteVolume": amount_text(as_decimal(quote_volume)),
        "openTime": int(first["timestamp"]),
        "closeTime": now,
        "firstId": -1,
        "lastId": -1,
        "count": 0,
    }


def _order_core(order: BookOrder) -> dict[str, Any]:
    core: dict[str, Any] = {
        "symbol": order.symbol,
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": amount_text(order.price),
        "origQty": amount_text(order.quantity),
        "executedQty": amount_text(order.executed),
        "origQuoteOrderQty": amount_text(order.quote_order_quantity),
        "cummulativeQuoteQty": amount_text(order.quote_executed),
        "status": order.status,
        "timeInForce": "GTC",
        "type": order.type,
        "side": order.side,
    }
    if order.type in ("STOP_LOSS", "TAKE_PROFIT"):
        core["stopPrice"] = amount_text(order.stop_price)
    return core


def order_json(order: BookOrder) -> dict[str, Any]:
    """Return the order as ``GET /api/v3/order`` and ``/api/v3/openOrders`` describe it."""
    return {
        **_order_core(order),
        "stopPrice": amount_text(order.stop_price),
        "icebergQty": amount_text(Decimal(0)),
        "time": order.time,
        "updateTime": order.update_time,
        "isWorking": True,
        "workingTime": order.time,
        "selfTradePreventionMode": "NONE",
    }


def new_order_json(order: BookOrder) -> dict[str, Any]:
    """Return ``POST /api/v3/order``'s answer with ``newOrderRespType=FULL``: the order and its fills."""
    return {
        **_order_core(order),
        "transactTime": order.time,
        "workingTime": order.time,
        "fills": [
            {
                "price": amount_text(trade.price),
                "qty": amount_text(trade.quantity),
                "commission": amount_text(trade.commission),
                "commissionAsset": trade.commission_asset,
                "tradeId": trade.trade_id,
            }
            for trade in order.trades
        ],
        "selfTradePreventionMode": "NONE",
    }


def cancelled_order_json(order: BookOrder, cancel_id: str, now: int) -> dict[str, Any]:
    """Return ``DELETE /api/v3/order``'s answer: binance puts the cancel's own id in ``clientOrderId``."""
    return {
        **_order_core(order),
        "origClientOrderId": order.client_order_id,
        "clientOrderId": cancel_id,
        "transactTime": now,
        "selfTradePreventionMode": "NONE",
    }


def trade_json(trade: BookTrade) -> dict[str, Any]:
    """Return one row of ``GET /api/v3/myTrades``."""
    return {
        "symbol": trade.symbol,
        "id": trade.trade_id,
        "orderId": trade.order_id,
        "orderListId": -1,
        "price": amount_text(trade.price),
        "qty": amount_text(trade.quantity),
        "quoteQty": amount_text(trade.quote_quantity),
        "commission": amount_text(trade.commission),
        "commissionAsset": trade.commission_asset,
        "time": trade.time,
        "isBuyer": trade.side == "BUY",
        "isMaker": trade.is_maker,
        "isBestMatch": True,
    }


def account_json(book: Book, now: int) -> dict[str, Any]:
    """Return ``GET /api/v3/account``: commissions, permissions and every asset the account has held."""
    return {
        "makerCommission": 10,
        "takerCommission": 10,
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": "0.00100000",
            "taker": "0.00100000",
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": False,
        "canDeposit": False,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "balances": [
            {"asset": asset, "free": amount_text(free), "locked": amount_text(book.locked.get(asset, Decimal(0)))}
            for asset, free in book.free.items()
        ],
        "permissions": ["SPOT"],
        "uid": 1,
    }
