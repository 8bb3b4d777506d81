"""The engine's gates and checks as orders: a long position on a spot venue, leg by leg.

Every order of a signal is a *leg* with a client order id derived from the signal id
(:func:`~workstation.brokers.orders.client_order_id`): ``entry`` (the market buy, or the resting limit buy of a
scheduled signal), ``entry-2``, ``entry-3``, ... (one per try of the open completing a market entry that filled in
part), ``sell_back`` (the sale of what such an entry bought when the engine gives the open up), ``average-2``,
``average-3``, ... (averaging in; ``average-2-2``, ... for the same averaging asked again after a try that filled
in part and was sold back under ``average-2-sell_back``), ``partial-1``, ``partial-2``, ... (partial closes),
``exit``, ``exit-2``, ... (one per try of the close) and the protective ``stop_loss`` / ``take_profit`` with a
counter for each replacement (``stop_loss-2``); ``flatten`` is the kill switch's sale of the holding, sent by the
order desk.
The amount held is counted from the venue's fills of these legs, never from the engine's money, so what is sold is
what was bought.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Literal, Protocol

from workstation.brokers.errors import OrderDeletedError, OrderRejectedError, OrderTransientError
from workstation.brokers.orders import (
    FLATTEN_LEG,
    MarketRules,
    OrderPurpose,
    OrderRecord,
    OrderRequest,
    OrderType,
    Side,
    client_order_id,
)
from workstation.brokers.payloads import (
    AverageBuy,
    BrokerPayload,
    LevelMove,
    OrderCheck,
    OrderClose,
    OrderOpen,
    PartialClose,
    ScheduleCancelled,
)
from workstation.brokers.route import OrderRoute
from workstation.brokers.signal_orders import SignalOrders, numbered
from workstation.commands import commit_activate_scheduled, commit_create_stop_loss, commit_create_take_profit
from workstation.config import get_config

logger = logging.getLogger("workstation.brokers")

#: A protective order the venue keeps: it sells the whole holding when the price reaches its level.
Protection = Literal["stop_loss", "take_profit"]

#: The sale of what a partly filled entry bought, when the engine gives the open up at its last try.
SELL_BACK_LEG = "sell_back"

#: The payloads that carry the position's levels.
Protected = OrderOpen | OrderCheck | PartialClose | AverageBuy | LevelMove

_WORDS: dict[Protection, str] = {"stop_loss": "stop loss", "take_profit": "take profit"}


class PositionCommands(Protocol):
    """The engine's commands a check uses to report what the venue did on its own (19.5's commit functions)."""

    async def activate_scheduled(self, symbol: str) -> None:
        """Open the position now: its resting limit order filled (``commit_activate_scheduled``)."""

    async def take_profit_filled(self, symbol: str) -> None:
        """Close with reason ``take_profit``: the take profit order filled (``commit_create_take_profit``)."""

    async def stop_loss_filled(self, symbol: str) -> None:
        """Close with reason ``stop_loss``: the stop loss order filled (``commit_create_stop_loss``)."""


class EngineCommands:
    """The live engine's commands, as a check calls them inside the run's command context."""

    async def activate_scheduled(self, symbol: str) -> None:
        """Open the position now: its resting limit order filled."""
        await commit_activate_scheduled(symbol)

    async def take_profit_filled(self, symbol: str) -> None:
        """Close with reason ``take_profit``: the take profit order filled."""
        await commit_create_take_profit(symbol)

    async def stop_loss_filled(self, symbol: str) -> None:
        """Close with reason ``stop_loss``: the stop loss order filled."""
        await commit_create_stop_loss(symbol)


class SignalBroker:
    """Turn the live engine's gates and checks into orders through ``route`` (a :class:`Broker`).

    Long positions only: a spot venue cannot sell what the account does not hold, so a short is refused. A retry
    (``attempt`` > 0) or a timeout looks the leg up by its client id before sending it again, so a lost answer never
    buys or sells twice.

    Protection: the protective orders the venue keeps (``MarketRules.native_stop_loss`` / ``native_take_profit``)
    rest on the venue for the whole holding; a level the venue does not keep is watched by the engine, which closes
    through the close gate when the price reaches it. Both kept means the venue holds them as a one-cancels-the-other
    pair (the paper venue); a spot exchange without OCO orders cannot back two sells with one amount (Binance spot
    holds the base of each), so its venue keeps the stop and reports the take profit as not kept (the ccxt venue).
    A protective order follows the position: it is replaced after averaging in, a partial close or a level move, and
    put back by the check when it is found missing or cancelled.

    Parameters
    ----------
    route
        Where the orders go (the order desk of the venue).
    commands
        The engine's commands the checks call when the venue filled a resting or protective order (by default the
        live engine's: ``commit_activate_scheduled``, ``commit_create_take_profit``, ``commit_create_stop_loss``).
    amount_from_cost
        Size market buys by amount (the cost at the current price, rounded down to the amount step) for venues that
        cannot buy a quote amount; by default they are sized by ``cost``.
    """

    def __init__(
        self, route: OrderRoute, *, commands: PositionCommands | None = None, amount_from_cost: bool = False
    ) -> None:
        self._route = route
        self._orders = SignalOrders(route)
        self._commands = EngineCommands() if commands is None else commands
        self._amount_from_cost = amount_from_cost
        #: The number of the protective order resting for a signal (found on the venue after a restart).
        self._protection_number: dict[tuple[str, Protection], int] = {}
        #: The exits a close of the signal tried in this process (a check counts what they sold).
        self._exit_tries: dict[str, int] = {}
        #: The entry legs of a signal found or sent in this process (``entry``, ``entry-2``, ...).
        self._entry_tries: dict[str, int] = {}
        self._unclaimed: list[OrderRecord] = []

    @property
    def unclaimed_fills(self) -> list[OrderRecord]:
        """Return the limit orders that filled after the engine dropped them: holdings the reconciliation owns."""
        return list(self._unclaimed)

    async def wait_for_init(self) -> None:
        """Nothing to load: the route is connected and the orders are found by their client ids."""

    # -- gates ---------------------------------------------------------------------------------------------------

    async def on_order_open(self, payload: OrderOpen) -> None:
        """Place the limit buy of a scheduled signal, or enter the position and put its protection on the venue.

        An "active" open of a signal whose limit order rests on the venue confirms its fill: while it has not filled
        in full, :class:`OrderTransientError` keeps the engine waiting (19.5 retries the open on the next tick); a
        limit order that ended with part filled (cancelled or expired on the venue) is refused, as the check drops
        it: the engine cancels the signal and the fill is left to the reconciliation.

        A market entry that filled in part raises :class:`OrderTransientError` naming what it bought of what, so the
        engine does not open the position at its whole cost; the next try buys only what is missing under its own
        leg (``entry-2``, ...), looked up first. The engine does not tell the broker it gave the open up, but its
        budget is 19.5's global ``Config.order_open_retry_attempts`` and the payload's ``attempt`` counts the tries:
        the last try that still falls short sells back what the entry legs bought (``sell_back``) before it fails.
        An open the engine drops for another reason (the price moved, the run stops, the risk check) is not asked
        again: what its legs bought is an orphan holding the desk's reconciliation reports.
        """
        _refuse_short(payload)
        rules = await self._route.market_rules(payload.symbol)
        if payload.kind == "schedule":
            amount = _amount(rules, payload.cost / payload.price_open, f"cost={payload.cost}")
            price = rules.round_price(payload.price_open)
            order = _request(payload, "entry", "buy", "limit", "entry", amount=amount, price=price)
            _require_fill(await self._orders.place(order, look_first=payload.attempt > 0))
            return
        # Looked up at every try: the entry may be the resting limit order of a scheduled signal.
        tries = await self._entries(payload, rules)
        sent_earlier = bool(tries)
        if not sent_earlier:
            tries = [await self._orders.place(self._buy(payload, rules, "entry", "entry"), look_first=False)]
            self._entry_tries[payload.signal_id] = 1
        first, latest = tries[0], tries[-1]
        if latest.is_open:
            raise OrderTransientError(
                f"{latest.type} order not filled yet: {latest.filled:g} of {latest.amount:g} {rules.base} filled "
                f"(client order id {latest.client_order_id})"
            )
        if first.filled <= 0:
            raise OrderRejectedError(
                f"the entry order {first.client_order_id} ended {first.status} with nothing filled"
            )
        if first.type == "limit" and _short(rules, first.amount, first.filled):
            # As the check: the limit order is over, the engine cancels the signal, the fill is the reconciliation's.
            raise OrderRejectedError(
                f"the limit order {first.client_order_id} ended {first.status} with {first.filled:g} of "
                f"{first.amount:g} {rules.base} filled: the signal is cancelled, the holding is left to the "
                "reconciliation"
            )
        if sent_earlier and _short(rules, first.amount, _bought(tries)):
            # The legs were sent by earlier tries: this one buys what they left.
            leg = numbered("entry", len(tries) + 1)
            missing = rules.round_amount(first.amount - _bought(tries))
            order = _request(payload, leg, "buy", "market", "entry", amount=missing)
            tries.append(await self._orders.place(order, look_first=False))
            self._entry_tries[payload.signal_id] = len(tries)
        bought = _bought(tries)
        if _short(rules, first.amount, bought):
            what = f"the entry bought {bought:g} of {first.amount:g} {rules.base} ({tries[-1].status})"
            if payload.attempt < get_config().order_open_retry_attempts:
                raise OrderTransientError(f"{what}; the rest is bought at the next try")
            legs = [numbered("entry", number) for number in range(1, len(tries) + 1)]
            sold = await self._sell_back(payload, rules, legs, SELL_BACK_LEG, "the open is given up")
            raise OrderTransientError(f"{what} at the last try; {sold}")
        # A position being opened has sent no exit.
        self._exit_tries.setdefault(payload.signal_id, 0)
        await self._protect_quietly(payload, rules, entries=1, partials=0)

    async def _entries(self, payload: BrokerPayload, rules: MarketRules) -> list[OrderRecord]:
        """Return the records of the signal's entry legs on the venue (``entry``, ``entry-2``, ...; none: []).

        A leg after the first is looked for only while the ones before ended short of the entry's amount.
        """
        tries: list[OrderRecord] = []
        while not tries or (not tries[-1].is_open and _short(rules, tries[0].amount, _bought(tries))):
            found = await self._orders.find(payload.symbol, payload.signal_id, numbered("entry", len(tries) + 1))
            if found is None:
                break
            tries.append(found)
        if tries:
            self._entry_tries[payload.signal_id] = len(tries)
        return tries

    async def _sell_back(
        self, payload: OrderOpen | AverageBuy, rules: MarketRules, legs: list[str], leg: str, outcome: str
    ) -> str:
        """Sell what ``legs`` hold at market under ``leg``; return what it sold back of what, then ``outcome``.

        The sale is looked up first: it may have been sent before a crash.
        """
        held = await self._orders.held(payload.symbol, payload.signal_id, legs, base=rules.base)
        amount = rules.round_amount(held)
        if amount < rules.min_amount or amount <= 0:
            return f"{held:g} {rules.base} is too little to sell back: {outcome} and it is left to the reconciliation"
        order = _request(payload, leg, "sell", "market", "exit", amount=amount)
        sold = await self._orders.place(order, look_first=True)
        left = " and the rest is left to the reconciliation" if _short(rules, amount, sold.filled) else ""
        return f"sold back {sold.filled:g} of {amount:g} {rules.base} ({sold.status}): {outcome}{left}"

    async def on_order_close(self, payload: OrderClose) -> None:
        """Cancel the protective order and sell what the position holds at market.

        A protective order found filled means the venue closed the position already: nothing is sold again. Each
        try of the close sends its own exit leg (``exit``, ``exit-2``, ...) for what the earlier ones left, so an
        exit that filled in part is completed by the next try and an exit whose answer was lost is not sent twice.
        """
        await self._close(payload)
        self._forget(payload.signal_id)

    async def _close(self, payload: OrderClose) -> None:
        _refuse_short(payload)
        rules = await self._route.market_rules(payload.symbol)
        tries = payload.attempt + 1
        self._exit_tries[payload.signal_id] = tries
        earlier: dict[str, OrderRecord | None] = {}
        for number in range(1, tries):
            name = numbered("exit", number)
            record = earlier[name] = await self._orders.find(payload.symbol, payload.signal_id, name)
            if record is not None and record.is_open:
                earlier[name] = await self._orders.cancel(payload.signal_id, record)
        filled = await self._unprotect(payload, rules)
        if filled is not None:
            logger.info("the %s order of signal %s had closed the position", _WORDS[filled], payload.signal_id)
            return
        held = await self._held(
            payload, rules, payload.total_entries, payload.total_partials, exits=tries - 1, seen=earlier
        )
        amount = rules.round_amount(held)
        if amount < rules.min_amount or amount <= 0:
            logger.info("signal %s holds %g %s, nothing to sell", payload.signal_id, held, rules.base)
            return
        leg = numbered("exit", tries)
        order = _request(payload, leg, "sell", "market", "exit", amount=amount)
        exit_order = await self._orders.place(order, look_first=payload.attempt > 0)
        if exit_order.is_open or exit_order.filled < exit_order.amount:
            raise OrderTransientError(
                f"the exit sold {exit_order.filled:g} of {amount:g} {rules.base} ({exit_order.status}); "
                "the next try sells the rest"
            )

    async def on_partial_close(self, payload: PartialClose) -> None:
        """Sell ``percent_to_close`` % of what the position holds at market; the protection follows the rest."""
        _refuse_short(payload)
        rules = await self._route.market_rules(payload.symbol)
        # The protective order holds the whole amount on the venue: it comes off before the sale and back after.
        filled = await self._unprotect(payload, rules)
        if filled is not None:
            raise OrderRejectedError(f"the {_WORDS[filled]} order filled: the venue closed the position")
        partials = payload.total_partials + 1
        try:
            held = await self._held(payload, rules, payload.total_entries, payload.total_partials)
            amount = _amount(
                rules, held * payload.percent_to_close / 100, f"percent_to_close={payload.percent_to_close}"
            )
            order = _request(payload, f"partial-{partials}", "sell", "market", "partial", amount=amount)
            sold = await self._orders.place(order, look_first=True)
            _require_fill(sold)
        finally:
            await self._protect_quietly(payload, rules, entries=payload.total_entries, partials=partials)

    async def on_average_buy(self, payload: AverageBuy) -> None:
        """Buy ``cost`` more at market; the protection is resized to the new holding.

        A buy that filled in part is sold back at once (``average-N-sell_back``) and raises
        :class:`OrderTransientError` naming what it bought of what: the engine refuses the change and does not try
        it again, so the position and the venue stay as they were. The same averaging asked again (the same
        ``total_entries``) buys under the next leg of its number (``average-N-2``, ...), each looked up first.
        """
        _refuse_short(payload)
        rules = await self._route.market_rules(payload.symbol)
        entries = payload.total_entries + 1
        name = f"average-{entries}"
        tries = await self._average_tries(payload, rules, name)
        latest = tries[-1] if tries else None
        if latest is not None and latest.is_open:
            raise OrderTransientError(
                f"the average buy {latest.client_order_id} is not filled yet: {latest.filled:g} of "
                f"{latest.amount:g} {rules.base} filled"
            )
        if latest is None or _short(rules, latest.amount, latest.filled):
            if latest is not None and latest.filled > 0:
                # A try cut short before its sale back (a crash): what it bought goes back first.
                cut_short = numbered(name, len(tries))
                if await self._orders.find(payload.symbol, payload.signal_id, _sold_back(cut_short)) is None:
                    await self._sell_back(payload, rules, [cut_short], _sold_back(cut_short), "a try cut short")
            leg = numbered(name, len(tries) + 1)
            bought = await self._orders.place(self._buy(payload, rules, leg, "average"), look_first=False)
            _require_fill(bought)
            if _short(rules, bought.amount, bought.filled):
                sold = await self._sell_back(payload, rules, [leg], _sold_back(leg), "the position is unchanged")
                raise OrderTransientError(
                    f"the average buy bought {bought.filled:g} of {bought.amount:g} {rules.base} ({bought.status}); "
                    f"{sold}"
                )
        await self._protect_quietly(payload, rules, entries=entries, partials=payload.total_partials)

    async def _average_legs(self, payload: BrokerPayload, rules: MarketRules, name: str) -> list[str]:
        """Return the legs of the averaging ``name``: its tries, and the sale back of each that bought too little."""
        legs: list[str] = []
        for number, record in enumerate(await self._average_tries(payload, rules, name), start=1):
            legs.append(numbered(name, number))
            if not record.is_open and record.filled > 0 and _short(rules, record.amount, record.filled):
                legs.append(_sold_back(numbered(name, number)))
        return legs or [name]

    async def _average_tries(self, payload: BrokerPayload, rules: MarketRules, name: str) -> list[OrderRecord]:
        """Return the records of the tries of the averaging ``name`` on the venue (``average-2``, ``average-2-2``, ...).

        A try after the first is looked for only while the ones before ended short (and were sold back).
        """
        tries: list[OrderRecord] = []
        while not tries or (not tries[-1].is_open and _short(rules, tries[-1].amount, tries[-1].filled)):
            found = await self._orders.find(payload.symbol, payload.signal_id, numbered(name, len(tries) + 1))
            if found is None:
                break
            tries.append(found)
        return tries

    async def on_level_move(self, payload: LevelMove) -> None:
        """Replace the protective order at the new level (nothing to do for a level the engine watches)."""
        _refuse_short(payload)
        rules = await self._route.market_rules(payload.symbol)
        filled = await self._protect(payload, rules, entries=payload.total_entries, partials=payload.total_partials)
        if filled is not None:
            raise OrderRejectedError(f"the {_WORDS[filled]} order filled: the venue closed the position")

    # -- checks and information ----------------------------------------------------------------------------------

    async def on_order_check(self, payload: OrderCheck) -> None:
        """Report what the venue did on its own: a filled limit order or protective order, or a vanished order.

        A resting limit order that filled activates the signal; one cancelled on the venue, or an entry the venue
        does not know, raises :class:`OrderDeletedError`. A filled protective order closes the position with its
        reason; a missing or cancelled one is put back. A position the kill switch sold (its ``flatten`` leg
        filled) raises :class:`OrderDeletedError`: the engine closes it without selling again.
        """
        entry = await self._orders.find(payload.symbol, payload.signal_id, "entry")
        if entry is None:
            raise OrderDeletedError(f"the entry order of signal {payload.signal_id} is not on the venue")
        if payload.kind == "schedule":
            await self._check_resting(payload, entry)
            return
        rules = await self._route.market_rules(payload.symbol)
        flattened = await self._orders.find(payload.symbol, payload.signal_id, FLATTEN_LEG)
        if flattened is not None and flattened.filled > 0:
            self._forget(payload.signal_id)
            raise OrderDeletedError(
                f"the kill switch sold the position's {flattened.filled:g} {rules.base} at market "
                f"(order {flattened.client_order_id}): it is closed on the venue"
            )
        try:
            filled = await self._protect(payload, rules, entries=payload.total_entries, partials=payload.total_partials)
        except OrderRejectedError as error:
            logger.warning("signal %s is protected by the engine only: %s", payload.signal_id, error)
            return
        if filled is None:
            return
        # The engine closes without asking the broker again: the venue already did.
        self._forget(payload.signal_id)
        if filled == "stop_loss":
            await self._commands.stop_loss_filled(payload.symbol)
        else:
            await self._commands.take_profit_filled(payload.symbol)

    async def on_schedule_cancelled(self, payload: ScheduleCancelled) -> None:
        """Cancel the resting limit order the engine dropped; a fill that came first is left to the reconciliation."""
        entry = await self._orders.find(payload.symbol, payload.signal_id, "entry")
        if entry is None:
            return
        if entry.is_open:
            entry = await self._orders.cancel(payload.signal_id, entry)
        if entry.filled > 0:
            self._unclaimed.append(entry)
            logger.warning(
                "the limit order of dropped signal %s had filled %g on %s: the holding is left to the reconciliation",
                payload.signal_id,
                entry.filled,
                payload.symbol,
            )
        self._forget(payload.signal_id)

    def _forget(self, signal_id: str) -> None:
        """Drop what is kept of a signal that is over (its orders stay on the venue, found again by their ids)."""
        self._orders.forget(signal_id)
        self._exit_tries.pop(signal_id, None)
        self._entry_tries.pop(signal_id, None)
        for kind in ("stop_loss", "take_profit"):
            self._protection_number.pop((signal_id, kind), None)

    async def _check_resting(self, payload: OrderCheck, entry: OrderRecord) -> None:
        if entry.is_open:
            return
        if entry.status == "closed":
            await self._commands.activate_scheduled(payload.symbol)
            return
        if entry.filled > 0:
            self._unclaimed.append(entry)
        raise OrderDeletedError(
            f"the limit order {entry.client_order_id} of signal {payload.signal_id} was {entry.status} on the venue "
            f"with {entry.filled:g} filled"
        )

    # -- protection ----------------------------------------------------------------------------------------------

    async def _protect(
        self, payload: Protected, rules: MarketRules, *, entries: int, partials: int
    ) -> Protection | None:
        """Make the protective orders rest for the whole holding at the payload's levels.

        Returns the kind of a protective order found filled (the venue closed the position: nothing is placed).
        """
        kinds = _protections(rules)
        if not kinds:
            return None
        latest = {kind: await self._protection(payload, kind) for kind in kinds}
        for kind, (_number, current, _next_absent) in latest.items():
            if current is not None and current.status == "closed":
                return kind
        exits = self._exit_tries.get(payload.signal_id)
        if exits is None:
            # A broker that found the protection on the venue (a restart) may follow a close cut short by the kill:
            # what its exits sold has left the holding, and a stop for it would sell someone else's coins.
            restarted = any(next_absent for _number, _current, next_absent in latest.values())
            exits = await self._sent_exits(payload) if restarted else 0
        seen = {numbered(kind, number): current for kind, (number, current, _next_absent) in latest.items()}
        held = await self._held(payload, rules, entries, partials, exits=exits, seen=seen)
        for kind, (number, current, next_absent) in latest.items():
            level = payload.price_stop_loss if kind == "stop_loss" else payload.price_take_profit
            filled = await self._rest(payload, rules, kind, level, held, number, current, next_absent=next_absent)
            if filled is not None:
                return filled
        return None

    async def _rest(
        self,
        payload: BrokerPayload,
        rules: MarketRules,
        kind: Protection,
        level: float,
        held: float,
        number: int,
        current: OrderRecord | None,
        *,
        next_absent: bool,
    ) -> Protection | None:
        """Make the ``kind`` order rest for ``held`` at ``level`` in place of ``current``; return ``kind`` if filled."""
        trigger = rules.round_price(level)
        amount = rules.round_amount(held)
        if current is not None and current.is_open:
            # Within half a step: the venue's record may spell the number its own way.
            same_amount = abs(current.remaining - amount) < rules.amount_step / 2
            same_trigger = abs((current.trigger_price or 0.0) - trigger) < rules.price_step / 2
            if same_amount and same_trigger:
                return None
            cancelled = await self._orders.cancel(payload.signal_id, current)
            if cancelled.status == "closed":
                return kind
            # What the order sold before it was cancelled has left the holding.
            amount = rules.round_amount(held - (cancelled.filled - current.filled))
            current = cancelled
        # A number the venue never saw is used again; after an order that was on the venue comes the next one.
        number = number + 1 if current is not None else max(number, 1)
        if amount < rules.min_amount or amount <= 0:
            return None
        order = _request(payload, numbered(kind, number), "sell", kind, kind, amount=amount, trigger=trigger)
        placed = await self._orders.place(order, look_first=not next_absent)
        self._protection_number[payload.signal_id, kind] = number
        return kind if placed.status == "closed" else None

    async def _sent_exits(self, payload: BrokerPayload) -> int:
        """Return how many exit legs of the signal the venue has (a close tried before a restart); kept."""
        sent = 0
        while await self._orders.find(payload.symbol, payload.signal_id, numbered("exit", sent + 1)) is not None:
            sent += 1
        self._exit_tries[payload.signal_id] = sent
        return sent

    async def _protect_quietly(self, payload: Protected, rules: MarketRules, *, entries: int, partials: int) -> None:
        """Put the protection on after a change that went through: a failure is logged, and the check retries it."""
        try:
            await self._protect(payload, rules, entries=entries, partials=partials)
        except (OrderTransientError, OrderRejectedError) as error:
            logger.warning("the protection of signal %s is not on the venue yet: %s", payload.signal_id, error)

    async def _unprotect(self, payload: BrokerPayload, rules: MarketRules) -> Protection | None:
        """Cancel the resting protective orders; return the kind of one that filled (the venue closed the position)."""
        filled: Protection | None = None
        for kind in _protections(rules):
            _number, current, _next_absent = await self._protection(payload, kind)
            if current is not None and current.is_open:
                current = await self._orders.cancel(payload.signal_id, current)
            if current is not None and current.status == "closed":
                filled = kind
        return filled

    async def _protection(self, payload: BrokerPayload, kind: Protection) -> tuple[int, OrderRecord | None, bool]:
        """Return the number of the signal's latest ``kind`` order and its record (0 and None: none yet).

        The third value tells whether the venue was just seen not to have the next number.
        """
        number = self._protection_number.get((payload.signal_id, kind))
        if number is not None:
            found = await self._orders.find(payload.symbol, payload.signal_id, numbered(kind, number))
            return number, found, False
        # Not placed in this process: the orders on the venue tell which one is the latest.
        number, latest = 0, None
        while (
            found := await self._orders.find(payload.symbol, payload.signal_id, numbered(kind, number + 1))
        ) is not None:
            number, latest = number + 1, found
        if number:
            self._protection_number[payload.signal_id, kind] = number
        return number, latest, True

    # -- amounts -------------------------------------------------------------------------------------------------

    async def _held(
        self,
        payload: BrokerPayload,
        rules: MarketRules,
        entries: int,
        partials: int,
        *,
        exits: int = 0,
        seen: Mapping[str, OrderRecord | None] | None = None,
    ) -> float:
        """Return the base amount the signal's orders hold: its buys less its partial closes, exits and protection."""
        entry_tries = self._entry_tries.get(payload.signal_id)
        if entry_tries is None:
            entry_tries = len(await self._entries(payload, rules))
        legs = [numbered("entry", number) for number in range(1, max(entry_tries, 1) + 1)]
        for number in range(2, entries + 1):
            legs += await self._average_legs(payload, rules, f"average-{number}")
        legs += [f"partial-{number}" for number in range(1, partials + 1)]
        legs += [numbered("exit", number) for number in range(1, exits + 1)]
        for kind in _protections(rules):
            latest = self._protection_number.get((payload.signal_id, kind), 0)
            legs += [numbered(kind, number) for number in range(1, latest + 1)]
        return await self._orders.held(payload.symbol, payload.signal_id, legs, base=rules.base, seen=seen)

    def _buy(
        self, payload: OrderOpen | AverageBuy, rules: MarketRules, leg: str, purpose: OrderPurpose
    ) -> OrderRequest:
        """Return the market buy of the payload's cost (by amount at the current price when the venue needs it)."""
        if self._amount_from_cost:
            amount = _amount(rules, payload.cost / payload.current_price, f"cost={payload.cost}")
            return _request(payload, leg, "buy", "market", purpose, amount=amount)
        return _request(payload, leg, "buy", "market", purpose, cost=payload.cost)


