"""An exchange backed by ccxt's asynchronous API, reading through the SQLite candle store (SPEC §4.7).

``get_candles`` serves every window from a :class:`CandleStore`; only the parts of the window the store has not
covered yet are asked of the exchange, with ``fetch_ohlcv`` in pages of the exchange's own maximum. So the second
backtest of a period makes no network call. Retrying failed requests is the engine's job (SPEC §4.3): the functions
here raise one clear error per failure.

ccxt is imported on first use, not with the workstation, because importing it takes about half a second.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from workstation import registry
from workstation.exchanges.aggregate import request_window
from workstation.exchanges.api_keys import (
    KEYRING_SERVICE,
    ApiCredentials,
    SecretRedactingFilter,
    load_api_key,
    redact_secrets,
    remember_secrets,
)
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.ohlcv_page import ExchangeResponseError, OhlcvPage, checked_page
from workstation.models.candles import CANDLE_DTYPE
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import CANDLE_INTERVAL_MINUTES, MINUTE_MS, iso, now_ms

__all__ = [
    "CcxtCandles",
    "CcxtConnection",
    "CcxtPrecisionFormat",
    "ExchangeResponseError",
    "close_ccxt_exchanges",
    "load_ccxt",
    "make_ccxt_exchange",
]

logger = logging.getLogger("workstation.exchange")

#: The logger ccxt instances write to (each request at DEBUG level), with API keys scrubbed from every record.
CCXT_LOGGER_NAME = "workstation.exchange.ccxt"

#: ccxt constructor options that would carry credentials: those come from the OS keyring only.
_CREDENTIAL_OPTIONS = frozenset(
    {"apiKey", "secret", "password", "uid", "login", "twofa", "privateKey", "walletAddress", "token", "accountId"}
)

#: Called after each page a download writes: ``(page_start, page_end, candles_in_page)``.
PageSink = Callable[[int, int, int], None]


class _NotJsonResponse(Exception):
    """Raised inside ccxt's request path when a successful response was not JSON."""

    def __init__(self, body: Any) -> None:
        text = body if isinstance(body, str) else type(body).__name__
        super().__init__(text[:80])
        self.body_start = text[:80]


@functools.cache
def _json_checked_class(exchange_id: str) -> Any:
    """Return a subclass of the ccxt exchange class whose requests fail unless the response is JSON.

    ccxt hands a body it cannot parse to the caller as text, and ``fetch_ohlcv`` turns that into an empty list:
    a garbled page would read as "no candles here" and be stored as a gap.

    Its ``log`` (what ccxt's ``verbose`` mode prints: every request with its headers, the API key among them) goes
    to the instance's logger at INFO instead of ``print``, so the logger's filter redacts keys and secrets.
    """
    import ccxt.async_support as ccxt_async  # noqa: PLC0415 (half a second of import, paid on first use only)

    base = getattr(ccxt_async, exchange_id)

    async def fetch(
        self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None
    ) -> dict[str, Any] | list[Any]:
        response = await base.fetch(self, url, method, headers, body)
        if not isinstance(response, dict | list):
            raise _NotJsonResponse(response)
        return response

    def log(self: Any, *args: Any) -> None:
        self.logger.info("%s", " ".join(str(arg) for arg in args).strip())

    return type(base.__name__, (base,), {"fetch": fetch, "log": log, "__module__": __name__})


def _ccxt_logger() -> logging.Logger:
    ccxt_logger = logging.getLogger(CCXT_LOGGER_NAME)
    if not any(isinstance(existing, SecretRedactingFilter) for existing in ccxt_logger.filters):
        ccxt_logger.addFilter(SecretRedactingFilter())
    return ccxt_logger


@contextmanager
def _secrets_scrubbed() -> Iterator[None]:
    """Re-raise any error whose message contains a loaded API key or secret with the values replaced."""
    try:
        yield
    except Exception as exc:
        text = str(exc)
        clean = redact_secrets(text)
        if clean == text:
            raise
        try:
            scrubbed = type(exc)(clean)
        except Exception:
            scrubbed = RuntimeError(clean)
        raise scrubbed from None


def _pointed_at(urls: Any, api_url: str) -> Any:
    """Return ``urls`` (a URL, or nested dicts of them) with every scheme and host replaced by ``api_url``'s."""
    if isinstance(urls, dict):
        return {key: _pointed_at(value, api_url) for key, value in urls.items()}
    if isinstance(urls, str) and "://" in urls:
        return api_url.rstrip("/") + urlsplit(urls).path
    return urls


