"""An exchange serving the candles of the candle store, imported or downloaded, without touching the network.

Every exchange the store holds 1m candles of is offered as ``stored-<exchange>`` (``stored-csv`` for candles
imported under the default name ``csv``, ``stored-binance`` for those downloaded from Binance), to backtest, walk,
sweep, compare or paper trade on like any other exchange.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from workstation.exchanges.aggregate import aggregate_candles, request_window
from workstation.exchanges.candle_store import CandleStore, CandleStoreFileError
from workstation.models.candles import CANDLE_DTYPE
from workstation.schemas.common import Name, is_name
from workstation.schemas.exchange import ExchangeSchema
from workstation.timeutil import now_ms

#: What the name of a stored exchange starts with; the rest is the exchange the store files the candles under.
STORED_PREFIX = "stored-"


def stored_exchange_name(exchange: str) -> str:
    """Return the name the stored candles of ``exchange`` are offered under."""
    return f"{STORED_PREFIX}{exchange}"


def stored_source(exchange_name: str) -> str | None:
    """Return the store's exchange a ``stored-…`` name serves, None for any other name."""
    source = exchange_name.removeprefix(STORED_PREFIX)
    return source if source != exchange_name and source else None


def stored_exchange_names(store: CandleStore | None = None) -> list[str]:
    """Return a ``stored-…`` name per exchange the store holds 1m candles of (none without a readable store).

    Names a schema cannot take (an imported exchange named with ``/`` or ``:``) are left out.
    """
    source = CandleStore() if store is None else store
    if not source.path.exists():
        return []  # asking would create an empty store
    try:
        exchanges = source.worker.call_blocking(source.exchanges)
    except CandleStoreFileError:
        return []
    finally:
        if store is None:
            source.close()
    names = [stored_exchange_name(exchange) for exchange in exchanges]
    return [name for name in names if is_name(name)]


@dataclass(frozen=True, slots=True)
class StoredCandles:
    """The ``get_candles`` of a stored exchange: the store's series of the interval, else its 1m series aggregated.

    Parameters
    ----------
    source
        The exchange the store files the candles under.
    store
        The candle store.
    """

    source: str
    store: CandleStore

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> np.ndarray:
        """Return the stored candles with open times in ``[since, since + limit * interval)``, oldest first."""
        window = request_window(interval, since, limit, now_ms())
        if window.end_ms <= window.start_ms:
            return np.empty(0, dtype=CANDLE_DTYPE)
        candles = await self.store.worker.call(
            self.store.read, self.source, symbol, interval, window.start_ms, window.end_ms
        )
        if len(candles) or window.step_minutes == 1:
            return candles
        minutes = await self.store.worker.call(
            self.store.read, self.source, symbol, "1m", window.start_ms, window.end_ms
        )
        return aggregate_candles(minutes, window)


def make_stored_exchange(exchange_name: Name, source: str, store: CandleStore | None = None) -> ExchangeSchema:
    """Create an exchange that serves the candles the store holds of ``source``; nothing is read until asked.

    Parameters
    ----------
    exchange_name
        The schema's name (``stored_exchange_name(source)`` by convention).
    source
        The exchange the store files the candles under (``csv``, ``binance`` …).
    store
        The candle store; by default the one in the user data folder.
    """
    return ExchangeSchema(
        exchange_name=exchange_name,
        get_candles=StoredCandles(source, CandleStore() if store is None else store),
        note=f"candles stored of {source}",
    )
