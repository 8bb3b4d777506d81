"""The binance spot REST paths the fake exchange answers."""

from __future__ import annotations

PING = "/api/v3/ping"
TIME = "/api/v3/time"
SYSTEM_STATUS = "/sapi/v1/system/status"
EXCHANGE_INFO = "/api/v3/exchangeInfo"
KLINES = "/api/v3/klines"
TICKER_24HR = "/api/v3/ticker/24hr"
TICKER_PRICE = "/api/v3/ticker/price"
BOOK_TICKER = "/api/v3/ticker/bookTicker"
ACCOUNT = "/api/v3/account"
ORDER = "/api/v3/order"
OPEN_ORDERS = "/api/v3/openOrders"
ALL_ORDERS = "/api/v3/allOrders"
MY_TRADES = "/api/v3/myTrades"
