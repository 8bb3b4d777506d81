"""A local fake of binance's spot REST API for tests: a real HTTP server on 127.0.0.1 in a thread.

It answers ``/api/v3/exchangeInfo`` (two markets, BTC/USDT and ETH/USDT, with tick and step size filters),
``/api/v3/klines`` (from an in-memory ``CANDLE_DTYPE`` array, honouring ``startTime``, ``endTime`` and ``limit`` as
binance does) and ``/api/v3/account`` (a private call, to see which API key header arrives). Every request is
recorded. The next requests to a path can be scripted to fail with HTTP 429, HTTP 500, a body that is not JSON or any
status and body. ``minute_candles`` makes a candle ladder.

Use it as a context manager and point a ccxt binance at it with ``make_ccxt_exchange(..., api_url=server.url)``::

    with FakeBinance(candles) as server:
        ws.add_exchange(make_ccxt_exchange("fake", "binance", api_url=server.url, **FAKE_BINANCE_OPTIONS))
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import numpy as np

import workstation as ws
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ccxt_exchange import CcxtCandles, make_ccxt_exchange
from workstation.models.candles import CANDLE_DTYPE

#: ccxt options that keep a binance instance on the endpoints this server answers (spot markets only, no currency
#: list, no time sync, no margin pairs).
FAKE_BINANCE_OPTIONS: dict[str, Any] = {
    "options": {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "adjustForTimeDifference": False,
        "fetchMargins": False,
    },
}

T0 = 1704067200000
"""2024-01-01T00:00:00Z in epoch ms."""
MINUTE = 60_000

KLINES = "/api/v3/klines"
EXCHANGE_INFO = "/api/v3/exchangeInfo"
ACCOUNT = "/api/v3/account"

#: binance's own maximum of candles per klines request.
MAX_KLINES_LIMIT = 1000

#: A scripted answer: HTTP 429, HTTP 500, a 200 whose body is not JSON, or ``(status, body)`` as given.
Failure = Literal[429, 500, "garbage"] | tuple[int, str]


def _spot_market(base: str, quote: str, tick_size: str, step_size: str) -> dict[str, Any]:
    return {
        "symbol": base + quote,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "MARKET"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick_size, "maxPrice": "1000000.00", "tickSize": tick_size},
            {"filterType": "LOT_SIZE", "minQty": step_size, "maxQty": "9000.0", "stepSize": step_size},
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
    }


#: The markets the server lists: BTC/USDT (tick 0.01, step 0.00001) and ETH/USDT (tick 0.01, step 0.0001).
_EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": T0,
    "rateLimits": [],
    "exchangeFilters": [],
    "symbols": [_spot_market("BTC", "USDT", "0.01", "0.00001"), _spot_market("ETH", "USDT", "0.01", "0.0001")],
}


def fake_binance(server: FakeBinance, store: CandleStore, *, register: bool = True) -> CcxtCandles:
    """Return the ``get_candles`` of a ccxt binance named ``fake`` that talks to ``server`` and keeps its candles in
    ``store``, registered unless ``register`` is False; close it with ``aclose`` when done."""
    schema = make_ccxt_exchange("fake", "binance", store=store, api_url=server.url, **FAKE_BINANCE_OPTIONS)
    if register:
        ws.add_exchange(schema)
    assert isinstance(schema.get_candles, CcxtCandles)
    return schema.get_candles


def minute_candles(count: int, *, start: int = T0, without: Iterable[int] = ()) -> np.ndarray:
    """Return ``count`` 1m candles from ``start`` minus the minute indexes in ``without``.

    Candle ``k`` opens at ``start + k`` minutes with ``open = 42000 + k / 2``, ``high = open + 10``,
    ``low = open - 10``, ``close = open + 0.25`` and ``volume = 1 + k % 7`` (all exact in binary).
    """
    index = np.arange(count)
    candles = np.empty(count, dtype=CANDLE_DTYPE)
    candles["timestamp"] = start + index * MINUTE
    candles["open"] = 42000.0 + index / 2
    candles["high"] = candles["open"] + 10
    candles["low"] = candles["open"] - 10
    candles["close"] = candles["open"] + 0.25
    candles["volume"] = 1.0 + index % 7
    return np.delete(candles, list(without))


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


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server received: its path, query parameters and headers (lower-case names)."""

    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(repr=False)


