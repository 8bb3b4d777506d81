"""``ws.Desks``: the order desks of this process, one per venue account, and the reconciliation before a start.

A desk is the one place every order to its venue passes (``ws.OrderDesk``). Live and paper runs that send orders to
the same account share its desk: a paper session has a simulated account of its own, live runs with paper orders
share one simulated account per exchange whose candles they read, and live runs with exchange orders share the
exchange account (one per exchange, testnet, or local fake exchange). Each desk keeps its journal in the user data
folder (``<user data dir>/desk/<account>.sqlite3``), so its orders, fills and kill switch outlive the process.

Before the first run starts on a desk, the engine's stored positions of the runs trading there (``ws.Live.persisted``)
are reconciled with what the venue holds; while they disagree, no run starts on the desk and the desk refuses entries.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np

from workstation.brokers.ccxt_venue import CcxtVenue
from workstation.brokers.paper_venue import CandleReader, PaperVenue, live_candle_reader
from workstation.brokers.venue import Venue
from workstation.config import get_config
from workstation.desk import OrderDesk, Reconciliation, RiskLimits
from workstation.desk.desk import default_journal_path
from workstation.desk.journal import OrderJournal
from workstation.engine.clock import ReplayClock, SystemClock
from workstation.errors import WorkstationError
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS
from workstation.live import Live
from workstation.services.connections import exchange_connections
from workstation.services.live_records import unconfirmed_live_opens

#: What a new paper account holds, in the quote asset of the symbol it first trades.
PAPER_STARTING_BALANCE = 10_000.0


class DeskDisagreesError(WorkstationError, RuntimeError):
    """A run may not start on a desk whose engine and venue disagree; the message lists the disagreements."""

    def __init__(self, desk: OrderDesk, account_name: str, reconciliation: Reconciliation) -> None:
        count = len(reconciliation.disagreements)
        super().__init__(
            f"the engine and the account {account_name} disagree ({count} disagreement{'' if count == 1 else 's'}): "
            f"{'; '.join(item.message for item in reconciliation.disagreements)}. No run starts on this desk until "
            "they agree: adopt or flatten each in the Account dock, or reconcile again"
        )
        #: The desk that disagrees, and how.
        self.desk = desk
        self.reconciliation = reconciliation


@dataclass(frozen=True, slots=True)
class PaperAccount:
    """A simulated account: orders filled on the 1m candles of ``exchange_name`` as a run on ``clock`` reads them.

    Parameters
    ----------
    name
        The account's name: its journal's file name (a paper session's replay exchange, or ``paper-on-<exchange>``).
    exchange_name
        The registered exchange whose candles fill the orders (the runs' own).
    clock
        The runs' clock: the venue never reads a candle this clock has not closed.
    opening_balances
        What a new account holds, per asset; an account with a journal keeps what it opened with.
    """

    name: str
    exchange_name: str
    clock: ReplayClock | SystemClock
    opening_balances: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class ExchangeAccount:
    """An account on an exchange, through ccxt with the API key from the OS keyring.

    Parameters
    ----------
    exchange_id
        The ccxt exchange id (``binance``).
    sandbox
        The exchange's testnet (ccxt's ``set_sandbox_mode``).
    api_url
        A local exchange speaking the exchange's API (``workstation --demo-exchange-server``), or "" for the
        exchange itself.
    """

    exchange_id: str
    sandbox: bool = False
    api_url: str = ""

    @property
    def name(self) -> str:
        """Return the account's name: ``binance``, ``binance-sandbox``, ``binance-127.0.0.1-8765``."""
        if self.api_url:
            where = urlsplit(self.api_url)
            return f"{self.exchange_id}-{where.hostname}-{where.port or 80}"
        return f"{self.exchange_id}-sandbox" if self.sandbox else self.exchange_id


Account = PaperAccount | ExchangeAccount


@dataclass(eq=False)
class _OpenDesk:
    desk: OrderDesk
    account: Account
    #: The runs (symbol, strategy name) started on the desk in this process.
    pairs: set[tuple[str, str]] = field(default_factory=set)
    #: Whether the desk was reconciled since it opened (its first start does it).
    reconciled: bool = False


class TradingDesks:
    """The desks of the process, one per venue account (``ws.Desks``); ``close()`` them when the program ends.

    ``limits`` are the risk limits every desk opened from now on starts with (each desk's ``limits`` can be replaced
    while it runs).
    """

    def __init__(self) -> None:
        self.limits = RiskLimits()
        self._open: dict[str, _OpenDesk] = {}

    async def desk_for(self, account: Account, *, fresh: bool = False) -> OrderDesk:
        """Return the desk of ``account``, opening it (and its journal) on first use.

        A paper account's venue is rebuilt from the desk's journal: the paper venue lives in the process, and the
        journal already holds, durably and in order, every order sent to it (written before it was sent) and every
        answer and fill, so it is the account's one record. A second file of the venue's own state could disagree
        with the journal after a crash; rebuilt from the journal, an order whose answer was never written is simply
        not at the venue (the desk marks it lost, and a retry sends it once), and a resting order's fill the journal
        had not heard of happens again on the same candle. A paper account given another clock (a paper session
        prepared again) gets a new desk over the same journal.

        Parameters
        ----------
        account
            The account.
        fresh
            Forget what the account's journal holds first (a new paper session with the same settings).

        Raises
        ------
        ApiKeyMissingError
            For an exchange account whose key is not in the OS keyring.
        ValueError
            For an exchange id ccxt does not know.
        """
        known = self._open.get(account.name)
        if known is not None and not fresh and _same_account(known.account, account):
            return known.desk
        if known is not None:
            await self._close(known)
        path = default_journal_path(account.name)
        if isinstance(account, PaperAccount):
            venue: Venue = await _paper_venue(account, OrderJournal(path), fresh=fresh)
            clock = account.clock.now_ms
        else:
            venue = _exchange_venue(account)
            clock = SystemClock().now_ms
        desk = OrderDesk(venue, limits=self.limits, journal_path=path, clock=clock)
        try:
            await desk.open()
        except BaseException:
            await desk.aclose()
            await venue.aclose()
            raise
        self._open[account.name] = _OpenDesk(desk=desk, account=account)
        return desk

    def all(self) -> builtins.list[OrderDesk]:
        """Return the open desks, in the order they were opened."""
        return [opened.desk for opened in self._open.values()]

    async def check_start(self, desk: OrderDesk, symbol: str, strategy_name: str) -> Reconciliation:
        """Refuse a run of ``strategy_name`` on ``symbol`` on ``desk`` while the engine and the venue disagree.

        The first start on a desk reconciles it (:meth:`reconcile`); later starts go by the last reconciliation, less
        the disagreements the trader resolved since. Return the reconciliation that let the run start.

        Raises
        ------
        DeskDisagreesError
            If the engine and the venue disagree; the message says on what.
        """
        opened = self._opened(desk)
        opened.pairs.add((symbol, strategy_name))
        last = desk.reconciliation
        if not opened.reconciled or last is None:
            last = await self.reconcile(desk)
        if not last.agrees:
            raise DeskDisagreesError(desk, opened.account.name, last)
        return last

    async def reconcile(self, desk: OrderDesk) -> Reconciliation:
        """Compare the stored positions of the runs trading on ``desk`` with its venue, now (on demand, or at start).

        The runs trading on a desk are those started on it in this process and those its journal sent orders for.
        """
        opened = self._opened(desk)
        pairs = opened.pairs | {
            (order.symbol, order.strategy_name) for order in desk.orders() if order.strategy_name is not None
        }
        stored = [row for row in await Live.persisted() if (row.signal.symbol, row.signal.strategy_name) in pairs]
        # An open a run killed inside its gate tries again first: what the venue filled of it is the run's.
        unconfirmed = [row for row in await unconfirmed_live_opens() if (row.symbol, row.strategy_name) in pairs]
        reconciliation = await desk.reconcile(await desk.held_positions(stored, unconfirmed))
        opened.reconciled = True
        return reconciliation

    async def close(self) -> None:
        """Close every desk's journal and venue (the program ends); the desks are forgotten."""
        opened, self._open = list(self._open.values()), {}
        for each in opened:
            await self._close(each)

    def clear(self) -> None:
        """Forget every desk without closing anything (``ws.reset``: the storage threads are stopped there)."""
        self._open.clear()

    def _opened(self, desk: OrderDesk) -> _OpenDesk:
        for opened in self._open.values():
            if opened.desk is desk:
                return opened
        raise LookupError(f"the desk of {desk.name} was not opened by ws.Desks")

    @staticmethod
    async def _close(opened: _OpenDesk) -> None:
        await opened.desk.aclose()
        await opened.desk.venue.aclose()


def _same_account(old: Account, new: Account) -> bool:
    if isinstance(old, PaperAccount) and isinstance(new, PaperAccount):
        return old.exchange_name == new.exchange_name and old.clock is new.clock
    return old == new


async def _paper_venue(account: PaperAccount, journal: OrderJournal, *, fresh: bool) -> PaperVenue:
    """Return the paper venue of ``account``, continuing what its journal holds."""
    if fresh:
        await journal.forget()
    opening = await journal.read_opening_balances()
    if opening is None:
        opening = dict(account.opening_balances)
        await journal.write_opening_balances(opening)
    contents = await journal.read()
    config = get_config()
    venue = PaperVenue(
        candles=_run_candles(account.exchange_name, account.clock),
        clock=account.clock.now_ms,
        balances=opening,
        percent_fee=float(config.percent_fee),
        percent_slippage=float(config.percent_slippage),
    )
    taken = [
        (entry.request, entry.record)
        for entry in contents.entries.values()
        if entry.state == "answered" and entry.record is not None
    ]
    venue.continue_account(taken, list(contents.fills.values()))
    return venue


def _run_candles(exchange_name: str, clock: ReplayClock | SystemClock) -> CandleReader:
    """Read 1m candles through the exchange client the runs on ``clock`` use (the very candles they decide on)."""

    async def read(symbol: str, since_ms: int, until_ms: int) -> np.ndarray:
        exchange = exchange_connections.client(exchange_name, False, clock.now_ms)
        return await live_candle_reader(exchange, get_config())(symbol, since_ms, until_ms)

    return read


def _exchange_venue(account: ExchangeAccount) -> CcxtVenue:
    # A local binance (the fake exchange) answers the spot endpoints only.
    options = FAKE_BINANCE_OPTIONS if account.api_url and account.exchange_id == "binance" else {}
    return CcxtVenue.from_keyring(
        account.exchange_id, sandbox=account.sandbox, api_url=account.api_url or None, **options
    )


#: The process's desks.
Desks = TradingDesks()