class CcxtConnection:
    """One lazily created ccxt async instance, its markets loaded once, shared by an exchange's functions.

    The instance belongs to the event loop that created it; a call from another loop gets a new instance.
    Pickling keeps the constructor arguments only, never the instance or a key.

    Parameters
    ----------
    exchange_id
        The ccxt exchange id, e.g. ``"binance"``.
    config
        ccxt constructor options (``options``, ``timeout``, ...); ``enableRateLimit`` defaults to True.
    api_url
        If given, every API URL of the exchange is re-pointed to this scheme and host (paths kept).
    api_key_service
        Keyring service to read the API key and secret from; None for public data only.
    credentials
        The API key and secret to use instead of the keyring's (a connection holding them is never pickled).
    sandbox
        Trade on the exchange's sandbox (testnet) through ccxt's ``set_sandbox_mode``; ``api_url`` still wins.
    """

    def __init__(
        self,
        exchange_id: str,
        config: dict[str, Any] | None = None,
        *,
        api_url: str | None = None,
        api_key_service: str | None = None,
        credentials: ApiCredentials | None = None,
        sandbox: bool = False,
    ) -> None:
        self.exchange_id = exchange_id
        self.config = dict(config or {})
        self.api_url = api_url
        self.api_key_service = api_key_service
        self.sandbox = sandbox
        self._credentials = credentials
        if credentials is not None:
            remember_secrets(credentials)
        self._instance: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        if self._credentials is not None:
            # Pickles go to worker processes and files: keys handed over in memory must not travel with them.
            raise TypeError(f"{self!r} holds API keys handed over in memory: not pickled")
        return (
            _rebuild_connection,
            (self.exchange_id, self.config, self.api_url, self.api_key_service, self.sandbox),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.exchange_id!r})"

    async def exchange(self) -> Any:
        """Return the ccxt instance of the running loop, creating it and loading its markets on first use."""
        loop = asyncio.get_running_loop()
        if self._instance is None or self._loop is not loop:
            if self._instance is not None:
                logger.debug("%s: new ccxt instance for a new event loop", self.exchange_id)
            self._instance = await self._create()
            self._loop = loop
        instance = self._instance
        with _secrets_scrubbed():
            try:
                # ccxt keeps the markets after the first load and shares one load between concurrent callers.
                await instance.load_markets()
            except _NotJsonResponse as exc:
                raise ExchangeResponseError(
                    f"{self.exchange_id}: the markets response was not valid JSON; it starts with "
                    f"{redact_secrets(exc.body_start)!r}"
                ) from None
        return instance

    async def aclose(self) -> None:
        """Close the ccxt instance's HTTP session; the next call opens a new one."""
        instance, self._instance, self._loop = self._instance, None, None
        if instance is not None:
            await instance.close()

    async def _create(self) -> Any:
        config: dict[str, Any] = {"enableRateLimit": True, **copy.deepcopy(self.config)}
        credentials = self._credentials
        if credentials is None and self.api_key_service is not None:
            # The keyring may talk to a desktop service: keep that off the event loop.
            credentials = await asyncio.to_thread(load_api_key, self.exchange_id, service=self.api_key_service)
        if credentials is not None:
            config["apiKey"] = credentials.api_key
            config["secret"] = credentials.secret
        instance = _json_checked_class(self.exchange_id)(config)
        instance.logger = _ccxt_logger()
        if self.sandbox:
            if "test" not in instance.urls:
                raise ValueError(f"sandbox: ccxt knows no sandbox (testnet) of {self.exchange_id}")
            instance.set_sandbox_mode(True)
        if self.api_url is not None:
            instance.urls["api"] = _pointed_at(instance.urls["api"], self.api_url)
        return instance


def _rebuild_connection(
    exchange_id: str, config: dict[str, Any], api_url: str | None, api_key_service: str | None, sandbox: bool = False
) -> CcxtConnection:
    return CcxtConnection(exchange_id, config, api_url=api_url, api_key_service=api_key_service, sandbox=sandbox)


