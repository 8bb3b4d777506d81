"""The fake binance spot exchange: a real HTTP server on 127.0.0.1 in a thread, speaking REST API v3 as ccxt calls it.

Public endpoints: ``ping``, ``time``, ``exchangeInfo`` (the listed markets with their filters and order types),
``klines`` (1m candles up to the present), ``ticker/24hr``, ``ticker/price`` and ``ticker/bookTicker`` (the present
close as bid and ask: the book has no spread). Signed endpoints (``X-MBX-APIKEY`` and an HMAC-SHA256 ``signature``
over the query, binance's -2015 / -1022 answers otherwise; ``timestamp`` is required but not compared with the
server's time, which runs on the replayed candles, unless it follows the client's time: see ``follow_client_time``):
``account``, ``order`` (POST, GET, DELETE),
``openOrders`` (GET, DELETE), ``allOrders`` and ``myTrades``. Orders are matched against the candles as the market moves
(`FakeBinance.advance_to`, see `workstation.exchanges.fake_binance.matching`). Faults are injected with
`FakeBinance.inject`; `FakeBinance.fail_next` scripts raw answers for any path.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import select
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from workstation.exchanges.fake_binance import paths, wire
from workstation.exchanges.fake_binance.faults import Fault, FaultKind
from workstation.exchanges.fake_binance.feed import ArrayFeed, CandleFeed
from workstation.exchanges.fake_binance.markets import ORDER_TYPES, listed_markets
from workstation.exchanges.fake_binance.matching import (
    BinanceError,
    Book,
    BookOrder,
    as_decimal,
    parse_new_order,
    unknown_order,
)
from workstation.exchanges.fake_binance.records import ExchangeBalance, ExchangeOrder, ExchangeTrade
from workstation.models.candles import CANDLE_DTYPE
from workstation.timeutil import MINUTE_MS, now_ms

#: The API key and secret the fake exchange accepts unless told others (never a real account's).
FAKE_API_KEY = "fake-binance-api-key"
FAKE_SECRET = "fake-binance-secret"

#: binance's own maximum of candles per klines request, and of trades per myTrades request.
MAX_KLINES_LIMIT = 1000
MAX_TRADES_LIMIT = 1000

#: How long a connection whose response is withheld stays open at most if the client never gives up.
_HOLD_LIMIT_S = 120.0

#: A scripted answer: HTTP 429, HTTP 500, a 200 whose body is not JSON, or ``(status, body)`` as given.
Failure = Literal[429, 500, "garbage"] | tuple[int, str]

_SIGNED = frozenset(
    {
        ("GET", paths.ACCOUNT),
        ("POST", paths.ORDER),
        ("GET", paths.ORDER),
        ("DELETE", paths.ORDER),
        ("GET", paths.OPEN_ORDERS),
        ("GET", paths.ALL_ORDERS),
        ("DELETE", paths.OPEN_ORDERS),
        ("GET", paths.MY_TRADES),
    }
)


#: What binance answers a new order with when asked for ``newOrderRespType=ACK``.
_ACK_KEYS = ("symbol", "orderId", "orderListId", "clientOrderId", "transactTime")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: its path, parameters (query and form body) and headers (lower-case).

    ``arrived`` is ``time.monotonic()`` when it was read (one clock for every process of the machine on Linux).
    """

    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)
    method: str = "GET"
    arrived: float = field(default=0.0, compare=False)


@dataclass
class _Answer:
    """What a request is answered with; ``withhold`` keeps the connection open without answering."""

    status: int = HTTPStatus.OK
    payload: Any = None
    text: str | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    withhold: bool = False

    @classmethod
    def error(cls, problem: BinanceError) -> _Answer:
        return cls(problem.status, {"code": problem.code, "msg": problem.msg})