def _protections(rules: MarketRules) -> tuple[Protection, ...]:
    """Return the protective orders the venue keeps for a position (both: as a one-cancels-the-other pair)."""
    kept: tuple[tuple[Protection, bool], ...] = (
        ("stop_loss", rules.native_stop_loss),
        ("take_profit", rules.native_take_profit),
    )
    return tuple(kind for kind, native in kept if native)


def _refuse_short(payload: BrokerPayload) -> None:
    if payload.position == "short":
        raise OrderRejectedError("short positions need margin; this venue trades spot")


def _amount(rules: MarketRules, amount: float, source: str) -> float:
    """Return ``amount`` rounded down to the step; refuse one below the venue's minimum, naming where it came from."""
    rounded = rules.round_amount(amount)
    if rounded <= 0 or rounded < rules.min_amount:
        raise OrderRejectedError(
            f"{source} comes to {amount:g} {rules.base}, "
            f"below the minimum amount {rules.min_amount:g} of {rules.symbol}"
        )
    return rounded


def _sold_back(leg: str) -> str:
    """Return the leg selling back what a partly filled averaging try ``leg`` bought."""
    return f"{leg}-{SELL_BACK_LEG}"


def _bought(tries: list[OrderRecord]) -> float:
    """Return the base amount the buy legs ``tries`` filled (before fees)."""
    return sum(record.filled for record in tries)


def _short(rules: MarketRules, wanted: float, filled: float) -> bool:
    """Tell whether ``filled`` falls short of ``wanted`` by at least the venue's minimum amount."""
    missing = rules.round_amount(wanted - filled)
    return missing > 0 and missing >= rules.min_amount


def _require_fill(record: OrderRecord) -> None:
    """Refuse an order that ended without filling anything (its client id cannot be sent again)."""
    if not record.is_open and record.filled <= 0:
        raise OrderRejectedError(f"the order {record.client_order_id} ended {record.status} with nothing filled")


def _request(
    payload: BrokerPayload,
    leg: str,
    side: Side,
    kind: OrderType,
    purpose: OrderPurpose,
    *,
    amount: float | None = None,
    cost: float | None = None,
    price: float | None = None,
    trigger: float | None = None,
) -> OrderRequest:
    return OrderRequest(
        client_order_id=client_order_id(payload.signal_id, leg),
        symbol=payload.symbol,
        side=side,
        type=kind,
        amount=amount,
        cost=cost,
        price=price,
        trigger_price=trigger,
        purpose=purpose,
        signal_id=payload.signal_id,
        strategy_name=payload.strategy_name,
    )
