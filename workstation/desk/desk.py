"""The order desk: the one place every order to a venue passes (kill switch, risk gate, journal, monitors).

Every order, from the engine's broker, the order ticket or the kill switch, goes through :meth:`OrderDesk.submit`:
the kill switch and a disagreeing reconciliation refuse entries, the risk gate checks the limits, the journal writes
the order durably before it is sent, and only then does the venue see it. An order whose outcome is unknown (a
timeout, a crash) is looked up at the venue by its client id before it is ever sent again.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path

import platformdirs
from PySide6.QtCore import QObject, Signal

from workstation.brokers.errors import OrderError, OrderRejectedError, OrderTransientError
from workstation.brokers.orders import (
    FLATTEN_LEG,
    Balance,
    Fill,
    MarketRules,
    OrderRecord,
    OrderRequest,
    client_order_id,
)
from workstation.brokers.venue import Venue
from workstation.desk.flatten import FLATTEN_BUDGET_SECONDS, FlattenReport, within_budget
from workstation.desk.holdings import Holding, HoldingKey, book_holdings, day_start, split_symbol
from workstation.desk.journal import HaltState, JournalEntry, OrderJournal
from workstation.desk.limits import OrderRefusal, OrderRefused, RefusalLimit, RiskLimits, is_entry
from workstation.desk.reconcile import AssetBook, Disagreement, HeldPosition, Reconciliation, VenueView, compare
from workstation.models.signal import SignalRow
from workstation.persist.adapter import InitOnce
from workstation.services.live_records import PersistedLiveSignal
from workstation.timeutil import from_ms

logger = logging.getLogger("workstation.desk")

#: The window of ``RiskLimits.max_orders_per_minute``.
MINUTE_MS = 60_000

#: How far a venue's clock may lag this computer's: the first fills are read from this long before the first order
#: was sent (an exchange stamps fills with its own clock; the local fake exchange with its market's minute).
CLOCK_SKEW_MS = 10 * MINUTE_MS

#: Journal states of an order that reached, or may have reached, the venue.
_SENT_STATES = frozenset({"pending", "answered", "rejected"})


def default_journal_path(venue_name: str) -> Path:
    """Return where the desk of ``venue_name`` keeps its journal: ``<user data dir>/desk/<venue>.sqlite3``."""
    return Path(platformdirs.user_data_dir("workstation")) / "desk" / f"{venue_name}.sqlite3"


def _amount(value: float) -> str:
    return f"{value:.10g}"


class OrderDesk(QObject):
    """One venue's desk: every order passes :meth:`submit`; monitors, kill switch and reconciliation live here.

    Satisfies ``OrderRoute`` (``submit``, ``cancel``, ``fetch_order``, ``market_rules``), so a ``SignalBroker``
    sends the engine's orders through it. Every method runs on the event loop's thread; the signals fire there.

    Parameters
    ----------
    venue
        Where the orders go (``PaperVenue``, ``CcxtVenue``).
    limits
        The risk gate's limits; :attr:`limits` can be replaced while the desk runs.
    journal_path
        The journal's SQLite file; None: ``<user data dir>/desk/<venue name>.sqlite3``.
    clock
        The present in epoch ms (the live run's clock): order times, the rate window, the day of the loss limit.
    prices
        The newest price of a symbol, or None when unknown: marks held positions for the daily loss limit and prices
        market orders sized by amount for ``max_order_notional``. Without it (or at None) the desk uses the newest
        fill price it saw on the symbol.

    Signals
    -------
    order_changed(OrderRecord)
        An order was answered, refused by the venue (status ``rejected``), filled, cancelled or looked up anew.
    fill_added(Fill)
        :meth:`refresh` found a new execution.
    balances_changed(list[Balance])
        :meth:`refresh` read the account's balances.
    halted_changed(bool)
        The kill switch was flipped.
    refused(OrderRefusal)
        The desk refused an order before sending it.
    reconciliation_changed(Reconciliation)
        A reconciliation ended, or the trader resolved one of its disagreements.
    """

    order_changed = Signal(object)
    fill_added = Signal(object)
    balances_changed = Signal(object)
    halted_changed = Signal(bool)
    refused = Signal(object)
    reconciliation_changed = Signal(object)

    def __init__(
        self,
        venue: Venue,
        *,
        limits: RiskLimits,
        journal_path: Path | None = None,
        clock: Callable[[], int],
        prices: Callable[[str], float | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.venue = venue
        self.limits = limits
        self.journal_path = default_journal_path(venue.name) if journal_path is None else Path(journal_path)
        self._clock = clock
        self._prices = prices
        self._journal = OrderJournal(self.journal_path)
        self._init = InitOnce()
        self._entries: dict[str, JournalEntry] = {}
        self._fills: dict[str, Fill] = {}
        self._acknowledged: dict[str, str] = {}
        self._balances: list[Balance] = []
        self._open_orders: list[OrderRecord] = []
        self._rules: dict[str, MarketRules] = {}
        self._halt = HaltState(halted=False, reason="")
        self._reconciliation: Reconciliation | None = None
        #: Client ids of the submits under way, and of the orders among them waiting for the venue's answer.
        self._in_flight: set[str] = set()
        self._sending: set[str] = set()
        self._gate: asyncio.Lock | None = None

    # The desk's state.

    @property
    def name(self) -> str:
        """Return the venue's name (``paper``, or the exchange id)."""
        return self.venue.name

    @property
    def real_money(self) -> bool:
        """Tell whether the venue's orders move real money."""
        return self.venue.real_money

    @property
    def destination(self) -> str:
        """Return where the desk's orders go, in the trader's words (the venue's ``destination``)."""
        return self.venue.destination

    @property
    def halted(self) -> bool:
        """Tell whether the kill switch is on (entries refused; exits and cancels go through)."""
        return self._halt.halted

    @property
    def halt_reason(self) -> str:
        """Return why the kill switch is on ('' when it is off)."""
        return self._halt.reason

    @property
    def reconciliation(self) -> Reconciliation | None:
        """Return the last reconciliation (None before the first), less the disagreements resolved since."""
        return self._reconciliation

    async def open(self) -> None:
        """Read the journal and look up at the venue every order whose answer never came (once; later calls return).

        Every other coroutine of the desk opens it first; call it before reading the monitors of a restarted desk.
        """
        await self._init.run(self._open)

    async def _open(self) -> None:
        contents = await self._journal.read()
        self._entries = dict(contents.entries)
        self._fills = dict(contents.fills)
        self._acknowledged = dict(contents.acknowledged)
        if contents.halt is not None and contents.halt.halted and not self._halt.halted:
            self._halt = contents.halt
            self.halted_changed.emit(True)
        await self._look_up_pending()

    async def aclose(self) -> None:
        """Close the journal file (the venue is the caller's to close)."""
        await self._journal.close()

    # The route every order takes.

    async def market_rules(self, symbol: str) -> MarketRules:
        """Return the venue's rules of ``symbol`` (asked once per desk)."""
        rules = self._rules.get(symbol)
        if rules is None:
            rules = self._rules[symbol] = await self.venue.market_rules(symbol)
        return rules

    async def submit(self, order: OrderRequest) -> OrderRecord:
        """Send ``order`` through the kill switch, the risk gate and the journal to the venue; return its record.

        An order whose client id the journal already holds is not sent again: its record is returned, or, when its
        answer never came, it is looked up at the venue first and sent only if the venue never saw it.

        Raises
        ------
        OrderRefused
            The kill switch, a disagreeing reconciliation or a risk limit refused it (entries only); ``refused`` fires.
        OrderRejectedError
            The venue refused it, or its client id was already used for another order.
        OrderTransientError
            The outcome is unknown (timeout, network): ask again with the same client id.
        """
        await self.open()
        order_id = order.client_order_id
        if order_id in self._in_flight:
            raise OrderTransientError(f"order {order_id} is being sent right now; ask again for its outcome")
        self._in_flight.add(order_id)
        try:
            known = self._entries.get(order_id)
            if known is not None:
                if known.request != order:
                    raise OrderRejectedError(
                        f"client order id {order_id} was already used for another order ({_describe(known.request)})"
                    )
                found = await self._known_outcome(known)
                if found is not None:
                    return found
            return await self._send(order)
        finally:
            self._in_flight.discard(order_id)

    async def cancel(self, symbol: str, client_order_id: str) -> OrderRecord:
        """Cancel the order at the venue (allowed while halted); return its final record.

        Raises
        ------
        OrderRejectedError
            The venue does not know the order.
        OrderTransientError
            The outcome is unknown.
        """
        await self.open()
        record = await self.venue.cancel(symbol, client_order_id)
        return await self._update(record)

    async def fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        """Return the venue's record of the order, or None when the venue never saw it; the journal follows.

        An order the journal holds without an answer and the venue never saw is marked lost: it may be sent again.
        """
        await self.open()
        return await self._fetch_order(symbol, client_order_id)

    async def _fetch_order(self, symbol: str, client_order_id: str) -> OrderRecord | None:
        record = await self.venue.fetch_order(symbol, client_order_id)
        if record is None:
            entry = self._entries.get(client_order_id)
            # An order being sent right now may reach the venue after this look-up: it stays pending.
            if entry is not None and entry.state == "pending" and client_order_id not in self._sending:
                await self._store(entry.model_copy(update={"state": "lost"}))
            return None
        return await self._update(record)

    async def _known_outcome(self, known: JournalEntry) -> OrderRecord | None:
        order = known.request
        if known.state in ("answered", "booked") and known.record is not None:
            fresh = await self.fetch_order(order.symbol, order.client_order_id) if known.state == "answered" else None
            return known.record if fresh is None else fresh
        if known.state == "pending":
            return await self.fetch_order(order.symbol, order.client_order_id)
        # Rejected or lost: the venue never took it, so sending it again sends it once.
        return None

    async def _send(self, order: OrderRequest) -> OrderRecord:
        if self._gate is None:
            self._gate = asyncio.Lock()
        await self._load_rules([order.symbol, *self._traded_symbols()])
        order_id = order.client_order_id
        async with self._gate:
            refusal = self._refusal(order)
            if refusal is not None:
                self.refused.emit(refusal)
                raise OrderRefused(refusal)
            entry = JournalEntry(request=order, sent_at=self._clock(), sequence=self._next_sequence(), state="pending")
            # Counted by the risk gate of the orders behind it at once; written to disk outside the gate, so the
            # journal writes of orders sent together share one transaction (see OrderJournal.write_entry).
            earlier = self._entries.get(order_id)
            self._entries[order_id] = entry
            self._sending.add(order_id)
        try:
            try:
                await self._store(entry)
            except BaseException:
                if earlier is None:
                    self._entries.pop(order_id, None)
                else:
                    self._entries[order_id] = earlier
                raise
            record = await self.venue.place(order)
        except OrderRejectedError as exc:
            await self._store(entry.model_copy(update={"state": "rejected", "error": str(exc)}))
            self.order_changed.emit(_rejected_record(entry))
            raise
        finally:
            self._sending.discard(order_id)
        return await self._update(record)

    async def _update(self, record: OrderRecord) -> OrderRecord:
        """Journal ``record`` (stamped with the request's purpose and owner) when the desk knows it; emit a change."""
        entry = self._entries.get(record.client_order_id)
        if entry is not None:
            request = entry.request
            record = record.model_copy(
                update={
                    "purpose": request.purpose,
                    "signal_id": request.signal_id,
                    "strategy_name": request.strategy_name,
                }
            )
            if entry.state != "answered" or entry.record != record:
                await self._store(entry.model_copy(update={"state": "answered", "record": record, "error": None}))
                self.order_changed.emit(record)
        return record

    def _next_sequence(self) -> int:
        return max((entry.sequence for entry in self._entries.values()), default=0) + 1

    async def _store(self, entry: JournalEntry) -> None:
        await self._journal.write_entry(entry)
        self._entries[entry.request.client_order_id] = entry

    async def _look_up_pending(self) -> None:
        unanswered = [entry for entry in self._entries.values() if entry.state == "pending"]
        for entry in [entry for entry in unanswered if entry.request.client_order_id not in self._sending]:
            order = entry.request
            try:
                await self._fetch_order(order.symbol, order.client_order_id)
            except OrderError as exc:
                logger.warning("order %s: its outcome is still unknown (%s)", order.client_order_id, exc)

    # The risk gate.

    def _refusal(self, order: OrderRequest) -> OrderRefusal | None:
        if not is_entry(order):
            return None
        limit, message = self._broken_limit(order) or (None, None)
        if limit is None or message is None:
            return None
        return OrderRefusal(request=order, limit=limit, message=message)

    def _broken_limit(self, order: OrderRequest) -> tuple[RefusalLimit, str] | None:
        if self._halt.halted:
            return "kill_switch", (
                f"the kill switch is on ({self._halt.reason}): new entries are refused until the desk is resumed"
            )
        last = self._reconciliation
        if last is not None and not last.agrees:
            count = len(last.disagreements)
            return "reconciliation", (
                f"the engine and the venue disagree ({count} disagreement{'' if count == 1 else 's'}, first: "
                f"{last.disagreements[0].message}): new entries are refused until they agree"
            )
        limits = self.limits
        quote = self._assets(order.symbol)[1]
        if limits.max_order_notional is not None:
            notional = self._notional(order)
            if notional is None:
                return "max_order_notional", (
                    f"max_order_notional is {limits.max_order_notional:g} {quote}; the notional of this market "
                    f"order of {_amount(order.amount or 0.0)} needs a price of {order.symbol}, and none is known"
                )
            if notional > limits.max_order_notional:
                return "max_order_notional", (
                    f"max_order_notional is {limits.max_order_notional:g} {quote}; "
                    f"this order's notional is {notional:g} {quote}"
                )
        now = self._clock()
        if limits.max_orders_per_minute is not None:
            sent = sum(
                entry.state in _SENT_STATES and now - MINUTE_MS < entry.sent_at <= now
                for entry in self._entries.values()
            )
            if sent + 1 > limits.max_orders_per_minute:
                return "max_orders_per_minute", (
                    f"max_orders_per_minute is {limits.max_orders_per_minute}; {sent} orders were sent "
                    f"in the last minute, this one would be number {sent + 1}"
                )
        if limits.max_open_positions is not None:
            positions = self._open_positions()
            key = (order.strategy_name, order.symbol)
            if key not in positions and len(positions) + 1 > limits.max_open_positions:
                return "max_open_positions", (
                    f"max_open_positions is {limits.max_open_positions}; the desk holds {len(positions)} "
                    f"({', '.join(_position_name(*position) for position in sorted(positions, key=str))}), "
                    f"this order would open {_position_name(*key)} as number {len(positions) + 1}"
                )
        if limits.daily_loss_limit is not None:
            realised, open_pnl = self._day_pnl(now)
            loss = -(realised + open_pnl)
            if loss >= limits.daily_loss_limit:
                return "daily_loss_limit", (
                    f"daily_loss_limit is {limits.daily_loss_limit:g} {quote}; the loss since "
                    f"{from_ms(day_start(now)):%Y-%m-%d} 00:00 UTC is {_cents(loss)} {quote} "
                    f"(realised {_cents(-realised)}, open {_cents(-open_pnl)})"
                )
        return None

    def _notional(self, order: OrderRequest) -> float | None:
        if order.cost is not None:
            return order.cost
        price = order.price or order.trigger_price or self.mark_price(order.symbol)
        return None if price is None or order.amount is None else order.amount * price

    def _open_positions(self) -> set[tuple[str | None, str]]:
        positions = {
            (holding.strategy_name, holding.symbol)
            for holding in self._holdings().values()
            if holding.amount > self._dust(holding.symbol)
        }
        for entry in self._entries.values():
            resting = entry.state == "pending" or (entry.record is not None and entry.record.is_open)
            if resting and is_entry(entry.request) and entry.request.side == "buy":
                positions.add((entry.request.strategy_name, entry.request.symbol))
        return positions

    def _day_pnl(self, now: int) -> tuple[float, float]:
        holdings = self._holdings(since=day_start(now))
        realised = sum(holding.realised_today for holding in holdings.values())
        open_pnl = sum(holding.open_pnl(self.mark_price(holding.symbol)) for holding in holdings.values())
        return realised, open_pnl

    def _holdings(self, since: int | None = None) -> dict[HoldingKey, Holding]:
        start = day_start(self._clock()) if since is None else since
        return book_holdings(self._entries.values(), since=start, assets=self._assets)

    def _dust(self, symbol: str) -> float:
        rules = self._rules.get(symbol)
        return 0.0 if rules is None else max(rules.amount_step, rules.min_amount) * (1 - 1e-9)

    def _assets(self, symbol: str) -> tuple[str, str]:
        rules = self._rules.get(symbol)
        if rules is not None:
            return rules.base, rules.quote
        # Every async path loads the rules first; only a sync monitor read before any can get here.
        return split_symbol(symbol) if "/" in symbol else (symbol, "")

    async def _load_rules(self, symbols: Sequence[str]) -> None:
        for symbol in symbols:
            await self.market_rules(symbol)

    def mark_price(self, symbol: str) -> float | None:
        """Return the newest price of ``symbol`` the desk knows: the ``prices`` source's, else its newest fill's."""
        if self._prices is not None:
            price = self._prices(symbol)
            if price is not None:
                return price
        # In arrival order, so the last of fills in the same millisecond wins.
        fills = [fill for fill in self._fills.values() if fill.symbol == symbol]
        if fills:
            return max(enumerate(fills), key=lambda item: (item[1].timestamp, item[0]))[1].price
        records = [
            entry.record
            for entry in self._entries.values()
            if entry.record is not None and entry.record.symbol == symbol and entry.record.average is not None
        ]
        return max(records, key=lambda record: record.updated).average if records else None

    # Monitors.

    def orders(self) -> builtins.list[OrderRecord]:
        """Return the desk's orders, open and done, newest first (refused by the venue: status ``rejected``)."""
        found: list[tuple[int, int, OrderRecord]] = []
        for entry in self._entries.values():
            if entry.record is not None:
                found.append((entry.record.timestamp, entry.sequence, entry.record))
            elif entry.state == "rejected":
                found.append((entry.sent_at, entry.sequence, _rejected_record(entry)))
        found.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [record for _, _, record in found]

    def fills(self) -> builtins.list[Fill]:
        """Return the executions :meth:`refresh` found, newest first."""
        return sorted(self._fills.values(), key=lambda fill: (fill.timestamp, fill.trade_id), reverse=True)

    def balances(self) -> builtins.list[Balance]:
        """Return the account's balances as :meth:`refresh` last read them."""
        return list(self._balances)

    def positions(self) -> builtins.list[Holding]:
        """Return what the desk's fills hold, one row per strategy, symbol and signal with an amount left."""
        return [holding for holding in self._holdings().values() if holding.amount > self._dust(holding.symbol)]

    def equity(self, prices: Mapping[str, float]) -> float:
        """Return the account's value in the quote asset at ``prices`` (symbol → price), from the last balances.

        The quote asset is the quote of the symbols priced; an asset counts at the price of ``<asset>/<quote>``.
        Assets the desk never traded and ``prices`` does not price are not the desk's and are left out.

        Raises
        ------
        ValueError
            If ``prices`` names symbols of several quotes, or an asset the desk traded is held without a price.
        """
        quotes = {self._assets(symbol)[1] for symbol in prices}
        traded = {self._assets(entry.request.symbol)[0] for entry in self._entries.values()}
        if len(quotes) > 1:
            raise ValueError(f"prices must share one quote asset, got {sorted(quotes)}")
        quote = quotes.pop() if quotes else next(iter({self._assets(s)[1] for s in self._traded_symbols()}), None)
        by_base = {self._assets(symbol)[0]: price for symbol, price in prices.items()}
        total = 0.0
        for balance in self._balances:
            if balance.asset == quote:
                total += balance.total
            elif balance.asset in by_base:
                total += balance.total * by_base[balance.asset]
            elif balance.asset in traded and balance.total > 0:
                raise ValueError(
                    f"no price of {balance.asset}/{quote} to value {_amount(balance.total)} {balance.asset}"
                )
        return total

    def _traded_symbols(self) -> builtins.list[str]:
        return sorted({entry.request.symbol for entry in self._entries.values()})

    async def refresh(self) -> None:
        """Read the venue's open orders, new fills and balances; the journal follows and the signals fire."""
        await self.open()
        await self._look_up_pending()
        await self._load_rules(self._traded_symbols())
        self._open_orders = await self.venue.open_orders()
        resting = {order.client_order_id for order in self._open_orders}
        for record in self._open_orders:
            if record.client_order_id in self._entries:
                await self._update(record)
        gone = [
            entry.request
            for entry in self._entries.values()
            if entry.state == "answered" and entry.record is not None and entry.record.is_open
        ]
        for request in gone:
            if request.client_order_id not in resting:
                await self.fetch_order(request.symbol, request.client_order_id)
        for symbol in self._traded_symbols():
            await self._read_fills(symbol)
        self._balances = await self.venue.balances()
        self.balances_changed.emit(list(self._balances))

    async def _read_fills(self, symbol: str) -> None:
        known = [fill.timestamp for fill in self._fills.values() if fill.symbol == symbol]
        sent = [entry.sent_at for entry in self._entries.values() if entry.request.symbol == symbol]
        since = max(known) if known else min(sent) - CLOCK_SKEW_MS
        new = [fill for fill in await self.venue.fills(symbol, since) if fill.trade_id not in self._fills]
        await self._journal.write_fills(new)
        for fill in new:
            self._fills[fill.trade_id] = fill
            self.fill_added.emit(fill)

    # The kill switch.

    def halt(self, reason: str) -> None:
        """Refuse new entries from now on (exits and cancels still go through); stored, so a restart stays halted."""
        if not reason.strip():
            raise ValueError("reason must say why the desk halts, got an empty text")
        self._set_halt(HaltState(halted=True, reason=reason))

    def resume(self) -> None:
        """Accept new entries again."""
        self._set_halt(HaltState(halted=False, reason=""))

    def _set_halt(self, halt: HaltState) -> None:
        changed = halt.halted != self._halt.halted
        self._journal.write_halt_now(halt)
        self._halt = halt
        if changed:
            self.halted_changed.emit(halt.halted)

    async def flatten(self) -> FlattenReport:
        """Halt, cancel every open order on the venue, and sell at market every holding of the desk's positions.

        Failures other than rejections are tried again for 2 s from the start; what still failed is in the report.
        """
        deadline = time.monotonic() + FLATTEN_BUDGET_SECONDS
        if not self.halted:
            self.halt("flatten everything")
        failed: list[str] = []
        await self.open()
        try:
            resting = await within_budget(self.venue.open_orders, deadline)
        except Exception as exc:
            resting = []
            failed.append(f"could not read the open orders: {exc}")
        outcomes = await asyncio.gather(
            *(within_budget(self._cancel_call(order), deadline) for order in resting), return_exceptions=True
        )
        cancelled: list[OrderRecord] = []
        for order, outcome in zip(resting, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                failed.append(f"cancel {order.symbol} {order.client_order_id}: {outcome}")
            else:
                cancelled.append(outcome)
        try:
            sells, skipped = await self._flatten_sells(deadline)
        except Exception as exc:
            sells, skipped = [], [f"could not read what to sell: {exc}"]
        failed.extend(skipped)
        sold_outcomes = await asyncio.gather(
            *(within_budget(self._submit_call(sell), deadline) for sell in sells), return_exceptions=True
        )
        sold: list[OrderRecord] = []
        for sell, result in zip(sells, sold_outcomes, strict=True):
            if isinstance(result, BaseException):
                failed.append(f"sell {_amount(sell.amount or 0.0)} {sell.symbol}: {result}")
            else:
                sold.append(result)
        try:
            self._balances = await within_budget(self.venue.balances, deadline)
            self.balances_changed.emit(list(self._balances))
        except Exception as exc:
            failed.append(f"could not read the balances: {exc}")
        return FlattenReport(cancelled=tuple(cancelled), sold=tuple(sold), failed=tuple(failed))

    def _cancel_call(self, order: OrderRecord) -> Callable[[], Awaitable[OrderRecord]]:
        return lambda: self.cancel(order.symbol, order.client_order_id)

    def _rules_call(self, symbol: str) -> Callable[[], Awaitable[MarketRules]]:
        return lambda: self.market_rules(symbol)

    def _submit_call(self, order: OrderRequest) -> Callable[[], Awaitable[OrderRecord]]:
        return lambda: self.submit(order)

    async def _flatten_sells(self, deadline: float) -> tuple[builtins.list[OrderRequest], builtins.list[str]]:
        for symbol in self._traded_symbols():
            await within_budget(self._rules_call(symbol), deadline)
        balances = await within_budget(self.venue.balances, deadline)
        free = {balance.asset: balance.free for balance in balances}
        moment = self._clock()
        sells: list[OrderRequest] = []
        skipped: list[str] = []
        for holding in sorted(self._holdings().values(), key=lambda item: (item.symbol, str(item.signal_id))):
            if holding.amount <= 0:
                continue
            rules = self._rules[holding.symbol]
            amount = rules.round_amount(min(holding.amount, free.get(rules.base, 0.0)))
            price = self.mark_price(holding.symbol)
            if amount < max(rules.min_amount, rules.amount_step) or (
                price is not None and amount * price < rules.min_cost
            ):
                if holding.amount > self._dust(holding.symbol):
                    skipped.append(
                        f"left {_amount(holding.amount)} {rules.base} of "
                        f"{_position_name(holding.strategy_name, holding.symbol)}: {_amount(amount)} of it is free "
                        f"to sell, below the venue's minimum of {_amount(max(rules.min_amount, rules.amount_step))}"
                    )
                continue
            free[rules.base] = free.get(rules.base, 0.0) - amount
            sells.append(
                OrderRequest(
                    client_order_id=self._flatten_id(holding, moment),
                    symbol=holding.symbol,
                    side="sell",
                    type="market",
                    amount=amount,
                    purpose="flatten",
                    signal_id=holding.signal_id,
                    strategy_name=holding.strategy_name,
                )
            )
        return sells, skipped

    def _flatten_id(self, holding: Holding, moment: int) -> str:
        """Return the client id of the sale of ``holding`` by a flatten at ``moment``.

        A signal's first is its leg ``flatten``, which the signal's broker finds at its next check and closes the
        engine's position by; a later one (the first was refused or sold only part) and a manual holding's carry
        the moment, so no two flattens share an id.
        """
        if holding.signal_id is not None:
            first = client_order_id(holding.signal_id, FLATTEN_LEG)
            if first not in self._entries:
                return first
        owner = holding.signal_id or f"{holding.strategy_name or 'manual'}:{holding.symbol}"
        return client_order_id(owner, f"flatten-{moment}")

    # Reconciliation.

    async def held_positions(
        self, persisted: Sequence[PersistedLiveSignal], unconfirmed: Sequence[SignalRow] = ()
    ) -> builtins.list[HeldPosition]:
        """Return the engine's stored positions and limit orders (``ws.Live.persisted()``) as the desk sees them.

        A position's amount is what the desk's fills of its signal hold; a signal the desk sent no filled order for
        holds what the engine booked (its entries' costs over their prices, less the share partially closed; a
        limit order: 0). Its legs are the signal's orders the journal holds as resting or unanswered. Pass only the
        rows of the runs that trade on this desk's venue.

        The venue is read first (:meth:`refresh`): an order that filled or was cancelled while the desk was away
        (a protective order that filled after a crash) is neither counted on as a leg nor as holding.

        ``unconfirmed`` are the opens the engine tried and has not confirmed (``unconfirmed_live_opens``: a run
        killed inside its open gate tries them again when it resumes): each holds what the desk's fills of it hold,
        nothing when the venue filled none.
        """
        await self.refresh()
        holdings = self._holdings()
        found: list[HeldPosition] = []
        rows = [(stored.signal, stored.kind) for stored in persisted] + [(row, None) for row in unconfirmed]
        for row, kind in rows:
            key = (row.strategy_name, row.symbol, row.id)
            if key in holdings:
                amount = max(holdings[key].amount, 0.0)
            elif kind != "open_position":
                amount = 0.0
            else:
                bought = sum(entry.cost / entry.price for entry in row.entries if entry.price > 0)
                amount = bought * (1 - row.partial_executed / 100)
            legs = tuple(
                order_id
                for order_id, entry in sorted(self._entries.items())
                if entry.request.signal_id == row.id
                and (entry.state == "pending" or (entry.record is not None and entry.record.is_open))
            )
            found.append(
                HeldPosition(
                    strategy_name=row.strategy_name,
                    symbol=row.symbol,
                    signal_id=row.id,
                    side=row.position,
                    amount=amount,
                    order_ids=legs,
                )
            )
        return found

    async def reconcile(self, held: Sequence[HeldPosition]) -> Reconciliation:
        """Compare the engine's ``held`` positions with the venue's open orders, fills and balances (refreshed first).

        The assets compared are the bases of the symbols the engine holds or the desk traded; the desk's own
        positions outside the engine (manual and adopted) count with the engine's. While the result disagrees,
        :meth:`submit` refuses entries. ``reconciliation_changed`` fires.
        """
        await self.refresh()
        symbols = sorted({position.symbol for position in held} | set(self._traded_symbols()))
        base_of: dict[str, str] = {}
        assets: dict[str, AssetBook] = {}
        holdings = self._holdings()
        for symbol in symbols:
            rules = await self.market_rules(symbol)
            base_of[symbol] = rules.base
            positions = sum(position.symbol == symbol for position in held)
            book = assets.get(rules.base, AssetBook(symbol=symbol))
            extra = sum(
                holding.amount
                for holding in holdings.values()
                if holding.symbol == symbol and holding.signal_id is None
            )
            tolerance = book.tolerance + rules.amount_step * (positions + 1)
            assets[rules.base] = AssetBook(symbol=book.symbol, extra=book.extra + extra, tolerance=tolerance)
        known = frozenset(
            order_id
            for order_id, entry in self._entries.items()
            if entry.request.signal_id is None
            and (entry.state == "pending" or (entry.record is not None and entry.record.is_open))
        )
        venue = VenueView(
            open_orders=self._open_orders,
            balances=self._balances,
            known_order_ids=known,
            acknowledged_missing=frozenset(self._acknowledged),
        )
        reconciliation = Reconciliation(
            checked_at=self._clock(), disagreements=tuple(compare(held, assets, base_of, venue))
        )
        self._reconciliation = reconciliation
        self.reconciliation_changed.emit(reconciliation)
        return reconciliation

    async def adopt(self, disagreement: Disagreement) -> None:
        """Accept the venue's side of ``disagreement``: the desk takes the orphan order or holding as its own.

        An orphan order or holding becomes a manual position of the desk (booked with purpose ``adopt`` at the newest
        known price; flatten sells it); a holding that differs books the difference; a missing order is accepted as
        gone. The disagreement leaves the last reconciliation.
        """
        await self.open()
        if disagreement.kind == "missing_order":
            order_id = _order_id(disagreement)
            await self._journal.write_acknowledged(order_id, disagreement.message)
            self._acknowledged[order_id] = disagreement.message
        elif disagreement.kind == "orphan_order":
            await self._adopt_order(_order_id(disagreement), disagreement.symbol)
        else:
            await self._book_adopted(disagreement.symbol, disagreement.amount)
        self._resolved(disagreement)

    async def flatten_orphan(self, disagreement: Disagreement) -> OrderRecord:
        """Remove the venue's side of ``disagreement``: cancel the orphan order, or sell the extra holding at market.

        Raises
        ------
        ValueError
            If there is nothing at the venue to flatten: a missing order, or a venue holding less than accounted for.
        """
        await self.open()
        if disagreement.kind == "orphan_order":
            record = await self.venue.cancel(disagreement.symbol, _order_id(disagreement))
            self.order_changed.emit(record)
        elif disagreement.amount > 0 and disagreement.kind in ("orphan_holding", "amount_differs"):
            rules = await self.market_rules(disagreement.symbol)
            amount = rules.round_amount(disagreement.amount)
            if amount < max(rules.min_amount, rules.amount_step):
                raise ValueError(
                    f"amount {_amount(disagreement.amount)} {rules.base} is below the venue's minimum "
                    f"{_amount(max(rules.min_amount, rules.amount_step))}: nothing can be sold"
                )
            await self._book_adopted(disagreement.symbol, amount)
            moment = self._clock()
            record = await self.submit(
                OrderRequest(
                    client_order_id=client_order_id(f"orphan:{disagreement.symbol}", f"flatten-{moment}"),
                    symbol=disagreement.symbol,
                    side="sell",
                    type="market",
                    amount=amount,
                    purpose="flatten",
                )
            )
        else:
            raise ValueError(f"nothing at the venue to flatten: {disagreement.message}")
        self._resolved(disagreement)
        return record

    async def _adopt_order(self, order_id: str, symbol: str) -> None:
        record = await self.venue.fetch_order(symbol, order_id)
        if record is None:
            raise ValueError(f"order {order_id} on {symbol} is not at the venue any more: reconcile again")
        request = OrderRequest(
            client_order_id=order_id,
            symbol=record.symbol,
            side=record.side,
            type=record.type,
            amount=record.amount,
            price=record.price if record.type == "limit" else None,
            trigger_price=record.trigger_price,
            purpose="adopt",
        )
        stamped = record.model_copy(update={"purpose": "adopt", "signal_id": None, "strategy_name": None})
        entry = JournalEntry(
            request=request, sent_at=self._clock(), sequence=self._next_sequence(), state="booked", record=stamped
        )
        await self._store(entry)
        self.order_changed.emit(stamped)

    async def _book_adopted(self, symbol: str, amount: float) -> None:
        """Book ``amount`` of ``symbol``'s base as the desk's own (negative: a holding the desk has not)."""
        moment = self._clock()
        price = self.mark_price(symbol)
        side = "buy" if amount > 0 else "sell"
        size = abs(amount)
        order_id = client_order_id(f"adopt:{symbol}", str(moment))
        request = OrderRequest(
            client_order_id=order_id, symbol=symbol, side=side, type="market", amount=size, purpose="adopt"
        )
        record = OrderRecord(
            client_order_id=order_id,
            exchange_order_id="",
            symbol=symbol,
            side=side,
            type="market",
            status="closed",
            amount=size,
            filled=size,
            price=price,
            trigger_price=None,
            average=price,
            cost=size * (price or 0.0),
            fee=0.0,
            fee_currency=None,
            timestamp=moment,
            updated=moment,
            purpose="adopt",
        )
        await self._store(
            JournalEntry(request=request, sent_at=moment, sequence=self._next_sequence(), state="booked", record=record)
        )
        self.order_changed.emit(record)

    def _resolved(self, disagreement: Disagreement) -> None:
        last = self._reconciliation
        if last is None or disagreement not in last.disagreements:
            return
        rest = tuple(item for item in last.disagreements if item != disagreement)
        self._reconciliation = last.model_copy(update={"disagreements": rest})
        self.reconciliation_changed.emit(self._reconciliation)


def _order_id(disagreement: Disagreement) -> str:
    if disagreement.client_order_id is None:
        raise ValueError(f"the disagreement names no order: {disagreement.message}")
    return disagreement.client_order_id


def _position_name(strategy_name: str | None, symbol: str) -> str:
    return f"{strategy_name or 'manual'} on {symbol}"


def _cents(money: float) -> str:
    """Return ``money`` to the cent, a zero without sign (a loss of -0.00 reads as a gain)."""
    return f"{round(money, 2) + 0.0:.2f}"


def _describe(order: OrderRequest) -> str:
    size = f"{_amount(order.amount)}" if order.amount is not None else f"cost {order.cost:g}"
    return f"{order.type} {order.side} {size} {order.symbol}"


def _rejected_record(entry: JournalEntry) -> OrderRecord:
    """Return the record of an order the venue refused: it never existed there, so it has no exchange id."""
    order = entry.request
    return OrderRecord(
        client_order_id=order.client_order_id,
        exchange_order_id="",
        symbol=order.symbol,
        side=order.side,
        type=order.type,
        status="rejected",
        amount=order.amount or 0.0,
        filled=0.0,
        price=order.price,
        trigger_price=order.trigger_price,
        average=None,
        cost=0.0,
        fee=0.0,
        fee_currency=None,
        timestamp=entry.sent_at,
        updated=entry.sent_at,
        purpose=order.purpose,
        signal_id=order.signal_id,
        strategy_name=order.strategy_name,
    )