class FakeBinance:
    """A fake binance spot exchange on ``127.0.0.1`` with a free port; use it as a context manager.

    Every listed market (BTCUSDT, ETHUSDT and ``symbol``) is served the candles. Thread-safe: the HTTP threads and
    the test share one lock.

    Parameters
    ----------
    candles
        ``CANDLE_DTYPE`` 1m candles sorted by open time (gaps allowed), or a `CandleFeed` (e.g. the demo market's
        `DemoFeed`); None for none.
    balances
        The account's free balance per asset at the start; ``{"USDT": 1000.0}`` by default.
    api_key, secret
        The credentials signed requests must carry.
    symbol
        The market the candles are of (listed besides BTCUSDT and ETHUSDT).
    present
        Open time of the present candle (the newest one served and the one market orders fill at); by default the
        last of ``candles``, or the last closed minute of the wall clock for a feed.
    port
        The TCP port on 127.0.0.1; 0 for any free one.
    order_types
        The order types the markets accept: MARKET and LIMIT, and by default STOP_LOSS and TAKE_PROFIT (leave those
        out for an exchange that keeps no protective orders).
    follow_client_time
        Let the signed requests' ``timestamp`` drive the market: the newest one becomes the exchange's time and the
        candle closed last at it the present (`advance_to`; never back). A client on a replay clock then trades at
        the market time it decided at, whatever the wall clock, and a client killed and restarted finds the
        market where it left it (the crash test of issue 16).
    """

    def __init__(
        self,
        candles: np.ndarray | CandleFeed | None = None,
        *,
        balances: Mapping[str, float] | None = None,
        api_key: str = FAKE_API_KEY,
        secret: str = FAKE_SECRET,
        symbol: str = "BTCUSDT",
        present: int | None = None,
        port: int = 0,
        order_types: Sequence[str] = ORDER_TYPES,
        follow_client_time: bool = False,
    ) -> None:
        self.feed: CandleFeed = ArrayFeed(candles) if candles is None or isinstance(candles, np.ndarray) else candles
        self.symbol = symbol
        self.api_key = api_key
        self._secret = secret.encode()
        self.markets = listed_markets(symbol, order_types)
        self.requests: list[RecordedRequest] = []
        self._failures: dict[str, list[Failure]] = {}
        self._faults: list[Fault] = []
        self._applied: list[Fault] = []
        self._book = Book(self.markets, {"USDT": 1000.0} if balances is None else balances)
        self._present = present if present is not None else self._default_present()
        self._cancels = 0
        self.follow_client_time = follow_client_time
        #: The newest signed ``timestamp`` seen when following the client's time.
        self._client_time: int | None = None
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-binance", daemon=True
        )

    def _default_present(self) -> int | None:
        if isinstance(self.feed, ArrayFeed):
            return self.feed.last_open_ms()
        return now_ms() // MINUTE_MS * MINUTE_MS - MINUTE_MS

    @property
    def candles(self) -> np.ndarray:
        """The candles given as an array (empty for a feed)."""
        return self.feed.candles if isinstance(self.feed, ArrayFeed) else np.empty(0, dtype=CANDLE_DTYPE)

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def present(self) -> int | None:
        """Open time of the present candle: the newest served, the one market orders fill at."""
        with self._lock:
            return self._present

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    # -- the market ---------------------------------------------------------------------------------------------

    def advance_to(self, timestamp_ms: int) -> None:
        """Move the market to the candle opening at ``timestamp_ms``, which becomes the present.

        Resting orders are matched against every candle after the present one up to it, in order.

        Raises
        ------
        ValueError
            If ``timestamp_ms`` is before the present (the market never moves back).
        """
        with self._lock:
            if self._present is not None and timestamp_ms < self._present:
                raise ValueError(f"timestamp_ms={timestamp_ms} is before the present candle {self._present}")
            self._advance(timestamp_ms)

    def _advance(self, timestamp_ms: int) -> None:
        """Match the resting orders against the candles after the present up to ``timestamp_ms``'s (lock held)."""
        if self._present is not None:
            symbols = dict.fromkeys(order.symbol for order in self._book.orders if order.working)
            # Minute by minute across the markets, so orders competing for one balance fill in time order.
            passed = sorted(
                (
                    (int(candle["timestamp"]), index, symbol, candle)
                    for index, symbol in enumerate(symbols)
                    for candle in self.feed.between(symbol, self._present + MINUTE_MS, timestamp_ms + MINUTE_MS)
                ),
                key=lambda item: item[:2],
            )
            for _, _, symbol, candle in passed:
                self._book.match(symbol, candle)
        self._present = timestamp_ms

    def now_ms(self) -> int:
        """Return the exchange's time: the close of the present candle (the wall clock without candles).

        Following the client's time, it is the newest signed ``timestamp``.
        """
        with self._lock:
            return self._now()

    def _now(self) -> int:
        if self._client_time is not None:
            return self._client_time
        return now_ms() if self._present is None else self._present + MINUTE_MS - 1

    def _follow(self, signed: str) -> None:
        """Move the market to the signed request's ``timestamp``: the candle closed last then is the present."""
        moment = int(dict(parse_qsl(signed))["timestamp"])
        if self._client_time is not None and moment <= self._client_time:
            return
        self._client_time = moment
        present = moment // MINUTE_MS * MINUTE_MS - MINUTE_MS
        if self._present is None or present > self._present:
            self._advance(present)

    def _last_price(self, symbol: str) -> Decimal | None:
        if self._present is None:
            return None
        newest = self.feed.newest(symbol, self._present + MINUTE_MS, 1)
        return as_decimal(newest["close"][0]) if len(newest) else None

    # -- what a test asserts on ---------------------------------------------------------------------------------

    def orders(self) -> list[ExchangeOrder]:
        """Return every order the exchange accepted, oldest first, as it stands now."""
        with self._lock:
            return [ExchangeOrder.of(order) for order in self._book.orders]

    def trades(self) -> list[ExchangeTrade]:
        """Return every fill, oldest first."""
        with self._lock:
            return [ExchangeTrade.of(trade) for trade in self._book.trades]

    def balances(self) -> dict[str, ExchangeBalance]:
        """Return the account's free and locked balance per asset it has held."""
        with self._lock:
            return {
                asset: ExchangeBalance(float(free), float(self._book.locked.get(asset, Decimal(0))))
                for asset, free in self._book.free.items()
            }

    # -- faults and scripted answers ----------------------------------------------------------------------------

    def inject(self, fault: Fault) -> None:
        """Commit ``fault`` on the next request it hits (see `Fault`); faults hit in the order injected."""
        with self._lock:
            self._faults.append(fault)

    def applied_faults(self) -> list[Fault]:
        """Return the faults committed so far, in order."""
        with self._lock:
            return list(self._applied)

    def pending_faults(self) -> list[Fault]:
        """Return the faults injected and not committed yet."""
        with self._lock:
            return list(self._faults)

    def fail_next(self, path: str, failures: Iterable[Failure]) -> None:
        """Answer the next requests to ``path``, one per item, with the scripted failures (see `Failure`)."""
        with self._lock:
            self._failures.setdefault(path, []).extend(failures)

    def fail_next_klines(self, failures: Iterable[Failure]) -> None:
        """Answer the next klines requests, one per item, with the scripted failures (see `Failure`)."""
        self.fail_next(paths.KLINES, failures)

    def count(self, path: str) -> int:
        """Return how many requests reached ``path``."""
        with self._lock:
            return Counter(request.path for request in self.requests)[path]

    def klines_requests(self) -> list[dict[str, str]]:
        """Return the query parameters of every klines request, in arrival order."""
        with self._lock:
            return [request.query for request in self.requests if request.path == paths.KLINES]

    # -- answering ----------------------------------------------------------------------------------------------

    def answer(self, method: str, path: str, raw_query: str, body: str, headers: Mapping[str, str]) -> _Answer:
        """Record the request and return its answer (called by the HTTP handler's threads)."""
        params = dict(parse_qsl(raw_query)) | dict(parse_qsl(body))
        arrived = time.monotonic()
        with self._lock:
            self.requests.append(RecordedRequest(path, params, dict(headers), method, arrived))
            scripted = self._failures.get(path)
            if scripted:
                return _scripted(scripted.pop(0))
            fault = next((fault for fault in self._faults if fault.hits(method, path)), None)
            if fault is not None:
                self._faults.remove(fault)
                self._applied.append(fault)
            try:
                if (method, path) in _SIGNED:
                    self._check_signature(raw_query if method in ("GET", "DELETE") else body, headers)
                if fault is not None and fault.kind is FaultKind.HTTP_500:
                    return _scripted(500)
                if fault is not None and fault.kind is FaultKind.HTTP_429:
                    return _Answer(
                        HTTPStatus.TOO_MANY_REQUESTS,
                        {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."},
                        headers={"Retry-After": "1"},
                    )
                if fault is not None and fault.kind is FaultKind.REJECT:
                    raise BinanceError(-2010, "New order rejected.")
                answer = self._route(method, path, params, fault)
                if fault is not None and fault.kind is FaultKind.TIMEOUT_AFTER_ACCEPT:
                    answer.withhold = True
                return answer
            except BinanceError as problem:
                return _Answer.error(problem)

    def _check_signature(self, payload: str, headers: Mapping[str, str]) -> None:
        key = headers.get("x-mbx-apikey")
        if not key:
            raise BinanceError(-2014, "API-key format invalid.", HTTPStatus.UNAUTHORIZED)
        if key != self.api_key:
            raise BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", HTTPStatus.UNAUTHORIZED)
        signed, marker, signature = payload.rpartition("&signature=")
        if not marker:
            raise BinanceError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
        expected = hmac.new(self._secret, signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        if "timestamp" not in dict(parse_qsl(signed)):
            raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
        if self.follow_client_time:
            self._follow(signed)

    def _route(self, method: str, path: str, params: dict[str, str], fault: Fault | None) -> _Answer:
        match (method, path):
            case ("GET", paths.PING):
                return _Answer(payload={})
            case ("GET", paths.SYSTEM_STATUS):
                return _Answer(payload={"status": 0, "msg": "normal"})
            case ("GET", paths.TIME):
                return _Answer(payload={"serverTime": self._now()})
            case ("GET", paths.EXCHANGE_INFO):
                return _Answer(payload=self._exchange_info())
            case ("GET", paths.KLINES):
                return _Answer(payload=self._klines(params))
            case ("GET", paths.ACCOUNT):
                return _Answer(payload=wire.account_json(self._book, self._now()))
            case ("POST", paths.ORDER):
                return self._new_order(params, fault)
            case ("GET", paths.ORDER):
                return _Answer(payload=wire.order_json(self._order(params)))
            case ("DELETE", paths.ORDER):
                return _Answer(payload=self._cancel(params, fault))
            case ("GET", paths.OPEN_ORDERS):
                symbol = params.get("symbol")
                if symbol is not None:
                    self._market_of(params)
                return _Answer(
                    payload=[
                        wire.order_json(order)
                        for order in self._book.orders
                        if order.working and symbol in (None, order.symbol)
                    ]
                )
            case ("GET", paths.ALL_ORDERS):
                return _Answer(payload=self._all_orders(params))
            case ("GET", paths.TICKER_24HR | paths.TICKER_PRICE | paths.BOOK_TICKER):
                return _Answer(payload=self._tickers(path, params))
            case ("DELETE", paths.OPEN_ORDERS):
                return _Answer(payload=self._cancel_all(params))
            case ("GET", paths.MY_TRADES):
                return _Answer(payload=self._my_trades(params))
        return _Answer(HTTPStatus.NOT_FOUND, {"code": -1, "msg": f"no such path {method} {path}"})

    def _exchange_info(self) -> dict[str, Any]:
        return {
            "timezone": "UTC",
            "serverTime": self._now(),
            "rateLimits": [],
            "exchangeFilters": [],
            "symbols": [market.exchange_info() for market in self.markets.values()],
        }

    def _market_of(self, params: Mapping[str, str]) -> str:
        symbol = params.get("symbol")
        if not symbol:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
        if symbol not in self.markets:
            raise BinanceError(-1121, "Invalid symbol.")
        return symbol

    def _klines(self, params: Mapping[str, str]) -> list[list[Any]]:
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= MAX_KLINES_LIMIT:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        symbol = self._market_of(params)
        if params.get("interval") != "1m":
            raise BinanceError(-1120, "Invalid interval.")
        end = 2**62 if self._present is None else self._present + MINUTE_MS
        if "endTime" in params:
            end = min(end, int(params["endTime"]) + 1)
        if "startTime" in params:
            start = int(params["startTime"])
            rows = self.feed.between(symbol, start, min(end, start + limit * MINUTE_MS))[:limit]
        else:
            rows = self.feed.newest(symbol, end, limit)
        return wire.klines_rows(rows)

    def _new_order(self, params: Mapping[str, str], fault: Fault | None) -> _Answer:
        request = parse_new_order(params, self.markets)
        fraction = None
        if fault is not None and fault.kind is FaultKind.PARTIAL_FILL:
            fraction = Decimal(repr(fault.fraction))
        order = self._book.place(request, self._last_price(request.symbol), self._now(), fill_fraction=fraction)
        full = wire.new_order_json(order)
        match params.get("newOrderRespType", "FULL"):
            case "ACK":
                return _Answer(payload={key: full[key] for key in _ACK_KEYS})
            case "RESULT":
                return _Answer(payload={key: value for key, value in full.items() if key != "fills"})
        return _Answer(payload=full)

    def _order(self, params: Mapping[str, str]) -> BookOrder:
        symbol = self._market_of(params)
        order_id, client_id = params.get("orderId"), params.get("origClientOrderId")
        if order_id is None and client_id is None:
            raise BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
        order = self._book.find(symbol, order_id, client_id)
        if order is None:
            raise BinanceError(-2013, "Order does not exist.")
        return order

    def _cancel(self, params: Mapping[str, str], fault: Fault | None) -> dict[str, Any]:
        try:
            order = self._order(params)
        except BinanceError as problem:
            raise (unknown_order() if problem.code == -2013 else problem) from None
        if not order.working:
            raise unknown_order()
        if fault is not None and fault.kind is FaultKind.FILL_DURING_CANCEL:
            self._book.fill_now(order, self._last_price(order.symbol), self._now())
            raise unknown_order()
        self._book.cancel(order, self._now())
        return wire.cancelled_order_json(order, self._cancel_id(params), self._now())

    def _cancel_id(self, params: Mapping[str, str]) -> str:
        self._cancels += 1
        return params.get("newClientOrderId") or f"fakecancel{self._cancels}"

    def _cancel_all(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self._market_of(params)
        working = [order for order in self._book.orders if order.working and order.symbol == symbol]
        if not working:
            raise unknown_order()
        answers = []
        for order in working:
            self._book.cancel(order, self._now())
            answers.append(wire.cancelled_order_json(order, self._cancel_id({}), self._now()))
        return answers

    def _tickers(self, path: str, params: Mapping[str, str]) -> Any:
        symbols = [self._market_of(params)] if "symbol" in params else list(self.markets)
        tickers = []
        for symbol in symbols:
            day = self.feed.newest(symbol, self._present + MINUTE_MS, 1440) if self._present is not None else None
            ticker = wire.ticker_json(symbol, np.empty(0, dtype=CANDLE_DTYPE) if day is None else day, self._now())
            if path == paths.TICKER_PRICE:
                ticker = {"symbol": symbol, "price": ticker["lastPrice"]}
            elif path == paths.BOOK_TICKER:
                ticker = {key: ticker[key] for key in ("symbol", "bidPrice", "bidQty", "askPrice", "askQty")}
            tickers.append(ticker)
        return tickers[0] if "symbol" in params else tickers

    def _all_orders(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self._market_of(params)
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= MAX_TRADES_LIMIT:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        orders = [order for order in self._book.orders if order.symbol == symbol]
        if "orderId" in params:
            orders = [order for order in orders if order.order_id >= int(params["orderId"])]
        if "startTime" in params:
            orders = [order for order in orders if order.time >= int(params["startTime"])]
        if "endTime" in params:
            orders = [order for order in orders if order.time <= int(params["endTime"])]
        return [wire.order_json(order) for order in orders[:limit]]

    def _my_trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        symbol = self._market_of(params)
        limit = int(params.get("limit", "500"))
        if not 1 <= limit <= MAX_TRADES_LIMIT:
            raise BinanceError(-1130, "Invalid data sent for a parameter.")
        trades = [trade for trade in self._book.trades if trade.symbol == symbol]
        if "orderId" in params:
            trades = [trade for trade in trades if str(trade.order_id) == params["orderId"]]
        if "fromId" in params:
            trades = [trade for trade in trades if trade.trade_id >= int(params["fromId"])]
        if "startTime" in params:
            trades = [trade for trade in trades if trade.time >= int(params["startTime"])]
        if "endTime" in params:
            trades = [trade for trade in trades if trade.time <= int(params["endTime"])]
        return [wire.trade_json(trade) for trade in trades[:limit]]

    def hold_open(self, connection: Any) -> None:
        """Keep a connection open without answering until the client closes it or the server stops."""
        deadline = time.monotonic() + _HOLD_LIMIT_S
        while not self._closing.is_set() and time.monotonic() < deadline:
            readable, _, _ = select.select([connection], [], [], 0.05)
            if readable:
                try:
                    if not connection.recv(1, socket.MSG_PEEK):  # an empty read: the client hung up
                        return
                except OSError:
                    return
                self._closing.wait(0.05)


class _Server(ThreadingHTTPServer):
    """The HTTP server; a client that hangs up mid-request (a test killed it) is no error of the exchange."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _scripted(failure: Failure) -> _Answer:
    if failure == 429:
        return _Answer(HTTPStatus.TOO_MANY_REQUESTS, text='{"code": -1003, "msg": "Too many requests."}')
    if failure == 500:
        return _Answer(HTTPStatus.INTERNAL_SERVER_ERROR, text="Internal Server Error", content_type="text/plain")
    if failure == "garbage":
        return _Answer(HTTPStatus.OK, text="<<not json at all>>")
    status, body = failure
    return _Answer(status, text=body)


def _handler_for(server: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes: with Nagle's algorithm the body waited ~40 ms for the client's ACK.
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = server.answer(method, parts.path, parts.query, body, headers)
            if answer.withhold:
                self.close_connection = True
                server.hold_open(self.connection)
                return
            text = answer.text if answer.text is not None else json.dumps(answer.payload, separators=(",", ":"))
            data = text.encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the output clean: the requests are recorded, not printed."""

    return Handler
