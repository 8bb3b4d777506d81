"""The trader's commands on a paper position (issue 14, "under the trader's hand"): ``ws.Live.preview``,
``ws.Live.refusals`` and ``ws.Live.command`` on real paper runs (demo candles, a replay clock, SQLite in tmp_path).

The replay runs as fast as it can to minute 100 of the session, then at the speed of real time: the test acts
inside minute 100, where a short opened at the start is in profit (the demo market fell 0.87 %) and a long in loss.
Each command must change the stored position exactly as the position's own arithmetic (``PositionState``) says,
at the tick price worked out from the candles themselves, and its preview must show that very state.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import workstation as ws
from workstation.clients.candle_data import vwap_series
from workstation.clients.position import PositionState, breakeven_threshold
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.demo import DemoCandles
from workstation.services.live_records import LiveRecords
from workstation.timeutil import MINUTE_MS, to_ms

SYMBOL = "BTCUSDT"
START = datetime(2024, 3, 1, tzinfo=UTC)
#: The minute of the session the test acts in.
HOLD = 100
HOLD_MS = to_ms(START) + HOLD * MINUTE_MS


def tick_prices() -> dict[int, float]:
    """The price of each tick: the VWAP of the five candles closed before it (SPEC §4.6)."""
    first = to_ms(START - timedelta(days=1))
    candles = DemoCandles().candles(SYMBOL, CandleWindow(1, first, to_ms(START + timedelta(hours=4))))
    count = ws.get_config().avg_price_candles_count
    closes = candles["timestamp"][count - 1 :] + MINUTE_MS
    return dict(zip(closes.tolist(), vwap_series(candles, count).tolist(), strict=True))


PRICES = tick_prices()
P0, P_HOLD = PRICES[to_ms(START)], PRICES[HOLD_MS]


def opener(position: str, *, limit: bool = False) -> Any:
    """A strategy placing one signal at the start: a market position, or a long limit order far below."""

    async def get_signal(symbol: str, when: datetime) -> ws.Signal | None:
        if when != START:
            return None
        price = await ws.get_average_price(symbol)
        if limit:
            return ws.Signal(position="long", price_open=price * 0.95, price_take_profit=price * 1.1,
                             price_stop_loss=price * 0.9, minute_estimated_time=1000)  # fmt: skip
        up, down = price * 1.2, price * 0.8
        take, stop = (up, down) if position == "long" else (down, up)
        return ws.Signal(position=position, price_take_profit=take, price_stop_loss=stop, minute_estimated_time=1000)

    return get_signal


async def never(symbol: str, when: datetime) -> ws.Signal | None:
    return None


#: Where the ``trailing`` strategy moves its short's stop once the trader took a part: between the price and the stop.
TRAILED_STOP = 27000.0


async def trail_after_a_part(symbol: str, signal: Any, current_price: float, when: datetime, backtest: bool) -> None:
    """Move the stop once, at the first tick after a part of the position was closed."""
    if signal.total_partials == 1 and signal.price_stop_loss == signal.original_price_stop_loss:
        await ws.commit_trailing_stop_cost(symbol, TRAILED_STOP)


STRATEGIES = {"short": opener("short"), "long": opener("long"), "limit": opener("long", limit=True), "flat": never,
              "trailing": opener("short")}  # fmt: skip
CALLBACKS = {"trailing": {"on_active_ping": trail_after_a_part}}


@dataclass
class Session:
    """A paper run of one of :data:`STRATEGIES`, held in minute :data:`HOLD`."""

    name: str
    paper: ws.PaperRun
    task: asyncio.Task[None] | None = None
    #: The outcome of the command asked for during the tick of minute :data:`HOLD`.
    asked: asyncio.Future[ws.ManualOutcome] | None = None
    results: list[Any] = field(default_factory=list)
    commits: list[Any] = field(default_factory=list)
    errors: list[Any] = field(default_factory=list)

    def start(self) -> None:
        async def consume() -> None:
            paper = self.paper
            async for result in ws.Live.run(SYMBOL, strategy_name=self.name, exchange_name=paper.exchange_name,
                                            clock=paper.clock):  # fmt: skip
                self.results.append(result)

        self.task = asyncio.create_task(consume())

    async def kill(self) -> None:
        """End the run between two of its steps, as a kill would: nothing more is written."""
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        ws.Live.clear()

    async def preview(self, command: ws.ManualCommand) -> ws.ManualPreview:
        return await ws.Live.preview(SYMBOL, self.name, command)

    async def command(self, command: ws.ManualCommand) -> ws.ManualOutcome:
        return await ws.Live.command(SYMBOL, self.name, command)

    async def preview_then_command(self, command: ws.ManualCommand) -> tuple[ws.ManualPreview, ws.ManualOutcome]:
        """Preview ``command`` as the confirmation does, then issue it; return the preview and the outcome."""
        return await self.preview(command), await self.command(command)

    async def stored(self) -> ws.SignalRow | None:
        held = [item.signal for item in await ws.Live.persisted()]
        return held[0] if held else None

    def opened(self) -> ws.SignalRow:
        (opened,) = [result.signal for result in self.results if result.action == "opened"]
        return opened


@asynccontextmanager
async def paper_session(tmp_path: Path, name: str, at_hold: ws.ManualCommand | None = None) -> AsyncIterator[Session]:
    """Run ``name`` to minute :data:`HOLD`; ``at_hold`` is asked for while the tick of that minute is evaluated."""
    ws.persist.use_sqlite(tmp_path / "state.sqlite3")
    ws.add_strategy(strategy_name=name, interval="1m", get_signal=STRATEGIES[name], callbacks=CALLBACKS.get(name, {}))
    request = ws.PaperTradingRequest(strategy_name=name, symbol=SYMBOL, start=START, speed=1)
    paper = await ws.prepare_paper_trading(request)
    session = Session(name, paper)
    paper.clock.speed = None  # as fast as it can, up to the minute the test acts in
    held = asyncio.Event()

    def watch(result: Any) -> None:
        if result.timestamp >= HOLD_MS and not held.is_set():
            paper.clock.speed = 1.0
            held.set()
            if at_hold is not None:
                session.asked = asyncio.ensure_future(session.command(at_hold))

    ws.listen_signal_live(watch)
    ws.listen_commit(session.commits.append)
    ws.listen_error(session.errors.append)
    session.start()
    await held.wait()
    try:
        yield session
    finally:
        await session.kill()
        await ws.persist.close_persistence()
    assert session.errors == []


def played(name: str, tmp_path: Path, scenario: Any, at_hold: ws.ManualCommand | None = None) -> Any:
    async def main() -> Any:
        async with paper_session(tmp_path, name, at_hold) as session:
            return await scenario(session)

    return asyncio.run(main())


def state_of(row: ws.SignalRow) -> PositionState:
    """The position's own arithmetic, from the row it opened with."""
    return PositionState(row, ws.get_config().position_entry_cost)


