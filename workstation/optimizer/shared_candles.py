"""A sweep's candles, read and checked once and shared with every worker (issue 17).

Before the first job, the sweep reads the symbol's 1m candles over the optimizer's frame (with a margin each side)
through the engine's own exchange client: page by page, normalised and checked as a run reads them. The pool then
hands them to its workers once (`JobPool.share`): a process pool through a block of shared memory, a dask cluster
through one broadcast scatter. In a worker, `SharedCandles` is the exchange's ``get_candles``: a 1m request of the
symbol that lies inside the shared candles is answered with a read-only view of them, which the run's candle cache
keeps without copying and judges once for the whole array (`pages_pass`); any other request goes to the exchange's
own ``get_candles``. A job therefore runs the same engine on the same candles and pays only for its own run.

Reading is best effort: when the candles cannot be read (no data, a gap, an error), the jobs read them themselves,
as they always did, and report what goes wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar
from datetime import datetime
from multiprocessing.shared_memory import SharedMemory
from typing import TYPE_CHECKING, Any

import numpy as np

from workstation.clients.calls import is_async_callable
from workstation.clients.exchange import ClientExchange
from workstation.config import Config
from workstation.exchanges.held import HeldCandles
from workstation.models.candles import CANDLE_DTYPE
from workstation.optimizer.jobs import CandleBlock
from workstation.schemas.exchange import ExchangeCallbacks, ExchangeSchema
from workstation.schemas.frame import FrameSchema
from workstation.timeutil import DAY_MS, MINUTE_MS, now_ms, to_ms

if TYPE_CHECKING:
    from workstation.optimizer.executors import JobPool
    from workstation.optimizer.setup import SweepSetup

__all__ = ["SharedCandles", "attached_candles", "read_sweep_candles", "shared_memory_block", "sharing_candles"]

logger = logging.getLogger("workstation.optimizer")

#: How far before the frame the shared candles start, tried in turn: a strategy's look-back windows (a day of 1m
#: candles covers most), an hour when the data starts within the day, the VWAP window the run needs at the least.
_MARGINS_MS = (DAY_MS, 60 * MINUTE_MS)

# While the sweep probes how far back the data reaches, a failed probe is not a failed request worth a warning.
_probing: ContextVar[bool] = ContextVar("_probing", default=False)


class _QuietWhileProbing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _probing.get()


logging.getLogger("workstation.exchange").addFilter(_QuietWhileProbing())


@contextlib.asynccontextmanager
async def sharing_candles(setup: SweepSetup, pool: JobPool) -> AsyncIterator[None]:
    """Read the sweep's candles once and share them with ``pool``'s workers until the block exits.

    The jobs built meanwhile name the shared candles (``setup.candles``). Whatever happens to the jobs, the candles
    are let go (shared memory unlinked) when the block exits. Candles that cannot be read or shared are not: the
    jobs then read their own.
    """
    try:
        candles = await read_sweep_candles(setup.exchange, setup.symbol, setup.frame, setup.config)
        if candles is not None:
            try:
                setup.candles = await pool.share(setup.symbol, candles)
            except Exception as exc:
                logger.warning("sweep candles of %s not shared (each job reads its own): %s", setup.symbol, exc)
        yield
    finally:
        setup.candles = None
        pool.release()


async def read_sweep_candles(
    exchange: ExchangeSchema, symbol: str, frame: FrameSchema, config: Config
) -> np.ndarray | None:
    """Read the 1m candles a sweep's runs will read, through a fresh backtest exchange client.

    From a day before the frame (less when the data starts later) to a day and a read-ahead past it, or to where
    the data ends. The exchange's ``on_candle_data`` is not called: the runs call it for the pages they read.

    Returns
    -------
    numpy.ndarray or None
        Contiguous ``CANDLE_DTYPE`` candles, read-only; None when they cannot be read.
    """
    quiet = exchange.model_copy(update={"callbacks": ExchangeCallbacks()})
    client = ClientExchange(quiet, backtest=True, now_ms=now_ms, on_callback_error=_ignore)
    once = config.model_copy(update={"get_candles_retry_count": 1})
    first = to_ms(frame.start_date) // MINUTE_MS * MINUTE_MS
    last = to_ms(frame.end_date) // MINUTE_MS * MINUTE_MS + (config.max_candles_per_request + 1) * MINUTE_MS + DAY_MS
    margins = (*_MARGINS_MS, config.avg_price_candles_count * MINUTE_MS)
    for attempt, margin in enumerate(margins, start=1):
        token = _probing.set(attempt < len(margins))
        try:
            candles, _ = await client.get_forward_candles(symbol, first - margin, last, once)
        except Exception as exc:
            if attempt == len(margins):
                logger.info("sweep candles of %s not shared (each job reads its own): %s", symbol, exc)
            continue
        finally:
            _probing.reset(token)
        if len(candles):
            return candles
    return None


def _ignore(where: str, error: BaseException) -> None:
    """No callback runs while the sweep reads its candles."""


def shared_memory_block(block: CandleBlock, candles: np.ndarray) -> SharedMemory:
    """Copy ``candles`` into a new block of shared memory named ``block.name``; the caller closes and unlinks it."""
    memory = SharedMemory(name=block.name, create=True, size=max(candles.nbytes, 1))
    view = np.ndarray((len(candles),), dtype=CANDLE_DTYPE, buffer=memory.buf)
    view[:] = candles
    del view  # the block can only be closed once no array exports its buffer
    return memory


# A worker's attachments to sweeps' shared memory, by block name: a sweep's jobs attach once, the next sweep's
# first job lets the earlier blocks go.
_attached: dict[str, SharedMemory] = {}


def attached_candles(block: CandleBlock) -> np.ndarray | None:
    """Return a read-only array over the sweep's shared memory, attaching on first use; None once it is gone.

    Earlier blocks this process attached to are closed first when nothing reads them any more.
    """
    memory = _attached.get(block.name)
    if memory is None:
        _let_go()
        try:
            memory = SharedMemory(name=block.name)
        except FileNotFoundError:
            return None
        _attached[block.name] = memory
    candles = np.ndarray((block.length,), dtype=CANDLE_DTYPE, buffer=memory.buf)
    candles.flags.writeable = False
    return candles


def _let_go() -> None:
    for name, memory in list(_attached.items()):
        with contextlib.suppress(BufferError):  # still read by someone: tried again at the next sweep
            memory.close()
            del _attached[name]


class SharedCandles(HeldCandles):
    """The ``get_candles`` of a sweep's exchange inside a worker: the shared candles first, the exchange's own next.

    As `HeldCandles`, a run may take the shared candles that follow what it read at once, not page by page.

    Parameters
    ----------
    source
        The exchange's own ``get_candles``.
    block
        Which symbol and minutes the shared candles hold.
    candles
        The shared candles, read-only, one per minute from ``block.first_ms``.
    """

    def __init__(self, source: Callable[..., Any], block: CandleBlock, candles: np.ndarray) -> None:
        self.source = source
        self.block = block
        self.candles = candles
        self._source_async = is_async_callable(source)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.source!r}, {self.block.symbol!r}, {len(self.candles)} candles)"

    @property
    def loaded(self) -> np.ndarray:
        """The shared candles."""
        return self.candles

    async def __call__(self, symbol: str, interval: str, since: datetime, limit: int) -> Any:
        """Return the shared candles of a 1m request of the symbol inside them (a view), else ask the exchange."""
        start = to_ms(since)
        offset, off_grid = divmod(start - self.block.first_ms, MINUTE_MS)
        if (
            interval == "1m"
            and symbol == self.block.symbol
            and not off_grid
            and offset >= 0
            and offset + limit <= len(self.candles)
        ):
            return self.candles[offset : offset + limit]
        if self._source_async:
            return await self.source(symbol, interval, since, limit)
        return await asyncio.to_thread(self.source, symbol, interval, since, limit)
