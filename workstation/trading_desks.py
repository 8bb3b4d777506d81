"""``ws.Desks``: the order desks of this process, one per venue account, and the reconciliation before a start.

A desk is the one place every order to its venue passes (``ws.OrderDesk``). Live and paper runs that send orders to
the same account share its desk: a paper session has a simulated account of its own, live runs with paper orders
share one simulated account per exchange whose candles they read, and live runs with exchange orders share the
exchange account (one per exchange, testnet, or local fake exchange). Each desk keeps its journal in the user data
folder (``<user data dir>/desk/<account>.sqlite3``), so its orders, fills and kill switch outlive the process.

The kill switch acts on every desk of the process: :meth:`TradingDesks.halt` halts them all, :meth:`TradingDesks.resume`
resumes them all, :meth:`TradingDesks.flatten` flattens them all. The halt is the kill switch's state for the session
and lives here, not on one desk: a desk opened after Halt was pressed (a run started on another account) starts
halted too. It is not stored: each desk stores its own halt in its journal, so a desk halted when the program ended
opens halted again; the session's switch is on only until the trader resumes or the program ends.

Before the first run starts on a desk, the engine's stored positions of the runs trading there (``ws.Live.persisted``)
are reconciled with what the venue holds; while they disagree, no run starts on the desk and the desk refuses entries.
"""

from __future__ import annotations

import asyncio
import builtins
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import numpy as np
from PySide6.QtCore import QObject, Signal

from workstation.brokers.ccxt_venue import CcxtVenue
from workstation.brokers.paper_venue import CandleReader, PaperVenue, live_candle_reader
from workstation.brokers.venue import Venue
from workstation.config import get_config
from workstation.desk import FlattenReport, OrderDesk, Reconciliation, RiskLimits
from workstation.desk.desk import default_journal_path
from workstation.desk.journal import OrderJournal
from workstation.engine.clock import ReplayClock, SystemClock
from workstation.errors import WorkstationError
from workstation.exchanges.fake_binance import FAKE_BINANCE_OPTIONS
from workstation.live import Live
from workstation.services.connections import exchange_connections
from workstation.services.live_records import unconfirmed_live_opens
from workstation.settings_store import load_risk_limits, save_risk_limits

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


@dataclass(frozen=True, slots=True)
class DeskFlattened:
    """What Flatten everything did on one desk: its report, or why the desk failed as a whole.

    Parameters
    ----------
    account_name
        The desk's account (``binance``, ``paper-on-binance``...).
    destination
        Where the desk's orders go, in words (``OrderDesk.destination``).
    real_money
        The desk's orders move real money.
    report
        What the desk cancelled, sold and failed to; None when it failed as a whole.
    error
        Why the desk failed as a whole ("" when it reported).
    """

    account_name: str
    destination: str
    real_money: bool
    report: FlattenReport | None
    error: str = ""


@dataclass(eq=False)
class _OpenDesk:
    desk: OrderDesk
    account: Account
    #: The runs (symbol, strategy name) started on the desk in this process.
    pairs: set[tuple[str, str]] = field(default_factory=set)
    #: Whether the desk was reconciled since it opened (its first start does it).
    reconciled: bool = False