class CcxtCandles:
    """The ``get_candles`` of a ccxt exchange: the candle store first, the exchange for what it lacks.

    Parameters
    ----------
    exchange_name
        The schema's name; the store files the candles under it.
    connection
        The ccxt instance to fetch with.
    store
        Where fetched candles are kept.
    page_limit
        Candles per ``fetch_ohlcv`` call; None for the exchange's own maximum (ccxt's ``features``), or the
        requested count when ccxt does not know it.
    """

    def __init__(
        self, exchange_name: str, connection: CcxtConnection, store: CandleStore, page_limit: int | None = None
    ) -> None:
        self.exchange_name = exchange_name
        self.connection = connection
        self.store = store
        self.page_limit = page_limit

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.exchange_name, self.connection, self.store, self.page_limit))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.exchange_name!r}, {self.connection.exchange_id!r})"

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        """Return the closed candles with open times in ``[since, since + limit * interval)``, oldest first.

        Parts of the window the store has not covered are fetched and stored first; a step the exchange
        answered with no candle stays missing from the result (and is recorded as a gap).

        Raises
        ------
        ExchangeResponseError
            If the exchange's answer is not valid JSON or not candle rows; the message names the exchange,
            symbol and interval.
        ccxt.BaseError
            Whatever ccxt raises (rate limits, server errors, unknown symbols); the engine retries.
        """
        window = request_window(interval, since, limit, now_ms())
        if window.end_ms <= window.start_ms:
            return np.empty(0, dtype=CANDLE_DTYPE)
        await self.fetch_range(symbol, interval, window.start_ms, window.end_ms)
        return await self.store.worker.call(
            self.store.read, self.exchange_name, symbol, interval, window.start_ms, window.end_ms
        )

    async def fetch_range(
        self,
        symbol: str,
        interval: str,
        start: int,
        end: int,
        *,
        store: CandleStore | None = None,
        on_page: PageSink | None = None,
        attempts: int = 1,
        retry_delay_ms: int = 0,
    ) -> int:
        """Fetch the parts of ``[start, end)`` the store lacks, page by page, writing each page as it arrives.

        Parameters
        ----------
        symbol, interval
            The series; ``start`` and ``end`` are epoch ms on the interval's grid.
        start, end
            The range; ``end`` must not be later than the open time of the candle still forming.
        store
            The store to fill; the exchange's own by default.
        on_page
            Called after each written page with ``(page_start, page_end, candles_in_page)``.
        attempts, retry_delay_ms
            Tries per page and the pause between two (the engine's ``get_candles`` path retries by itself).

        Returns
        -------
        int
            The number of candles fetched from the exchange.
        """
        target = self.store if store is None else store
        step = _step_ms(interval)
        missing = await target.worker.call(target.missing, self.exchange_name, symbol, interval, start, end)
        if not missing:
            return 0
        instance = await self.connection.exchange()
        page_limit = self._page_limit(instance, symbol, interval)
        fetched = 0
        for range_start, range_end in missing:
            # Asking from the candle before the window lets the answer prove it is not shifted (see ohlcv_page).
            before = await target.worker.call(
                target.read, self.exchange_name, symbol, interval, range_start - step, range_start
            )
            # A page of one candle has no room for the anchor beside it.
            can_anchor = page_limit != 1
            anchored = can_anchor and len(before) == 1
            cursor = range_start
            while cursor < range_end:
                remaining = (range_end - cursor) // step
                count = remaining if page_limit is None else min(page_limit - anchored, remaining)
                # The candle still forming is not data yet: neither stored nor covered.
                page_end = max(cursor, min(cursor + count * step, now_ms() // step * step))
                page = await self._fetch_page(
                    instance, symbol, interval, cursor, count, page_end, anchored, attempts, retry_delay_ms
                )
                if page.proven_end > cursor:
                    await target.worker.call(
                        target.write,
                        self.exchange_name,
                        symbol,
                        interval,
                        page.candles,
                        covered=(cursor, page.proven_end),
                    )
                fetched += len(page.candles)
                if on_page is not None:
                    on_page(cursor, page_end, len(page.candles))
                cursor += count * step
                anchored = can_anchor and len(page.candles) > 0 and int(page.candles["timestamp"][-1]) == cursor - step
        return fetched

    async def aclose(self) -> None:
        """Close the ccxt instance's HTTP session (await this before the event loop ends)."""
        await self.connection.aclose()

    def _page_limit(self, instance: Any, symbol: str, interval: str) -> int | None:
        prefix = f"{self.exchange_name} {symbol} {interval}: "
        timeframes = instance.timeframes or {}
        if timeframes and interval not in timeframes:
            raise ValueError(f"{prefix}{instance.id} has no {interval} candles; it offers {', '.join(timeframes)}")
        if self.page_limit is not None:
            return self.page_limit
        with _secrets_scrubbed():
            market = instance.market(symbol)
        features = instance.features or {}
        section = features.get(market.get("type")) or {}
        if "fetchOHLCV" not in section:
            section = section.get("linear" if market.get("linear") else "inverse") or {}
        limit = (section.get("fetchOHLCV") or {}).get("limit")
        return int(limit) if limit else None

    async def _fetch_page(
        self,
        instance: Any,
        symbol: str,
        interval: str,
        start: int,
        count: int,
        page_end: int,
        anchored: bool,
        attempts: int,
        retry_delay_ms: int,
    ) -> OhlcvPage:
        """Return the checked page of ``count`` candles from ``start``; a failed or refused page is asked again.

        An anchored page is asked from the candle before ``start``, one more row.
        """
        step = _step_ms(interval)
        since, limit = (start - step, count + 1) if anchored else (start, count)
        prefix = f"{self.exchange_name} {symbol} {interval}: "
        for attempt in range(1, attempts + 1):
            try:
                with _secrets_scrubbed():
                    try:
                        rows = await instance.fetch_ohlcv(symbol, interval, since=since, limit=limit)
                    except _NotJsonResponse as exc:
                        raise ExchangeResponseError(
                            f"{prefix}the response was not valid JSON (fetch_ohlcv since {iso(since)}, "
                            f"limit {limit}); it starts with {redact_secrets(exc.body_start)!r}"
                        ) from None
                return checked_page(
                    rows,
                    start=start,
                    end=page_end,
                    step=step,
                    limit=limit,
                    anchored=anchored,
                    where=f"{prefix}fetch_ohlcv since {iso(since)}, limit {limit},",
                )
            except Exception as exc:
                if attempt == attempts:
                    raise
                logger.warning(
                    "fetch_ohlcv attempt %d/%d failed: exchange=%s symbol=%s interval=%s since=%s limit=%d: %s",
                    attempt,
                    attempts,
                    self.exchange_name,
                    symbol,
                    interval,
                    iso(since),
                    limit,
                    exc,
                )
                await asyncio.sleep(retry_delay_ms / 1000)
        raise AssertionError("unreachable: the last attempt returns or raises")


class CcxtPrecisionFormat:
    """A formatter of a ccxt exchange: a market's price or amount precision, as the exchange would print it.

    ``method`` is ``"price_to_precision"`` (``format_price``: rounded to the tick size) or ``"amount_to_precision"``
    (``format_quantity``: cut to the step size).
    """

    def __init__(self, connection: CcxtConnection, method: str) -> None:
        self.connection = connection
        self.method = method

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.connection, self.method))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.connection.exchange_id!r}, {self.method!r})"

    async def __call__(self, symbol: str, value: float) -> str:
        """Return ``value`` formatted with the market's precision."""
        instance = await self.connection.exchange()
        with _secrets_scrubbed():
            return str(getattr(instance, self.method)(symbol, value))


