"""The binance spot REST paths the fake exchange answers."""

from __future__ import annotations

PING = "/api/v3/ping"
TIME = "/api/v3/time"
SYSTEM_STATUS = "/sapi/v1/system/status"
EXCHANGE_INFO = "/api/v3/exchangeInfo"
KLINES = "/api/v3/klines"
ACCOUNT = "/api/v3/account"
ORDER = "/api/v3/order"
OPEN_ORDERS = "/api/v3/openOrders"
MY_TRADES = "/api/v3/myTrades"
