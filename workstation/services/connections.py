"""Connection services (SPEC §17): one client per memo key, dependencies injected at creation.

Memo keys follow the seed document: ``symbol:strategy_name:backtest|live``, ``signal_id:backtest|live``,
``risk_name:backtest|live``, ``exchange_name:backtest|live``, ``frame_name``, ``sizing_name``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, NotRequired, TypedDict, Unpack

from workstation import registry
from workstation.clients.exchange import ClientExchange
from workstation.clients.frame import ClientFrame
from workstation.clients.live_strategy import LiveClientStrategy
from workstation.clients.partial import ClientPartial
from workstation.clients.risk import ClientRisk, MergeRisk, NoRisk, Risk, position_key
from workstation.clients.sizing import ClientSizing
from workstation.clients.strategy import ClientStrategy, Result
from workstation.config import Config
from workstation.events import ListenerCheck, error_event, events, report_error
from workstation.services.live_records import LiveRecords, partial_store, remove_partial_record, risk_store
from workstation.services.memo import ConnectionService
from workstation.storages import partial_storage
from workstation.timeutil import now_ms


def mode(backtest: bool) -> str:
    """Return the mode part of a memo key."""
    return "backtest" if backtest else "live"


def _callback_error_sink(**where: Any) -> Callable[[str, BaseException], None]:
    def sink(source: str, exc: BaseException) -> None:
        report_error(source, exc, **where)

    return sink


class ExchangeConnectionService(ConnectionService[ClientExchange]):
    """``ClientExchange`` per ``exchange_name:backtest|live``."""

    def client(self, exchange_name: str, backtest: bool, clock_ms: Callable[[], int] = now_ms) -> ClientExchange:
        """Return the exchange client of ``exchange_name`` in the given mode.

        A live client reads "now" (its future guard) from the clock of the runs using it; a run on another clock
        gets a fresh client, since candles cached under one clock's present may not exist under another's.
        """
        key = f"{exchange_name}:{mode(backtest)}"
        existing = self.peek(key)
        if existing is not None and (backtest or existing.now_ms == clock_ms):
            return existing
        if existing is not None:
            self.clear(key)
        return self.get(
            key,
            lambda: ClientExchange(
                registry.exchanges.get(exchange_name, "ExchangeConnectionService"),
                backtest=backtest,
                now_ms=clock_ms,
                on_callback_error=_callback_error_sink(backtest=backtest),
            ),
        )

    def for_run(self, exchange_name: str, backtest: bool) -> ClientExchange:
        """Return the client a running strategy uses (a live one reads its run's clock), creating it if none."""
        # The memo key spelled out rather than built by `mode`: a strategy's helpers ask on every call.
        existing = self._clients.get(f"{exchange_name}:backtest" if backtest else f"{exchange_name}:live")
        return existing if existing is not None else self.client(exchange_name, backtest)


class FrameConnectionService(ConnectionService[ClientFrame]):
    """``ClientFrame`` per ``frame_name``."""

    def client(self, frame_name: str) -> ClientFrame:
        """Return the frame client of ``frame_name``."""
        return self.get(
            frame_name,
            lambda: ClientFrame(
                registry.frames.get(frame_name, "FrameConnectionService"),
                now_ms=now_ms,
                on_callback_error=_callback_error_sink(),
            ),
        )


class SizingConnectionService(ConnectionService[ClientSizing]):
    """``ClientSizing`` per ``sizing_name``."""

    def client(self, sizing_name: str) -> ClientSizing:
        """Return the sizing client of ``sizing_name``."""
        return self.get(
            sizing_name,
            lambda: ClientSizing(
                registry.sizings.get(sizing_name, "SizingConnectionService"),
                on_callback_error=_callback_error_sink(),
            ),
        )


class RiskConnectionService(ConnectionService[ClientRisk]):
    """``ClientRisk`` per ``risk_name:backtest|live``."""

    def client(self, risk_name: str, backtest: bool) -> ClientRisk:
        """Return the risk client of ``risk_name`` in the given mode."""

        def validation_failed(source: str, exc: BaseException) -> None:
            events.validation.emit(error_event(source, exc, backtest=backtest))

        def create() -> ClientRisk:
            risk = ClientRisk(
                registry.risks.get(risk_name, "RiskConnectionService"),
                backtest=backtest,
                emit_rejection=events.risk.emit,
                on_validation_error=validation_failed,
                on_callback_error=_callback_error_sink(backtest=backtest),
            )
            if not backtest:
                risk.load, risk.save = risk_store(risk_name)
            return risk

        return self.get(f"{risk_name}:{mode(backtest)}", create)

    def composite(self, risk_name: str | None, risk_list: list[str], backtest: bool) -> Risk:
        """Build a strategy's risk: none, one member, or a ``MergeRisk`` of several (SPEC §9.2)."""
        members = risk_members(risk_name, risk_list)
        if not members:
            return NoRisk()
        if len(members) == 1:
            return self.client(members[0], backtest)
        return MergeRisk([self.client(name, backtest) for name in members])


def risk_members(risk_name: str | None, risk_list: list[str]) -> list[str]:
    """``[risk_name] + risk_list`` without empty or repeated names, order kept."""
    members: list[str] = []
    for name in [risk_name, *risk_list]:
        if name and name not in members:
            members.append(name)
    return members


class PartialConnectionService(ConnectionService[ClientPartial]):
    """``ClientPartial`` per ``signal_id:backtest|live`` (and backtest run); dropped when its signal closes."""

    @staticmethod
    def key(signal_id: str, backtest: bool, run_id: int | None = None) -> str:
        """Return the memo key of a partial client; runs of one pair may hold signals of the same id at once."""
        key = f"{signal_id}:{mode(backtest)}"
        return key if run_id is None else f"{key}#{run_id}"

    async def client(self, signal_id: str, backtest: bool, run_id: int | None = None) -> ClientPartial:
        """Return the initialised partial client of ``signal_id`` (live: with its persisted levels)."""

        def create() -> ClientPartial:
            partial = ClientPartial(
                signal_id,
                backtest=backtest,
                emit_profit=lambda event: events.deliver("partial_profit", event),
                emit_loss=lambda event: events.deliver("partial_loss", event),
                wanted=events.delivers,
                listened=events.listened,
                record=partial_storage.add_level,
            )
            if not backtest:
                partial.load, partial.save = partial_store(signal_id)
            return partial

        partial = self.get(self.key(signal_id, backtest, run_id), create)
        await partial.wait_for_init()
        return partial

    async def release(self, signal_id: str, backtest: bool, run_id: int | None = None) -> None:
        """Drop the partial client of a closed signal; live also forgets its persisted levels."""
        self.clear(self.key(signal_id, backtest, run_id))
        if not backtest:
            await remove_partial_record(signal_id)


def emit_event(name: str, payload: Any) -> None:
    """Emit ``payload`` on the hub's stream ``name``."""
    events.deliver(name, payload)


def publish(result: Result) -> None:
    """Emit a result on its mode's stream, then on ``signal``."""
    events.deliver("signal_backtest" if result.backtest else "signal_live", result)
    events.deliver("signal", result)


class StrategyWiring(TypedDict):
    """What a strategy client is made with besides its pair: its exchange and frame, mode, config and signal call.

    ``clock_ms`` is the clock its exchange reads (default: the system clock).
    """

    exchange_name: str
    frame_name: str
    backtest: bool
    config: Config
    get_signal: Callable[[str, int], Awaitable[Any]]
    clock_ms: NotRequired[Callable[[], int]]


class StrategyConnectionService(ConnectionService[ClientStrategy]):
    """``ClientStrategy`` per ``symbol:strategy_name:backtest|live``."""

    def __init__(
        self,
        exchanges: ExchangeConnectionService,
        risks: RiskConnectionService,
        partials: PartialConnectionService,
    ) -> None:
        super().__init__()
        self._exchanges = exchanges
        self._risks = risks
        self._partials = partials

    @staticmethod
    def key(symbol: str, strategy_name: str, backtest: bool) -> str:
        """Return the memo key of a strategy client."""
        return f"{symbol}:{strategy_name}:{mode(backtest)}"

    def create(
        self,
        symbol: str,
        strategy_name: str,
        *,
        publish: Callable[[Result], None] = publish,
        emit: Callable[[str, Any], None] = emit_event,
        run_id: int | None = None,
        **wiring: Unpack[StrategyWiring],
    ) -> ClientStrategy:
        """Create a strategy client with its exchange, risk and partial dependencies, without memoizing it.

        Live clients are ``LiveClientStrategy`` with the pair's persisted records; their exchange reads the run's
        clock (``clock_ms``). A backtest run creates its own client, so runs of one pair never share one: it
        passes its own ``publish`` and ``emit`` to record what the run produced and the commands it carried out
        (the events still reach the hub through them), and its ``run_id``, under which the client
        counts its risk position, keeps its partial levels and reports its errors.
        """
        schema = registry.strategies.get(strategy_name, "StrategyConnectionService")
        exchange_name, backtest = wiring["exchange_name"], wiring["backtest"]
        dependencies: dict[str, Any] = {
            "symbol": symbol,
            "exchange_name": exchange_name,
            "frame_name": wiring["frame_name"],
            "backtest": backtest,
            "config": wiring["config"],
            "exchange": self._exchanges.client(exchange_name, backtest, wiring.get("clock_ms", now_ms)),
            "risk": self._risks.composite(schema.risk_name, schema.risk_list, backtest),
            "get_signal": wiring["get_signal"],
            "get_partial": lambda signal_id: self._partials.client(signal_id, backtest, run_id),
            "release_partial": lambda signal_id: self._partials.release(signal_id, backtest, run_id),
            "publish": publish,
            "report_error": _callback_error_sink(
                symbol=symbol, strategy_name=strategy_name, backtest=backtest, run_id=run_id
            ),
            "emit_event": emit,
            "event_listened": ListenerCheck(events) if backtest else events.has_listeners,
        }
        if not backtest:
            return LiveClientStrategy(schema, records=LiveRecords(symbol, strategy_name), **dependencies)
        strategy = ClientStrategy(schema, **dependencies)
        strategy.risk_key = position_key(strategy_name, symbol, run_id)
        # Unless a listener wants the events, the partial report takes the levels without them. Asked of the run's
        # `ListenerCheck`, as every stream of a backtest's hot path is: Qt is asked again at most every 20 ms.
        listened = strategy.event_listened
        strategy.partials_observed = lambda: listened("partial_profit") or listened("partial_loss")
        strategy.record_levels = partial_storage.add_open_phase
        return strategy

    def client(self, symbol: str, strategy_name: str, **wiring: Unpack[StrategyWiring]) -> ClientStrategy:
        """Return the memoized strategy client of the pair and mode, creating it (:meth:`create`) on first request."""
        return self.get(
            self.key(symbol, strategy_name, wiring["backtest"]), lambda: self.create(symbol, strategy_name, **wiring)
        )


exchange_connections = ExchangeConnectionService()
frame_connections = FrameConnectionService()
sizing_connections = SizingConnectionService()
risk_connections = RiskConnectionService()
partial_connections = PartialConnectionService()
strategy_connections = StrategyConnectionService(exchange_connections, risk_connections, partial_connections)


def clear_connections() -> None:
    """Drop every memoized client."""
    for service in (
        strategy_connections,
        partial_connections,
        risk_connections,
        frame_connections,
        sizing_connections,
    ):
        service.clear()
    exchange_connections.clear()