def _step_ms(interval: str) -> int:
    minutes = CANDLE_INTERVAL_MINUTES.get(interval)
    if minutes is None:
        raise ValueError(f"unknown candle interval {interval!r}; expected one of {', '.join(CANDLE_INTERVAL_MINUTES)}")
    return minutes * MINUTE_MS


def make_ccxt_exchange(
    exchange_name: str,
    exchange_id: str,
    *,
    store: CandleStore | None = None,
    api_key_service: str | None = None,
    api_url: str | None = None,
    page_limit: int | None = None,
    **options: Any,
) -> ExchangeSchema:
    """Create an exchange that reads candles from a ccxt exchange through the SQLite candle store.

    Nothing touches the network, the keyring or the store file until the first call.

    Parameters
    ----------
    exchange_name
        Name of the exchange schema (and of its series in the store).
    exchange_id
        A ccxt exchange id, e.g. ``"binance"``.
    store
        The candle store; by default ``<user data dir>/candles.sqlite3``.
    api_key_service
        Keyring service holding the exchange's API key (see `set_api_key`), e.g. ``"workstation"``; None to
        use public endpoints only. Keys are never accepted as options.
    api_url
        Re-point every API URL of the exchange to this scheme and host, e.g. ``"http://127.0.0.1:8080"``
        (a local test server or a proxy).
    page_limit
        Candles per ``fetch_ohlcv`` request; by default the exchange's own maximum (binance: 1000).
    **options
        ccxt constructor options, e.g. ``options={"fetchMarkets": {"types": ["spot"]}}`` or ``timeout=10000``.
        ``enableRateLimit`` is True unless given. ``verbose=True`` logs every request and response at INFO on
        ``workstation.exchange.ccxt`` with API keys and secrets redacted (ccxt itself would print them in clear).

    Returns
    -------
    ExchangeSchema
        Its ``get_candles`` is a `CcxtCandles` and its formatters use the market's precision; all three are
        callable objects of module-level classes, so the schema pickles by reference. Await
        ``schema.get_candles.aclose()`` when done, to close the HTTP session.

    Raises
    ------
    ValueError
        For an exchange id ccxt does not know, a credential passed as an option, or ``page_limit < 1``.
    """
    import ccxt.async_support as ccxt_async  # noqa: PLC0415 (half a second of import, paid on first use only)

    if exchange_id not in ccxt_async.exchanges:
        raise ValueError(f"exchange_id {exchange_id!r} is not a ccxt exchange id (e.g. 'binance', 'kraken')")
    credentials = sorted(_CREDENTIAL_OPTIONS & options.keys())
    if credentials:
        raise ValueError(
            f"option {credentials[0]!r}: API keys come from the OS keyring only; store them with "
            f"set_api_key({exchange_id!r}, ...) and pass api_key_service={KEYRING_SERVICE!r}"
        )
    if page_limit is not None and (not isinstance(page_limit, int) or page_limit < 1):
        raise ValueError(f"page_limit must be a positive int, got {page_limit!r}")
    connection = CcxtConnection(exchange_id, options, api_url=api_url, api_key_service=api_key_service)
    candles = CcxtCandles(exchange_name, connection, CandleStore() if store is None else store, page_limit)
    return ExchangeSchema(
        exchange_name=exchange_name,
        get_candles=candles,
        format_price=CcxtPrecisionFormat(connection, "price_to_precision"),
        format_quantity=CcxtPrecisionFormat(connection, "amount_to_precision"),
        note=f"ccxt {exchange_id}" + (f" at {api_url}" if api_url else ""),
    )