class FakeBinance:
    """A fake binance spot API on ``127.0.0.1`` with a free port, serving ``candles`` for every market it lists.

    Parameters
    ----------
    candles
        ``CANDLE_DTYPE`` 1m candles, sorted by timestamp (gaps allowed).
    """

    def __init__(self, candles: np.ndarray | None = None) -> None:
        self.candles = np.empty(0, dtype=CANDLE_DTYPE) if candles is None else candles
        self.requests: list[RecordedRequest] = []
        self._failures: dict[str, list[Failure]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-binance", daemon=True
        )

    @property
    def url(self) -> str:
        """The server's base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def fail_next(self, path: str, failures: Iterable[Failure]) -> None:
        """Answer the next requests to ``path``, one per item, with the scripted failures (see `Failure`)."""
        with self._lock:
            self._failures.setdefault(path, []).extend(failures)

    def fail_next_klines(self, failures: Iterable[Failure]) -> None:
        """Answer the next klines requests, one per item, with the scripted failures (see `Failure`)."""
        self.fail_next(KLINES, failures)

    def count(self, path: str) -> int:
        """Return how many requests reached ``path``."""
        with self._lock:
            return Counter(request.path for request in self.requests)[path]

    def klines_requests(self) -> list[dict[str, str]]:
        """Return the query parameters of every klines request, in arrival order."""
        with self._lock:
            return [request.query for request in self.requests if request.path == KLINES]

    def _record(self, request: RecordedRequest) -> Failure | None:
        with self._lock:
            self.requests.append(request)
            scripted = self._failures.get(request.path)
            if scripted:
                return scripted.pop(0)
        return None

    def _klines(self, query: dict[str, str]) -> tuple[int, Any]:
        limit = int(query.get("limit", "500"))
        if not 1 <= limit <= MAX_KLINES_LIMIT:
            return HTTPStatus.BAD_REQUEST, {"code": -1130, "msg": "Invalid data sent for a parameter."}
        if query.get("symbol") not in ("BTCUSDT", "ETHUSDT"):
            return HTTPStatus.BAD_REQUEST, {"code": -1121, "msg": "Invalid symbol."}
        if query.get("interval") != "1m":
            return HTTPStatus.BAD_REQUEST, {"code": -1120, "msg": "Invalid interval."}
        stamps = self.candles["timestamp"]
        selected = np.ones(len(stamps), dtype=bool)
        if "startTime" in query:
            selected &= stamps >= int(query["startTime"])
        if "endTime" in query:
            selected &= stamps <= int(query["endTime"])
        rows = self.candles[selected]
        rows = rows[:limit] if "startTime" in query else rows[-limit:]
        return HTTPStatus.OK, klines_rows(rows)


def _handler_for(server: FakeBinance) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query))
            headers = {name.lower(): value for name, value in self.headers.items()}
            failure = server._record(RecordedRequest(parts.path, query, headers))
            if failure == 429:
                self._send(HTTPStatus.TOO_MANY_REQUESTS, {"code": -1003, "msg": "Too many requests."})
            elif failure == 500:
                self._send_text(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal Server Error", "text/plain")
            elif failure == "garbage":
                self._send_text(HTTPStatus.OK, "<<not json at all>>", "application/json")
            elif isinstance(failure, tuple):
                self._send_text(failure[0], failure[1], "application/json")
            elif parts.path == EXCHANGE_INFO:
                self._send(HTTPStatus.OK, _EXCHANGE_INFO)
            elif parts.path == KLINES:
                self._send(*server._klines(query))
            elif parts.path == ACCOUNT:
                self._send(
                    HTTPStatus.OK,
                    {"balances": [{"asset": "USDT", "free": "1000.0", "locked": "0.0"}], "accountType": "SPOT"},
                )
            else:
                self._send(HTTPStatus.NOT_FOUND, {"code": -1, "msg": f"no such path {parts.path}"})

        def _send(self, status: int, payload: Any) -> None:
            self._send_text(status, json.dumps(payload), "application/json")

        def _send_text(self, status: int, text: str, content_type: str) -> None:
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean: the requests are recorded, not printed."""

    return Handler
