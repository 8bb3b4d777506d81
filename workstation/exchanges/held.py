"""Candle sources that answer 1m requests with views of one read-only array they hold."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class HeldCandles(ABC):
    """A ``get_candles`` that answers 1m requests with views of one read-only candle array, `loaded`.

    Between its first and last candle the array holds every 1m candle the source serves from it, so a backtest whose
    cached candles are a view of it may take what follows in the array at once instead of asking page by page
    (`workstation.clients.exchange.ClientExchange`). A CSV file's candles (`workstation.exchanges.csv.CsvCandles`)
    and a sweep's shared candles (`workstation.optimizer.shared_candles.SharedCandles`) are such sources.
    """

    @property
    @abstractmethod
    def loaded(self) -> np.ndarray | None:
        """The read-only candles once the source holds them, else None."""
