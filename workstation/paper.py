"""Paper trading offline (issue 5): the live engine over recorded candles replayed on a ``ReplayClock``.

A session's orders go through the broker to an order desk over a paper venue filling them on the session's replayed
candles, in a simulated account of its own: the same code path as orders on an exchange (issue 16).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from workstation import registry
from workstation.backtest_request import ensure_strategy
from workstation.brokers.errors import OrderRejectedError
from workstation.brokers.paper_venue import symbol_assets
from workstation.brokers.signal_broker import SignalBroker
from workstation.config import get_config
from workstation.desk import OrderDesk
from workstation.engine.clock import ReplayClock
from workstation.errors import PreparationError, RunAlreadyActiveError
from workstation.exchanges.aggregate import CandleWindow
from workstation.exchanges.candle_store import CandleStore
from workstation.exchanges.demo import DemoCandles
from workstation.exchanges.replay import make_replay_exchange
from workstation.live import Live
from workstation.schemas.common import Name
from workstation.services.live_records import LiveRecords, StoredSession
from workstation.timeutil import MINUTE_MS, from_ms, iso, to_ms
from workstation.trading_desks import PAPER_STARTING_BALANCE, Desks, PaperAccount

#: History served before the session starts, so indicators and VWAPs have candles to read from the first tick.
WARMUP = timedelta(days=1)

#: Replay speeds a trader picks from (× real time): one minute of market per minute … per 0.1 s.
PAPER_SPEEDS: tuple[float, ...] = (1.0, 10.0, 60.0, 120.0, 300.0, 600.0)

PaperSource = Literal["demo", "stored"]
PaperSession = Literal["new", "resume"]


class PaperTradingRequest(BaseModel):
    """What a paper trading session replays, for which strategy, and how fast."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_name: Name = Field(title="Strategy")
    symbol: str = Field(min_length=1, title="Symbol")
    source: PaperSource = Field("demo", title="Candles", description="demo: synthetic; stored: downloaded candles")
    stored_exchange: str = Field(
        "", title="Stored exchange", description="Whose stored candles to replay", validate_default=True
    )
    speed: float = Field(60.0, ge=1, le=600, title="Speed (×)", description="Replayed market time per real time")
    start: AwareDatetime = Field(title="Start", description="Market time the session starts at (UTC)")
    days: int = Field(1, ge=1, le=366, title="Days", description="How long the replay lasts")
    starting_balance: float = Field(
        PAPER_STARTING_BALANCE,
        gt=0,
        allow_inf_nan=False,
        title="Starting balance",
        description="What the session's paper account holds at the start, in the symbol's quote asset (USDT of "
        "BTCUSDT); a resumed session keeps its account",
    )
    session: PaperSession = Field(
        "new",
        title="Session",
        description="new: start at Start, forgetting a stored session with the same settings; "
        "resume: continue that stored session where it stopped",
    )

    @field_validator("stored_exchange")
    @classmethod
    def _stored_candles_name_their_exchange(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("source") == "stored" and not value:
            raise ValueError("name the exchange whose stored candles to replay")
        return value


@dataclass(frozen=True, slots=True)
class PaperRun:
    """The arguments of ``ws.Live.background`` for one paper session, and the desk its orders go through.

    Pass ``broker`` to ``ws.Live.background`` (or ``ws.Live.run``): the session's orders then fill on its paper
    account, as a live run's orders on an exchange.
    """

    symbol: str
    strategy_name: str
    exchange_name: str
    clock: ReplayClock
    until: datetime
    #: The session's order desk, over its paper account.
    desk: OrderDesk
    #: The broker sending the session's orders through ``desk``.
    broker: SignalBroker
    #: What the preparation changed of the request, in words ("" when nothing): e.g. a start moved after the data's
    #: first day, so that the session has the history it reads.
    notice: str = ""


def paper_exchange_name(request: PaperTradingRequest) -> str:
    """Name the replay exchange of a session: the same settings always give the same name.

    What a session stored therefore belongs to this name: a session started again with the same settings resumes
    it, or forgets it, as its ``session`` says.
    """
    source = request.stored_exchange if request.source == "stored" else "demo"
    symbol = request.symbol.replace("/", "-").replace(":", "-")
    return f"paper-{source}-{symbol}-{request.start:%Y%m%dT%H%M}-{request.speed:g}x"


async def stored_paper_session(request: PaperTradingRequest) -> StoredSession | None:
    """Return what a stopped session with the settings of ``request`` stored, or None when there is none."""
    return await LiveRecords(request.symbol, request.strategy_name).stored_session(paper_exchange_name(request))


async def prepare_paper_trading(request: PaperTradingRequest, *, store: CandleStore | None = None) -> PaperRun:
    """Register the replay exchange (and a built-in strategy) of a paper session; return the live run's arguments.

    A ``new`` session first forgets what a stored session with the same settings holds (its open position or
    waiting order, its closed trades, its clock, its paper account); a ``resume`` session continues from it, with the
    paper account it had (rebuilt from its desk's journal; ``starting_balance`` only opens a new account).

    The session's desk (``ws.Desks``) holds its paper account, opened with ``starting_balance`` of the symbol's
    quote asset; the stored position of the session is reconciled with the account before it starts.

    Parameters
    ----------
    request
        The session's settings.
    store
        Where ``source="stored"`` reads its 1m candles (default: the candle store in the user data folder).

    A stored session whose candles begin less than a day (:data:`WARMUP`) before its start starts later, at the
    first moment with a day of history, and ``PaperRun.notice`` says so.

    Raises
    ------
    ValueError
        If the store holds no candles of the period.
    PreparationError
        If the stored candles leave no moment with a day of history before the session's end (field ``start``).
    PreparationError
        If the symbol names no quote asset the paper account could hold (field ``symbol``).
    SchemaNotFoundError
        If the strategy is neither registered nor a built-in.
    RunAlreadyActiveError
        If the session's strategy runs on its symbol now.
    DeskDisagreesError
        If the stored position of a resumed session disagrees with its paper account (the message says how).
    """
    strategy_name = ensure_strategy(request.strategy_name)
    if any(
        (status.symbol, status.strategy_name, status.status) == (request.symbol, strategy_name, "pending")
        for status in Live.list()
    ):
        raise RunAlreadyActiveError(f"Live run for {request.symbol}:{strategy_name} is already active")
    try:
        quote = symbol_assets(request.symbol)[1]
    except OrderRejectedError as exc:
        raise PreparationError("symbol", str(exc).removeprefix("paper: ")) from exc
    start = to_ms(request.start) // MINUTE_MS * MINUTE_MS
    notice = ""
    # A position still open when the session ends is managed to its close, at most one lifetime later.
    end = start + (request.days * 1440 + get_config().max_signal_lifetime_minutes + 1) * MINUTE_MS
    first = start - int(WARMUP.total_seconds() * 1000)
    if request.source == "demo":
        candles = DemoCandles().candles(request.symbol, CandleWindow(1, first, end))
    else:
        source = CandleStore() if store is None else store
        try:
            candles = await source.worker.call(source.read, request.stored_exchange, request.symbol, "1m", first, end)
        finally:
            if store is None:
                source.close()
        if len(candles) == 0:
            raise ValueError(
                f"stored_exchange {request.stored_exchange!r} has no 1m candles of {request.symbol} from "
                f"{iso(first)} to {iso(end)}; download or import them first (Data menu)"
            )
        history_start = int(candles["timestamp"][0])
        if history_start > first:
            start, notice = _start_after_a_day_of_history(request, history_start)
    name = paper_exchange_name(request)
    if registry.exchanges.has(name):
        # A new session with the same settings replays from its start again; runs of the old one keep theirs.
        registry.exchanges.remove(name)
    if request.session == "new":
        await LiveRecords(request.symbol, strategy_name).forget(name)
    clock = ReplayClock(from_ms(start), request.speed)
    registry.add_exchange(
        make_replay_exchange(name, candles, clock, note=f"paper trading replay at {request.speed:g}×")
    )
    account = PaperAccount(
        name=name, exchange_name=name, clock=clock, opening_balances={quote: request.starting_balance}
    )
    desk = await Desks.desk_for(account, fresh=request.session == "new")
    await Desks.check_start(desk, request.symbol, strategy_name)
    return PaperRun(
        symbol=request.symbol,
        strategy_name=strategy_name,
        exchange_name=name,
        clock=clock,
        until=_session_end(request),
        desk=desk,
        broker=SignalBroker(desk),
        notice=notice,
    )


def _session_end(request: PaperTradingRequest) -> datetime:
    return request.start + timedelta(days=request.days) - timedelta(minutes=1)


def _start_after_a_day_of_history(request: PaperTradingRequest, history_start: int) -> tuple[int, str]:
    """Move the start of a stored session whose candles begin too late to the first moment with a day of history.

    Raises
    ------
    PreparationError
        If that moment is past the session's end (field ``start``).
    """
    moved = -(-(history_start + int(WARMUP.total_seconds() * 1000)) // MINUTE_MS) * MINUTE_MS
    where = f"the stored {request.stored_exchange} candles of {request.symbol} begin at {_minute(history_start)}"
    if moved > to_ms(_session_end(request)):
        raise PreparationError(
            "start",
            f"{where} and a session reads a day of candles before its start; the first start with that history, "
            f"{_minute(moved)}, is past the session's end {_minute(to_ms(_session_end(request)))}: import earlier "
            "candles, or start later with more days",
        )
    notice = (
        f"start moved from {_minute(to_ms(request.start))} to {_minute(moved)}: {where} and a session reads a day "
        "of candles before its start"
    )
    return moved, notice


def _minute(timestamp: int) -> str:
    return f"{from_ms(timestamp):%Y-%m-%d %H:%M} UTC"