class TradingDesks(QObject):
    """The desks of the process, one per venue account (``ws.Desks``); ``close()`` them when the program ends.

    ``limits`` are the risk limits every desk opened from now on starts with (each desk's ``limits`` can be replaced
    while it runs); :meth:`load_limits` reads the saved ones at start, :meth:`set_limits` replaces them on every desk
    and saves them with the user's settings.

    Signals
    -------
    halted_changed(bool)
        Whether any desk refuses entries changed (the kill switch, or a desk halted on its own: its journal said so,
        or it was flattened).
    """

    halted_changed = Signal(bool)

    def __init__(self) -> None:
        super().__init__()
        self.limits = RiskLimits()
        self._open: dict[str, _OpenDesk] = {}
        #: Why the kill switch halted every desk ("" while it is off).
        self._halt_reason = ""
        self._any_halted = False

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
        if self._halt_reason and not desk.halted:
            desk.halt(self._halt_reason)
        desk.halted_changed.connect(self._desk_halted_changed)
        self._open[account.name] = _OpenDesk(desk=desk, account=account)
        self._desk_halted_changed()
        return desk

    def load_limits(self, path: str | os.PathLike[str] | None = None) -> RiskLimits:
        """Put the risk limits saved with the settings (``path``, default ``settings_path()``) in force; return them.

        Raises
        ------
        SettingsFileError
            If the settings file cannot be read or a saved limit is invalid; the limits in force stay as they were.
        """
        self.limits = load_risk_limits(path)
        return self.limits

    def set_limits(
        self, limits: RiskLimits | Mapping[str, object], path: str | os.PathLike[str] | None = None
    ) -> RiskLimits:
        """Replace the risk limits of every open desk and of the desks opened later, and save them; return them.

        ``limits`` is validated first: a bad value changes no desk and writes nothing. They are in force before the
        save, so a limit a trader tightens holds for this session even when the file cannot be written.

        Parameters
        ----------
        limits
            The new limits, or their fields (a missing or None field leaves that limit off).
        path
            The settings file (default ``settings_path()``).

        Raises
        ------
        pydantic.ValidationError
            If a limit is invalid (the error names the field and the value).
        OSError
            If the settings file cannot be written; the limits are in force for this session.
        """
        chosen = limits if isinstance(limits, RiskLimits) else RiskLimits.model_validate(dict(limits))
        self.limits = chosen
        for opened in self._open.values():
            opened.desk.limits = chosen
        save_risk_limits(chosen, path)
        return chosen

    def all(self) -> builtins.list[OrderDesk]:
        """Return the open desks, in the order they were opened."""
        return [opened.desk for opened in self._open.values()]

    def account_name(self, desk: OrderDesk) -> str:
        """Return the name of ``desk``'s account (``binance-sandbox``...; a desk opened elsewhere: its venue's)."""
        for opened in self._open.values():
            if opened.desk is desk:
                return opened.account.name
        return desk.name

    def kill_switch_desks(self, shown: Sequence[OrderDesk] = ()) -> builtins.list[OrderDesk]:
        """Return the desks the kill switch acts on: the real-money ones first, then in the order they opened.

        ``shown`` are desks the window shows that were opened without ``ws.Desks`` (built by hand): acted on too.
        """
        desks = self.all()
        desks += [desk for desk in shown if desk not in desks]
        return sorted(desks, key=lambda desk: not desk.real_money)

    # -- the kill switch ----------------------------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        """Tell whether any desk refuses entries: the kill switch is on, or a desk was halted on its own."""
        return bool(self._halt_reason) or any(desk.halted for desk in self.all())

    @property
    def switched_on(self) -> bool:
        """Tell whether the kill switch halted every desk (a desk opened now starts halted)."""
        return bool(self._halt_reason)

    def halt(self, reason: str, shown: Sequence[OrderDesk] = ()) -> None:
        """Halt entries on every desk (and ``shown``), and on every desk opened from now on, until :meth:`resume`.

        Raises
        ------
        ValueError
            If ``reason`` is empty.
        """
        if not reason.strip():
            raise ValueError("reason must say why the desks halt, got an empty text")
        self._halt_reason = reason
        for desk in self.kill_switch_desks(shown):
            if not desk.halted:
                desk.halt(reason)
        self._desk_halted_changed()

    def resume(self, shown: Sequence[OrderDesk] = ()) -> None:
        """Let entries through again on every desk (and ``shown``; halted on their own too); the switch goes off."""
        self._halt_reason = ""
        for desk in self.kill_switch_desks(shown):
            desk.resume()
        self._desk_halted_changed()

    async def flatten(self, shown: Sequence[OrderDesk] = ()) -> builtins.list[DeskFlattened]:
        """Halt every desk (and ``shown``), then cancel every open order and sell every holding on each, at once.

        Return what each desk did, real-money desks first; a desk that failed as a whole says why, and the others'
        reports are kept.
        """
        self.halt("flatten everything", shown)
        desks = self.kill_switch_desks(shown)
        outcomes = await asyncio.gather(*(desk.flatten() for desk in desks), return_exceptions=True)
        flattened: builtins.list[DeskFlattened] = []
        for desk, outcome in zip(desks, outcomes, strict=True):
            if isinstance(outcome, asyncio.CancelledError):
                raise outcome
            said = (self.account_name(desk), desk.destination, desk.real_money)
            if isinstance(outcome, BaseException):
                flattened.append(DeskFlattened(*said, report=None, error=f"{type(outcome).__name__}: {outcome}"))
            else:
                flattened.append(DeskFlattened(*said, report=outcome))
        return flattened

    def _desk_halted_changed(self, _halted: bool = False) -> None:
        halted = self.halted
        if halted != self._any_halted:
            self._any_halted = halted
            self.halted_changed.emit(halted)

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
        """Close every desk's journal and venue (the program ends); the desks and the kill switch are forgotten."""
        opened, self._open = list(self._open.values()), {}
        for each in opened:
            await self._close(each)
        self._forget_kill_switch()

    def clear(self) -> None:
        """Forget every desk, the kill switch and the limits without closing anything (``ws.reset``)."""
        self.limits = RiskLimits()
        for opened in self._open.values():
            opened.desk.halted_changed.disconnect(self._desk_halted_changed)
        self._open.clear()
        self._forget_kill_switch()

    def _forget_kill_switch(self) -> None:
        self._halt_reason = ""
        self._desk_halted_changed()

    def _opened(self, desk: OrderDesk) -> _OpenDesk:
        for opened in self._open.values():
            if opened.desk is desk:
                return opened
        raise LookupError(f"the desk of {desk.name} was not opened by ws.Desks")

    async def _close(self, opened: _OpenDesk) -> None:
        opened.desk.halted_changed.disconnect(self._desk_halted_changed)
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
    # Several paper accounts may be open at once: the kill switch's question must tell them apart.
    venue.destination = f"paper account {account.name} (simulated fills)"
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