def assert_shows(preview: ws.ManualPreview, stored: ws.SignalRow, held: float, pnl: float) -> None:
    assert (preview.price_open, preview.price_stop_loss, preview.price_take_profit) == (
        stored.price_open,
        stored.price_stop_loss,
        stored.price_take_profit,
    )
    assert (preview.percent_held, preview.pnl_percent) == (held, pnl)


# ---------------------------------------------------------------------------------------------------------------
# Each action changes the position exactly as its command would
# ---------------------------------------------------------------------------------------------------------------


def test_close_part_of_a_short_in_profit_books_a_partial_profit_at_the_tick_price(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        command = ws.ManualCommand(action="close_part", percent=40)
        preview, outcome = await session.preview_then_command(command)
        assert (outcome.applied, outcome.reason) == (True, None)
        assert HOLD_MS < outcome.timestamp < HOLD_MS + MINUTE_MS
        expected = state_of(session.opened())
        assert expected.partial_profit(40, P_HOLD, outcome.timestamp)
        stored = await session.stored()
        assert stored is not None
        assert [partial.model_dump() for partial in stored.partials] == [
            partial.model_dump() for partial in expected.partials
        ]
        assert stored.partials[0].current_price == P_HOLD
        assert stored.price_open == expected.eff()
        assert stored.partial_executed == expected.closed_percent() == 40.0
        config = ws.get_config()
        assert preview.allowed and preview.price == P_HOLD and not preview.closes_position
        assert_shows(preview, stored, expected.held_percent(), expected.pnl(P_HOLD, config).pnl_percentage)
        assert preview.percent_held == 60.0
        (event,) = session.commits
        assert (event.action, event.percent_to_close, event.when) == ("partial-profit", 40.0, outcome.timestamp)

    played("short", tmp_path, scenario)


def test_close_part_of_a_long_in_loss_books_a_partial_loss(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        outcome = await session.command(ws.ManualCommand(action="close_part", percent=25))
        assert outcome.applied
        expected = state_of(session.opened())
        assert expected.partial_loss(25, P_HOLD, outcome.timestamp)
        stored = await session.stored()
        assert stored is not None
        assert [partial.model_dump() for partial in stored.partials] == [
            partial.model_dump() for partial in expected.partials
        ]
        assert stored.partials[0].type == "loss"
        assert stored.partial_executed == 25.0

    played("long", tmp_path, scenario)


def test_breakeven_moves_the_stop_to_the_effective_entry(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        preview, outcome = await session.preview_then_command(ws.ManualCommand(action="breakeven"))
        assert outcome.applied
        expected = state_of(session.opened())
        assert expected.breakeven(P_HOLD, ws.get_config())
        stored = await session.stored()
        assert stored is not None
        assert stored.price_stop_loss == expected.stop_loss == expected.eff()
        assert stored.original_price_stop_loss == session.opened().price_stop_loss
        assert_shows(preview, stored, 100.0, expected.pnl(P_HOLD, ws.get_config()).pnl_percentage)

    played("short", tmp_path, scenario)


def test_trailing_the_stop_and_the_take_profit_to_a_price(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        stop = ws.ManualCommand(action="trail_stop", price=27000.0)
        take = ws.ManualCommand(action="trail_take", price=25000.0)
        stop_preview, stopped = await session.preview_then_command(stop)
        assert stopped.applied
        take_preview, taken = await session.preview_then_command(take)
        assert taken.applied
        expected = state_of(session.opened())
        assert expected.trailing_stop_cost(27000.0, P_HOLD)
        assert (stop_preview.price_stop_loss, stop_preview.price_take_profit) == (
            expected.stop_loss,
            session.opened().price_take_profit,
        )
        assert expected.trailing_take_cost(25000.0, P_HOLD)
        stored = await session.stored()
        assert stored is not None
        assert (stored.price_stop_loss, stored.price_take_profit) == (expected.stop_loss, expected.take_profit)
        assert math.isclose(stored.price_stop_loss, 27000.0) and math.isclose(stored.price_take_profit, 25000.0)
        assert_shows(take_preview, stored, 100.0, expected.pnl(P_HOLD, ws.get_config()).pnl_percentage)
        assert [event.action for event in session.commits] == ["trailing-stop", "trailing-take"]

    played("short", tmp_path, scenario)


def test_adding_to_a_long_in_loss_books_an_entry_at_the_tick_price(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        command = ws.ManualCommand(action="add", cost=50.0)
        preview, outcome = await session.preview_then_command(command)
        assert outcome.applied
        expected = state_of(session.opened())
        assert expected.average_buy(P_HOLD, 50.0, outcome.timestamp)
        stored = await session.stored()
        assert stored is not None
        assert [entry.model_dump() for entry in stored.entries] == [entry.model_dump() for entry in expected.entries]
        assert stored.price_open == expected.eff()
        assert_shows(preview, stored, 100.0, expected.pnl(P_HOLD, ws.get_config()).pnl_percentage)

    played("long", tmp_path, scenario)


def test_close_now_closes_the_position_at_once_at_the_tick_price(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        preview, outcome = await session.preview_then_command(ws.ManualCommand(action="close"))
        assert outcome.applied
        # Closed now, not a tick later: the run evaluated the command's own moment.
        closed = session.results[-1]
        assert (closed.action, closed.close_reason) == ("closed", "closed")
        assert (closed.close_timestamp, closed.current_price) == (outcome.timestamp, P_HOLD)
        assert await session.stored() is None
        expected = ws.compute_pnl("short", session.opened().price_open, P_HOLD, ws.get_config())
        assert closed.pnl.pnl_percentage == expected.pnl_percentage == preview.pnl_percent
        assert preview.closes_position and preview.percent_held == 0.0
        assert [event.action for event in session.commits] == ["close-pending"]
        refusals = await ws.Live.refusals(SYMBOL, session.name)
        assert refusals["close"] == "no open position"

    played("short", tmp_path, scenario)


def test_the_events_and_the_command_log_say_which_commands_the_trader_issued(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        part = await session.command(ws.ManualCommand(action="close_part", percent=40))
        session.paper.clock.speed = None  # on to the strategy's next tick, where it trails
        async with asyncio.timeout(60):
            while len(session.commits) < 2:
                await asyncio.sleep(0.01)
        close = await session.command(ws.ManualCommand(action="close"))
        assert part.applied and close.applied
        assert [(event.action, event.source) for event in session.commits] == [
            ("partial-profit", "trader"),
            ("trailing-stop", "strategy"),
            ("close-pending", "trader"),
        ]
        parted, trailed, closed = session.commits
        assert (parted.when, parted.percent_to_close) == (part.timestamp, 40.0)
        assert part.timestamp < trailed.when < close.timestamp == closed.when
        assert trailed.signal.price_stop_loss == TRAILED_STOP
        log = [event.command() for event in session.commits]
        assert [(command.action, command.argument, command.source) for command in log] == [
            ("partial-profit", 40.0, "trader"),
            ("trailing-stop", -20.365971469285704, "strategy"),
            ("close-pending", None, "trader"),
        ]
        assert [command.held_percent for command in log] == [60.0, 60.0, 60.0]

    played("trailing", tmp_path, scenario)


def test_a_partial_close_of_everything_closes_the_position_at_once(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        preview, outcome = await session.preview_then_command(ws.ManualCommand(action="close_part", percent=100))
        assert outcome.applied and preview.closes_position
        closed = session.results[-1]
        assert (closed.action, closed.close_reason, closed.close_timestamp) == ("closed", "closed", outcome.timestamp)
        expected = state_of(session.opened())
        assert expected.partial_profit(100, P_HOLD, outcome.timestamp)
        assert closed.pnl.pnl_percentage == expected.pnl(P_HOLD, ws.get_config()).pnl_percentage == preview.pnl_percent
        assert preview.percent_held == expected.held_percent()

    played("short", tmp_path, scenario)


def test_fill_now_opens_the_waiting_limit_order_at_once_at_its_limit_price(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        preview, outcome = await session.preview_then_command(ws.ManualCommand(action="fill"))
        assert outcome.applied
        opened = session.results[-1]
        assert (opened.action, opened.timestamp, opened.signal.pending_at) == ("opened", outcome.timestamp,
                                                                                 outcome.timestamp)  # fmt: skip
        # It opens at its limit price (P12), not the market's.
        assert opened.signal.price_open == opened.signal.original_price_open == preview.price_open
        assert preview.percent_held == 100.0
        stored = await session.stored()
        assert stored is not None and stored.pending_at == outcome.timestamp
        refusals = await ws.Live.refusals(SYMBOL, session.name)
        assert (refusals["cancel"], refusals["fill"], refusals["close"]) == (
            "no waiting limit order",
            "no waiting limit order",
            None,
        )

    played("limit", tmp_path, scenario)


def test_cancel_cancels_the_waiting_limit_order_at_once(tmp_path: Path) -> None:
    async def cancel(session: Session) -> None:
        preview = await session.preview(ws.ManualCommand(action="cancel"))
        assert preview.closes_position and preview.percent_held is None
        outcome = await session.command(ws.ManualCommand(action="cancel", note="changed my mind"))
        cancelled = session.results[-1]
        assert (cancelled.action, cancelled.reason, cancelled.close_timestamp) == (
            "cancelled",
            "user",
            outcome.timestamp,
        )
        (event,) = session.commits
        assert (event.action, event.note) == ("cancel-scheduled", "changed my mind")
        assert await session.stored() is None

    played("limit", tmp_path, cancel)


def test_pause_and_resume(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        assert (await ws.Live.refusals(SYMBOL, session.name))["resume"] == "not paused"
        flat = await session.command(ws.ManualCommand(action="close"))
        assert (flat.applied, flat.reason) == (False, "no open position")
        assert (await session.command(ws.ManualCommand(action="pause"))).applied
        refusals = await ws.Live.refusals(SYMBOL, session.name)
        assert (refusals["pause"], refusals["resume"]) == ("already paused", None)
        again = await session.command(ws.ManualCommand(action="pause"))
        assert (again.applied, again.reason) == (False, "already paused")
        assert (await session.command(ws.ManualCommand(action="resume"))).applied

    played("flat", tmp_path, scenario)


def test_a_command_asked_for_during_a_tick_is_applied_right_after_it(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        assert session.asked is not None
        outcome = await session.asked
        # Never inside the tick: the tick of minute HOLD was evaluated and stored first, then the command.
        assert (outcome.applied, outcome.timestamp) == (True, HOLD_MS + 1)
        stored_session = await LiveRecords(SYMBOL, session.name).stored_session(session.paper.exchange_name)
        assert stored_session is not None and stored_session.reached == HOLD_MS + 1
        stored = await session.stored()
        assert stored is not None and [partial.timestamp for partial in stored.partials] == [HOLD_MS + 1]

    played("short", tmp_path, scenario, at_hold=ws.ManualCommand(action="close_part", percent=40))


def test_a_restart_after_a_manual_partial_close_resumes_with_it_once_on_the_tick_grid(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        outcome = await session.command(ws.ManualCommand(action="close_part", percent=40))
        # The command's moment is the run's last evaluated one: a restart does not evaluate it again.
        stored_session = await LiveRecords(SYMBOL, session.name).stored_session(session.paper.exchange_name)
        assert stored_session is not None and stored_session.reached == outcome.timestamp
        await session.kill()
        session.paper.clock.speed = None
        resumed: list[Any] = []
        ticked = asyncio.Event()
        ws.listen_signal_live(lambda result: (resumed.append(result), ticked.set()))
        session.start()
        await ticked.wait()
        await session.kill()
        # The next tick on the grid, the position holding the partial close once, its event not heard again.
        first = resumed[0]
        assert (first.action, first.timestamp) == ("active", HOLD_MS + MINUTE_MS)
        assert [(partial.percent, partial.timestamp) for partial in first.signal.partials] == [
            (40.0, outcome.timestamp)
        ]
        assert [event.action for event in session.commits] == ["partial-profit"]

    played("short", tmp_path, scenario)


def test_a_run_restarted_paused_announces_it_once_right_after_its_first_tick(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        paused = await session.command(ws.ManualCommand(action="pause"))
        assert paused.applied
        await session.kill()
        session.paper.clock.speed = None
        heard: list[Any] = []
        ticked = asyncio.Event()
        ws.listen_pause(heard.append)
        ws.listen_signal_live(lambda result: (heard.append(result), ticked.set()))
        session.start()
        await ticked.wait()
        await asyncio.sleep(0)
        assert (await ws.Live.refusals(SYMBOL, session.name))["pause"] == "already paused"
        await session.kill()
        # The first tick on the grid, then the pause it was stored with: not a flip, nothing written again.
        first, announced = heard[:2]
        assert (first.action, first.timestamp) == ("active", HOLD_MS + MINUTE_MS)
        assert isinstance(announced, ws.PauseEvent)
        assert (announced.paused, announced.restored, announced.timestamp) == (True, True, first.timestamp)
        assert [event.restored for event in heard if isinstance(event, ws.PauseEvent)] == [True]

    played("short", tmp_path, scenario)


# ---------------------------------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------------------------------


def test_refusals_when_flat(tmp_path: Path) -> None:
    async def scenario(session: Session) -> dict[str, str | None]:
        return dict(await ws.Live.refusals(SYMBOL, session.name))

    assert played("flat", tmp_path, scenario) == {
        "close": "no open position",
        "close_part": "no open position",
        "breakeven": "no open position",
        "trail_stop": "no open position",
        "trail_take": "no open position",
        "add": "no open position",
        "cancel": "no waiting limit order",
        "fill": "no waiting limit order",
        "pause": None,
        "resume": "not paused",
    }


def test_refusals_with_a_waiting_limit_order(tmp_path: Path) -> None:
    async def scenario(session: Session) -> dict[str, str | None]:
        return dict(await ws.Live.refusals(SYMBOL, session.name))

    refusals = played("limit", tmp_path, scenario)
    assert {action for action, reason in refusals.items() if reason is None} == {"cancel", "fill", "pause"}
    assert refusals["close_part"] == refusals["add"] == "no open position"


def test_a_paused_strategy_still_takes_every_command_on_its_open_position(tmp_path: Path) -> None:
    async def scenario(session: Session) -> dict[str, str | None]:
        paused = await session.command(ws.ManualCommand(action="pause"))
        assert (paused.applied, paused.reason) == (True, None)
        return dict(await ws.Live.refusals(SYMBOL, session.name))

    refusals = played("short", tmp_path, scenario)
    assert {action for action, reason in refusals.items() if reason is not None} == {"pause", "cancel", "fill", "add"}
    assert refusals["pause"] == "already paused"


def test_refusals_of_an_open_long_in_loss_say_why_in_words(tmp_path: Path) -> None:
    async def scenario(session: Session) -> tuple[dict[str, str | None], float]:
        refusals = dict(await ws.Live.refusals(SYMBOL, session.name))
        return refusals, state_of(session.opened()).eff()

    refusals, effective = played("long", tmp_path, scenario)
    threshold = effective * (1 + breakeven_threshold(ws.get_config()) / 100)
    assert refusals == {
        "close": None,
        "close_part": None,
        "breakeven": f"breakeven not reached: the price must pass {threshold:,.2f}",
        "trail_stop": None,
        "trail_take": None,
        "add": None,
        "cancel": "no waiting limit order",
        "fill": "no waiting limit order",
        "pause": None,
        "resume": "not paused",
    }


def test_a_refused_command_changes_nothing_and_says_why(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        before = await session.stored()
        threshold = state_of(session.opened()).eff() * (1 + breakeven_threshold(ws.get_config()) / 100)
        outcomes = [
            await session.command(ws.ManualCommand(action="breakeven")),
            # A short's stop lies above the price, a long's take profit too: these are on the wrong side.
            await session.command(ws.ManualCommand(action="trail_stop", price=P_HOLD + 100)),
            await session.command(ws.ManualCommand(action="trail_take", price=P_HOLD - 100)),
        ]
        assert [(outcome.applied, outcome.reason) for outcome in outcomes] == [
            (False, f"breakeven not reached: the price must pass {threshold:,.2f}"),
            (False, f"the stop must stay below the price {P_HOLD:,.2f}"),
            (False, f"the take profit must stay above the price {P_HOLD:,.2f}"),
        ]
        assert await session.stored() == before
        assert session.commits == []
        # The run goes on: a good command is still applied.
        assert (await session.command(ws.ManualCommand(action="close_part", percent=10))).applied

    played("long", tmp_path, scenario)


def test_adding_to_a_short_in_profit_is_refused_with_the_rule(tmp_path: Path) -> None:
    async def scenario(session: Session) -> None:
        outcome = await session.command(ws.ManualCommand(action="add", cost=100.0))
        entry = session.opened().price_open
        assert (outcome.applied, outcome.reason) == (
            False,
            f"an entry is added only above every entry: the price {P_HOLD:,.2f} is not above {entry:,.2f}",
        )

    played("short", tmp_path, scenario)


def test_a_command_whose_write_fails_is_undone_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario(session: Session) -> None:
        before = await session.stored()
        save_tick = LiveRecords.save_tick

        async def disk_full(*args: Any, **kwargs: Any) -> None:
            monkeypatch.setattr(LiveRecords, "save_tick", save_tick)
            raise OSError("disk full")

        monkeypatch.setattr(LiveRecords, "save_tick", disk_full)
        failed = await session.command(ws.ManualCommand(action="close_part", percent=40))
        assert (failed.applied, failed.reason) == (False, "the run failed: disk full")
        assert await session.stored() == before
        # The next command is stored alone: the one whose write failed never happened.
        assert (await session.command(ws.ManualCommand(action="breakeven"))).applied
        stored = await session.stored()
        assert stored is not None and stored.partials == () and stored.price_stop_loss != before.price_stop_loss
        assert [event.action for event in session.commits] == ["breakeven"]
        assert [(error.source, error.message) for error in session.errors] == [("Live.command", "disk full")]
        session.errors.clear()

    played("short", tmp_path, scenario)


# ---------------------------------------------------------------------------------------------------------------
# Bad input and runs that are not there
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "loc", "message"),
    [
        ({"action": "close_part"}, "percent", "Value error, close_part needs a percent"),
        ({"action": "close_part", "percent": 0}, "percent", "Input should be greater than 0"),
        ({"action": "close_part", "percent": 100.5}, "percent", "Input should be less than or equal to 100"),
        ({"action": "close_part", "percent": math.nan}, "percent", "Input should be a finite number"),
        ({"action": "trail_stop", "price": math.inf}, "price", "Input should be a finite number"),
        ({"action": "trail_take", "price": -1.0}, "price", "Input should be greater than 0"),
        ({"action": "add", "cost": math.nan}, "cost", "Input should be a finite number"),
        ({"action": "close", "percent": 50}, "percent", "Value error, close takes no percent, got 50.0"),
        ({"action": "sell"}, "action", None),
    ],
)
def test_bad_input_names_the_field_and_the_value(fields: dict[str, Any], loc: str, message: str | None) -> None:
    with pytest.raises(ValidationError) as raised:
        ws.ManualCommand(**fields)
    (error,) = raised.value.errors()
    assert error["loc"] == (loc,)
    if message is not None:
        assert error["msg"] == message


def test_a_command_for_a_run_that_is_not_active_names_the_symbol_and_the_strategy() -> None:
    message = "no active live or paper run of strategy 'short' on symbol 'BTCUSDT'"
    for call in (
        ws.Live.preview(SYMBOL, "short", ws.ManualCommand(action="close")),
        ws.Live.refusals(SYMBOL, "short"),
        ws.Live.command(SYMBOL, "short", ws.ManualCommand(action="close")),
    ):
        with pytest.raises(ws.RunNotFoundError) as raised:
            asyncio.run(call)  # type: ignore[arg-type]
        assert str(raised.value) == message
