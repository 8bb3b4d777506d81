"""The words the live view shares: which run (symbol and strategy), how it trades, how far along it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import workstation as ws

#: A live run is one strategy on one symbol (the engine's ``symbol:strategy_name`` instance).
RunKey = tuple[str, str]

#: ``paper``: over recorded candles on a replay clock; ``live``: on the system clock.
TradingMode = Literal["paper", "live"]

#: ``running`` until Stop is pressed, ``stopping`` until the engine reports the run ended, then ``stopped``;
#: ``failed`` when the run's task died of an error.
RunStatus = Literal["running", "stopping", "stopped", "failed"]

#: What the trader did to a run, as the blotter lists it.
RunCommand = Literal["started", "resumed", "start refused", "stop requested", "command refused"]


@dataclass(frozen=True, slots=True)
class RunCommanded:
    """A view-side fact: the trader started, resumed or asked to stop a run, or a start or a command was refused.

    ``timestamp`` (epoch ms) is in the run's clock, which for paper trading is the replayed time; None dates the
    fact at the run's latest tick.
    """

    symbol: str
    strategy_name: str
    command: RunCommand
    timestamp: int | None
    note: str = ""


class PartialLevelEvent(Protocol):
    """What the live view reads of a ``partial_profit`` / ``partial_loss`` payload (the engine's ``PartialEvent``)."""

    @property
    def symbol(self) -> str: ...
    @property
    def strategy_name(self) -> str: ...
    @property
    def signal(self) -> ws.SignalRow: ...
    @property
    def current_price(self) -> float: ...
    @property
    def level(self) -> int: ...
    @property
    def backtest(self) -> bool: ...
    @property
    def timestamp(self) -> int: ...


#: How a stored live signal was left: a position still open, or a limit order still waiting for its fill.
StoredSignalKind = Literal["open_position", "limit_order"]


class StoredLiveSignal(Protocol):
    """What the live view reads of a record ``ws.Live.persisted()`` returns (the engine's ``PersistedLiveSignal``)."""

    @property
    def kind(self) -> StoredSignalKind: ...
    @property
    def signal(self) -> ws.SignalRow: ...


#: The branch of a level: ``profit`` (of the way to TP) or ``loss`` (of the way to SL).
LevelBranch = Literal["profit", "loss"]


@dataclass(frozen=True, slots=True)
class LevelReached:
    """A live signal reached a partial level; the feed tags the engine's payload with the stream it came on."""

    branch: LevelBranch
    event: PartialLevelEvent

    @property
    def symbol(self) -> str:
        """Return the symbol of the signal."""
        return self.event.symbol

    @property
    def strategy_name(self) -> str:
        """Return the strategy of the signal."""
        return self.event.strategy_name


def key_of(event: object) -> RunKey:
    """Return the run an engine event or a :class:`RunCommanded` belongs to."""
    return (str(getattr(event, "symbol", "")), str(getattr(event, "strategy_name", "")))