async def close_ccxt_exchanges(schemas: Iterable[ExchangeSchema]) -> None:
    """Close the HTTP sessions of every ccxt exchange among ``schemas`` (e.g. ``ws.list_exchanges()`` at exit).

    Other exchanges are skipped. Each exchange opens a new session if it is used again.
    """
    for schema in schemas:
        if isinstance(schema.get_candles, CcxtCandles):
            await schema.get_candles.aclose()


async def load_ccxt() -> None:
    """Import ccxt's asynchronous API in a worker thread, so the event loop (and a window on it) keeps running.

    The import takes from half a second to several seconds on a busy machine; every later use of ccxt finds it
    imported. Await this before `make_ccxt_exchange` or `ensure_ccxt_exchange` on the GUI's event loop.
    """
    await asyncio.to_thread(importlib.import_module, "ccxt.async_support")


#: Exchanges offered for history downloads before the trader has registered any ccxt exchange of their own.
POPULAR_CCXT_EXCHANGES: tuple[str, ...] = ("binance", "bybit", "okx", "kraken", "coinbase")


def ccxt_exchange_names() -> list[str]:
    """Return the names of the registered exchanges that read through ccxt, in registration order."""
    return [schema.exchange_name for schema in registry.list_exchanges() if isinstance(schema.get_candles, CcxtCandles)]


def ensure_ccxt_exchange(exchange_id: str, *, store: CandleStore | None = None) -> str:
    """Return ``exchange_id`` once an exchange of that name is registered, registering its ccxt exchange if none.

    The exchange uses public endpoints (candles need no key) and reads through ``store``.

    Raises
    ------
    ValueError
        If ``exchange_id`` is not a ccxt exchange id.
    """
    if not registry.exchanges.has(exchange_id):
        registry.add_exchange(make_ccxt_exchange(exchange_id, exchange_id, store=store))
    return exchange_id
